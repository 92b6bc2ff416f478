"""Helpers for the verify tests: run ``python -m verify`` for real inside the locked env."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the verify package, for the fast tests in the dev venv
    sys.path.insert(0, str(REPO))


@dataclass
class VerifyRun:
    """One ``python -m verify`` run: exit status, output and the parsed JSON report."""

    proc: subprocess.CompletedProcess[str]
    report: dict[str, Any] | None

    @property
    def rc(self) -> int:
        return self.proc.returncode

    @property
    def output(self) -> str:
        return self.proc.stdout + self.proc.stderr

    def check(self, name: str) -> dict[str, Any]:
        assert self.report is not None, self.output
        return next(c for c in self.report["checks"] if c["name"] == name)


def isolated_home(folder: Path) -> dict[str, str]:
    """An isolated HOME and KERAS_HOME in ``folder``, offline: nothing of the real user's is
    read."""
    home, keras_home = folder / "home", folder / "keras-home"
    home.mkdir()
    keras_home.mkdir()
    return {"HOME": str(home), "KERAS_HOME": str(keras_home), "KERASUP_OFFLINE": "1",
            "USERPROFILE": str(home), "JUPYTER_DATA_DIR": str(home / "jupyter")}


@pytest.fixture
def verify_home(tmp_path: Path) -> dict[str, str]:
    """An isolated HOME and KERAS_HOME, offline: nothing of the real user's is read."""
    return isolated_home(tmp_path)


def verify_runner(cpu_env, verify_home: dict[str, str], folder: Path):
    """``run("--only", "keras_json", env={...}, python=...)``: ``python -m verify`` in
    ``folder`` with ``verify_home``, its report read back (for module-scoped runs too)."""
    counter = iter(range(1000))

    def run(*args: str, env: dict[str, str] | None = None, python: Path | None = None,
            drop_env: tuple[str, ...] = ("KERAS_BACKEND",)) -> VerifyRun:
        report = folder / f"report-{next(counter)}.json"
        full_env = {k: v for k, v in os.environ.items() if k not in drop_env}
        # No TF_CPP_MIN_LOG_LEVEL: verify itself must keep TensorFlow's log off the terminal.
        full_env.pop("TF_CPP_MIN_LOG_LEVEL", None)
        full_env.update({**verify_home, **(env or {})})
        exe = str(python or cpu_env.python)
        proc = subprocess.run([exe, "-m", "verify", *args, "--json", str(report)],
                              env=full_env, cwd=folder, text=True, capture_output=True,
                              timeout=600)
        data = json.loads(report.read_text()) if report.is_file() else None
        assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
        return VerifyRun(proc, data)

    return run


@pytest.fixture
def run_verify(cpu_env, verify_home: dict[str, str], tmp_path: Path):
    """Call as ``run_verify("--only", "keras_json", env={...}, python=...)``."""
    return verify_runner(cpu_env, verify_home, tmp_path)


@pytest.fixture(scope="module")
def module_run_verify(cpu_env, tmp_path_factory: pytest.TempPathFactory):
    """``run_verify`` for a module-scoped run that several tests assert on (one isolated home
    and folder per module)."""
    folder = tmp_path_factory.mktemp("verify-module")
    return verify_runner(cpu_env, isolated_home(folder), folder)
