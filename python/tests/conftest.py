"""Shared fixtures: the repository, the CLI built beside the module, and a way to run it.

ctest sets PYTHONPATH (the module in BUILD/python), WAFER_CLI and WAFER_BUILD_DIR; every expectation
below is the CLI's own output for the same arguments, or a figure computed independently.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RESNET20 = REPO / "models" / "resnet20"


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("WAFER_CLI")
    if not path:
        pytest.fail("WAFER_CLI is not set: run these tests through ctest (python_api)")
    return path


class CliResult:
    def __init__(self, proc):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def json(self):
        assert self.returncode == 0, self.stderr
        return json.loads(self.stdout)

    def error(self):
        """The message after 'wafer: error: ', as the CLI printed it."""
        assert self.returncode == 2, (self.returncode, self.stdout, self.stderr)
        line = self.stderr.strip().splitlines()[-1]
        prefix = "wafer: error: "
        assert line.startswith(prefix), line
        return line[len(prefix):]


@pytest.fixture(scope="session")
def run_cli(cli):
    def run(*args, cwd=None):
        proc = subprocess.run([cli, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)
        return CliResult(proc)

    return run
