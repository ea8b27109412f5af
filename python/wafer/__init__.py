"""Wafer from Python: load and inspect ONNX models, run them on any backend with numpy arrays,
simulate them on described NPUs, sweep designs and run the MLPerf-style harness.

Every function takes the options of the CLI subcommand of the same name and returns what that
subcommand prints with --json, as plain dicts and lists (wafer.run returns numpy arrays). Errors
are raised as wafer.WaferError with the CLI's message. See docs/PYTHON.md.
"""

import os as _os
from pathlib import Path as _Path

# Installed as PREFIX/lib/python3.X/dist-packages/wafer: the presets are in PREFIX/share/wafer/hw and the
# LLM configs in PREFIX/share/wafer/models/llm, which the installed CLI finds beside itself. The module's
# process is python3, so say where they are.
_here = _Path(__file__).resolve().parents


def _add_installed(env_var, subdir):
    installed = _here[4] / "share" / "wafer" / subdir if len(_here) > 4 else None
    if installed is not None and installed.is_dir():
        paths = [p for p in _os.environ.get(env_var, "").split(":") if p]
        if str(installed) not in paths:
            _os.environ[env_var] = ":".join(paths + [str(installed)])


_add_installed("WAFER_HW_PATH", "hw")
_add_installed("WAFER_MODEL_PATH", "models/llm")

from ._wafer import (  # noqa: E402  (the search path above must be set first)
    WaferError,
    backends,
    bench,
    compile,
    generate,
    hardware,
    inspect,
    presets,
    run,
    run_timed,
    simulate,
    simulate_llm,
    sweep,
    sweep_system,
)

__all__ = [
    "WaferError",
    "backends",
    "bench",
    "compile",
    "generate",
    "hardware",
    "inspect",
    "presets",
    "run",
    "run_timed",
    "simulate",
    "simulate_llm",
    "sweep",
    "sweep_system",
]
