"""Helpers for the setup tests: running setup for real, and reading its JSON plan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SETUP = REPO / "setup"
UBUNTU_SH = SETUP / "ubuntu.sh"
WINDOWS_PS1 = SETUP / "windows.ps1"
BOOTSTRAP = SETUP / "bootstrap.py"
CPU_LOCK = REPO / "envs" / "cpu" / "requirements.txt"
# The pinned uv lives in a tools venv; tests share one (cached between runs) so that only the
# first run downloads it from PyPI.
SETUP_TOOLS = Path(os.environ.get("KERASUP_TEST_SETUP_TOOLS", REPO / ".cache" / "setup-tools"))

__all__ = ["BOOTSTRAP", "CPU_LOCK", "REPO", "SETUP_TOOLS", "UBUNTU_SH", "WINDOWS_PS1", "Ran",
           "bootstrap", "clean_env", "plan", "run_cmd"]


@dataclass
class Ran:
    """One run of a setup command: status, output and how long it took."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment setup runs under in tests: no downloads of Pythons, keras.json in tmp."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KERASUP_", "VIRTUAL_ENV", "UV_"))}
    env.update({
        "UV_PYTHON_DOWNLOADS": "never",
        "KERAS_HOME": str(tmp / "keras-home"),
        "KERASUP_BOOTSTRAP_TOOLS": str(SETUP_TOOLS),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    })
    if os.environ.get("UV_CACHE_DIR"):
        env["UV_CACHE_DIR"] = os.environ["UV_CACHE_DIR"]
    env.update(extra)
    return env


def run_cmd(cmd: list[str], env: dict[str, str], timeout: float = 1500,
            cwd: Path = REPO) -> Ran:
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, stdin=subprocess.DEVNULL, errors="replace")
    return Ran(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def bootstrap(tmp: Path, *args: str, python: str = sys.executable, **env: str) -> Ran:
    """``python setup/bootstrap.py ARGS`` as a user runs it."""
    return run_cmd([python, str(BOOTSTRAP), *args], clean_env(tmp, **env))


def plan(tmp: Path, *args: str, **env: str) -> dict[str, Any]:
    """The plan setup would carry out (``--plan-json``), parsed."""
    ran = bootstrap(tmp, "--plan-json", *args, **env)
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)
