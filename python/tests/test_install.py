"""cmake --install puts the package where Debian's python3 imports it, and it finds the installed presets."""

import os
import shutil
import subprocess
import sys

import pytest


def test_installed_module_imports(tmp_path):
    build = os.environ.get("WAFER_BUILD_DIR")
    if not build:
        pytest.fail("WAFER_BUILD_DIR is not set: run these tests through ctest (python_api)")
    prefix = tmp_path / "prefix"
    subprocess.run(["cmake", "--install", build, "--prefix", prefix], check=True, capture_output=True)
    site = prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "dist-packages"
    assert list((site / "wafer").glob("_wafer*.so")), "no extension installed"
    hw = prefix / "share" / "wafer" / "hw"
    shutil.copy(hw / "tpu-v1.yaml", hw / "installed-only.yaml")
    llm = prefix / "share" / "wafer" / "models" / "llm"
    assert (llm / "llama-3.1-8b.json").is_file(), "cmake --install put no LLM configs in share/wafer/models/llm"
    shutil.copy(llm / "llama-3.1-8b.json", llm / "installed-only-llm.json")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "WAFER_HW_PATH", "WAFER_MODEL_PATH")}
    env["PYTHONPATH"] = str(site)
    code = ("import wafer, sys; print(wafer.__file__); print(wafer.hardware('installed-only')['name']); "
            "print(wafer.presets()); "
            "print(wafer.simulate_llm('installed-only-llm', hw='h100', prompt_len=8, gen_len=2, layers=1)['model'])")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(str(site))  # the installed copy, not the build tree's
    assert lines[1] == "tpu-v1"
    assert "installed-only" in lines[2]
    assert lines[3] == "installed-only-llm"  # a shipped config found by name beside the installed package
