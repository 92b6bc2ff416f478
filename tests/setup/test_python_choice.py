"""The default needs only the package index: an installed Python 3.11-3.13 is used (3.12
preferred, the plan says which and why); only with none installed does uv download one,
and a failed download is one line naming the host and the three ways out."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from setup_helpers import BOOTSTRAP, clean_env, plan, run_cmd

from envs.contract.errors import ExitCode

SYSTEM_311 = Path("/usr/bin/python3.11")
PYENV = Path.home() / ".pyenv" / "versions"


def _bare(tmp: Path, **extra: str) -> dict[str, str]:
    """A new account's view: /usr/bin only, no pyenv, no uv-managed Pythons."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp / "home"),
            "PYENV_ROOT": str(tmp / "no-pyenv"), **extra}


@pytest.mark.skipif(not SYSTEM_311.exists() or Path("/usr/bin/python3.12").exists(),
                    reason="needs the OS's Python 3.11 and no /usr/bin/python3.12 (Debian 12)")
def test_the_os_python_is_used_without_a_download(tmp_path):
    p = plan(tmp_path, "--prefix", str(tmp_path / "e"), UV_PYTHON_DOWNLOADS="automatic",
             **_bare(tmp_path))
    assert p["python"]["source"] == "found" and p["python"]["version"] == "3.11"
    assert p["python"]["executable"] == str(SYSTEM_311)
    assert "no download needed" in p["python"]["note"]
    assert not [a for a in p["actions"] if a["kind"] == "install-python"]
    # --python PATH is the interpreter itself.
    p = plan(tmp_path, "--python", str(SYSTEM_311), "--prefix", str(tmp_path / "e"),
             **_bare(tmp_path))
    assert p["python"]["executable"] == str(SYSTEM_311)


def test_3_12_is_preferred_when_several_are_installed(tmp_path):
    have = {v for v in ("3.11", "3.12", "3.13") if list(PYENV.glob(f"{v}*/bin/python{v}"))}
    if not {"3.12"} < have:
        pytest.skip("needs pyenv's 3.12 and another supported Python")
    p = plan(tmp_path, "--prefix", str(tmp_path / "e"), PYENV_ROOT=str(PYENV.parent))
    assert p["python"]["version"] == "3.12" and p["python"]["source"] == "found"
    assert "preferred over" in p["python"]["note"]


def _hide_os_python() -> bool:
    return (os.geteuid() == 0 and SYSTEM_311.exists() and shutil.which("unshare") is not None
            and subprocess.run(["unshare", "-m", "true"], capture_output=True,
                               check=False).returncode == 0)


@pytest.mark.slow
@pytest.mark.skipif(not _hide_os_python(), reason="needs root, unshare -m and /usr/bin/python3.11")
def test_only_without_any_supported_python_is_one_downloaded(tmp_path, setup_tools):
    """/usr/bin/python3.11 hidden in a private mount namespace, setup run by Python 3.10
    (unsupported for the environment): the plan downloads; a download host that refuses
    gives one line with the host, the cause and the three ways out."""
    runner = next(iter(sorted(PYENV.glob("3.10*/bin/python3.10"))), None)
    if runner is None:
        pytest.skip("needs pyenv's Python 3.10 to run setup with")
    hide = ["unshare", "-m", "sh", "-c",
            'mount --bind /bin/false /usr/bin/python3.11 && exec "$@"', "sh", str(runner),
            str(BOOTSTRAP), "--prefix", str(tmp_path / "e"), "--no-verify", "--no-kernel"]
    env = {**clean_env(tmp_path), **_bare(tmp_path), "UV_PYTHON_DOWNLOADS": "automatic"}
    env.pop("UV_PYTHON_INSTALL_DIR", None)
    planned = run_cmd([*hide, "--dry-run"], env)
    assert planned.returncode == 0, planned.stderr
    assert "uv downloads one from github.com" in planned.stdout
    closed = _closed_port()
    env["UV_PYTHON_INSTALL_MIRROR"] = f"https://127.0.0.1:{closed}/pbs"
    ran = run_cmd(hide, env, timeout=300)
    assert ran.returncode == ExitCode.CANNOT_PROCEED, ran.stdout + ran.stderr
    assert len(ran.error_lines) == 1
    line = ran.error_lines[0]
    for part in (f"from 127.0.0.1:{closed} failed: 127.0.0.1:{closed} refused the connection",
                 "sudo apt-get install python3.11 python3.11-venv", "--python PATH",
                 "UV_PYTHON_INSTALL_MIRROR", "install.log"):
        assert part in line, line
    assert not (tmp_path / "e" / "bin").exists()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_python_path_and_python_exe_together_are_refused(tmp_path):
    ran = run_cmd([sys.executable, str(BOOTSTRAP), "--dry-run", "--python", sys.executable,
                   "--python-exe", sys.executable], clean_env(tmp_path))
    assert ran.returncode == ExitCode.USAGE and len(ran.error_lines) == 1
