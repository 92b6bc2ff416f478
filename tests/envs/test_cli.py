"""envs/lock/cli.py: `python -m envs.lock` exit codes and one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from envs.contract.errors import ExitCode
from envs.lock.spec import ENVS_DIR

REPO = ENVS_DIR.parent


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "envs.lock", *args], cwd=REPO, text=True,
                          capture_output=True, timeout=300,
                          env={**os.environ, "UV_PYTHON_DOWNLOADS": "never", **(env or {})})


def test_check_passes_on_the_committed_locks():
    out = run_cli("--check")
    assert out.returncode == 0, out.stdout + out.stderr


def test_check_names_the_stale_file(envs_copy):
    path = envs_copy / "cpu" / "environment.yml"
    path.write_text(path.read_text().replace("- rich\n", "- rich>=13\n"))
    out = run_cli("--check", "--variant", "cpu", "--envs-dir", str(envs_copy))
    assert out.returncode == 1
    assert str(envs_copy / "cpu" / "requirements.txt") in out.stdout
    assert "Traceback" not in out.stderr


def test_bad_spec_is_one_line_without_traceback(envs_copy):
    path = envs_copy / "gpu" / "environment.yml"
    path.write_text(path.read_text().replace("  - linux-64\n", "  - linux-64\n  - win-64\n"))
    out = run_cli("--check", "--variant", "gpu", "--envs-dir", str(envs_copy))
    assert out.returncode == ExitCode.USAGE  # a bad environment.yml is bad input
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1
    assert "WSL2" in out.stderr


def test_unreachable_channel_without_snapshot_names_the_flag(envs_copy):
    out = run_cli("--variant", "gpu", "--envs-dir", str(envs_copy),
                  env={"KERASUP_OFFLINE": "1", "KERASUP_CONDA_SNAPSHOT": ""})
    assert out.returncode == ExitCode.CANNOT_PROCEED and "--conda-snapshot DIR" in out.stderr
    assert out.stderr.count("\n") == 1


@pytest.mark.parametrize("args", [["--variant", "tpu"], ["--refresh", "--exclude-newer", "x"],
                                  ["--conda-only", "--refresh"]])
def test_usage_errors_exit_2(args):
    assert run_cli(*args).returncode == 2


def test_help_lists_the_options():
    out = run_cli("--help")
    assert out.returncode == 0
    for flag in ("--variant", "--check", "--conda-snapshot", "--exclude-newer", "--offline-pip"):
        assert flag in out.stdout


def test_outside_the_tooling_says_to_use_nox(tmp_path):
    """A Python without conda-lock (here: this one without its site-packages) gets one line."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-S", "-m", "envs.lock", "--check"], cwd=REPO,
                         text=True, capture_output=True, timeout=60, env=env)
    assert out.returncode == ExitCode.USAGE
    assert "nox -s lock" in out.stderr and out.stderr.count("\n") == 1
    assert "Traceback" not in out.stderr


def test_malformed_offline_flag_is_a_usage_error(envs_copy):
    out = run_cli("--variant", "gpu", "--envs-dir", str(envs_copy),
                  env={"KERASUP_OFFLINE": "maybe", "KERASUP_CONDA_SNAPSHOT": ""})
    assert out.returncode == ExitCode.USAGE and "KERASUP_OFFLINE" in out.stderr
    assert out.stderr.count("\n") == 1
