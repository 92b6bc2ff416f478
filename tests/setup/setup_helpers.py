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
           "bootstrap", "clean_env", "lock_excerpt", "plan", "run_cmd", "toy_plan", "toy_repo",
           "toy_setup"]


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
        # setup registers a Jupyter kernel per user: keep it in tmp, not in the real HOME.
        "JUPYTER_DATA_DIR": str(tmp / "jupyter"),
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


DEFAULT_HEADER = ("# kerasup-pythons: 3.11 3.12 3.13\n"
                  "# kerasup-platforms: linux-64 linux-aarch64 osx-arm64 win-64\n")


def lock_excerpt(names: set[str]) -> str:
    """The entries of the real CPU lock for ``names``, hashes and all (no header)."""
    out, keep = [], False
    for line in CPU_LOCK.read_text(encoding="utf-8").splitlines():
        if line and not line[0].isspace():
            keep = not line.startswith("#") and line.split("==", 1)[0].strip() in names
        if keep and not line.lstrip().startswith("#"):
            out.append(line)
    assert out, names
    return "\n".join(out) + "\n"


def toy_repo(tmp: Path, *, header: str | None = DEFAULT_HEADER, body: str | None = None,
             lock: bool = True) -> Path:
    """A copy of the installer (setup/ and envs/contract) whose CPU lock is ``header`` +
    ``body`` (default: the real lock's ``six`` entry): installs in milliseconds, for real."""
    import shutil

    root = tmp / "repo"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(SETUP, root / "setup", ignore=ignore)
    shutil.copytree(REPO / "envs" / "contract", root / "envs" / "contract", ignore=ignore)
    shutil.copy(REPO / "envs" / "__init__.py", root / "envs" / "__init__.py")
    (root / "envs" / "cpu").mkdir()
    if lock:
        text = (header or "") + (lock_excerpt({"six"}) if body is None else body)
        (root / "envs" / "cpu" / "requirements.txt").write_text(text, encoding="utf-8")
    return root


def toy_setup(root: Path, tmp: Path, *args: str, **env: str) -> Ran:
    """The toy repository's setup/bootstrap.py, without verify (the toy lock has none)."""
    return run_cmd([sys.executable, str(root / "setup" / "bootstrap.py"), "--no-verify",
                    *args], clean_env(tmp, **env))


def toy_plan(root: Path, tmp: Path, *args: str, **env: str) -> dict[str, Any]:
    ran = toy_setup(root, tmp, "--plan-json", *args, **env)
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)
