"""Wafer from Python: load and inspect ONNX models, run them on any backend with numpy arrays,
simulate them on described NPUs, sweep designs and run the MLPerf-style harness.

Every function takes the options of the CLI subcommand of the same name and returns what that
subcommand prints with --json, as plain dicts and lists (wafer.run returns numpy arrays). Errors
are raised as wafer.WaferError with the CLI's message. See docs/PYTHON.md.
"""

import os as _os
from pathlib import Path as _Path

# Installed as PREFIX/lib/python3.X/dist-packages/wafer: the presets are in PREFIX/share/wafer/hw,
# which the installed CLI finds beside itself. The module's process is python3, so say where they are.
_here = _Path(__file__).resolve().parents
_installed_hw = _here[4] / "share" / "wafer" / "hw" if len(_here) > 4 else None
if _installed_hw is not None and _installed_hw.is_dir():
    _paths = [p for p in _os.environ.get("WAFER_HW_PATH", "").split(":") if p]
    if str(_installed_hw) not in _paths:
        _os.environ["WAFER_HW_PATH"] = ":".join(_paths + [str(_installed_hw)])

from ._wafer import (  # noqa: E402  (the search path above must be set first)
    WaferError,
    backends,
    bench,
    generate,
    hardware,
    inspect,
    presets,
    run,
    run_timed,
    simulate,
    simulate_llm,
    sweep,
)

__all__ = [
    "WaferError",
    "backends",
    "bench",
    "generate",
    "hardware",
    "inspect",
    "presets",
    "run",
    "run_timed",
    "simulate",
    "simulate_llm",
    "sweep",
]
