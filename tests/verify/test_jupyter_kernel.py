"""The jupyter_kernel check against real kernelspecs, and the kernel it asks for started for
real through jupyter_client, running a cell that imports keras."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envs.contract import kernel

pytestmark = pytest.mark.slow


@pytest.fixture
def jupyter_home(verify_home: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """verify's isolated HOME, with Jupyter's per-user data (kernels) inside tmp too."""
    data = tmp_path / "jupyter-data"
    verify_home.update({"JUPYTER_DATA_DIR": str(data), "JUPYTER_PATH": ""})
    return verify_home


def _fix_command(fix: str) -> list[str]:
    return shlex.split(fix.split(": ", 1)[1])


def test_missing_kernel_warns_with_the_command_that_registers_it(
        run_verify, cpu_env, jupyter_home: dict[str, str], tmp_path: Path) -> None:
    run = run_verify("--only", "jupyter_kernel")
    check = run.check("jupyter_kernel")
    name = kernel.kernel_name("cpu", cpu_env.prefix, default=False)
    assert run.rc == 0 and check["status"] == "warn", run.output
    assert check["details"]["expected_name"] == name
    cmd = _fix_command(check["fix"])
    assert cmd[:5] == [str(cpu_env.python), "-m", "ipykernel", "install", "--user"]
    env = {**os.environ, **jupyter_home}
    for _ in range(2):  # a second registration replaces the first
        subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=300)
    kernels = Path(jupyter_home["JUPYTER_DATA_DIR"]) / "kernels"
    assert [p.name for p in kernels.iterdir()] == [name]
    again = run_verify("--only", "jupyter_kernel")
    assert again.check("jupyter_kernel")["status"] == "pass", again.output
    assert again.check("jupyter_kernel")["details"]["argv0"] == str(cpu_env.python)


def test_a_kerasup_kernel_that_starts_another_python_fails(
        run_verify, cpu_env, jupyter_home: dict[str, str]) -> None:
    name = kernel.kernel_name("cpu", cpu_env.prefix, default=False)
    spec = Path(jupyter_home["JUPYTER_DATA_DIR"]) / "kernels" / name
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "stale", "language": "python"}))
    run = run_verify("--only", "jupyter_kernel")
    check = run.check("jupyter_kernel")
    assert run.rc == 1 and check["status"] == "fail"
    assert sys.executable in check["summary"] and "ipykernel install" in check["fix"]


DRIVER = """
import sys
from jupyter_client.manager import start_new_kernel

km, kc = start_new_kernel(kernel_name=sys.argv[1], startup_timeout=180)
out = []
def hook(msg):
    if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
        out.append(msg["content"]["text"])
try:
    reply = kc.execute_interactive(
        "import sys, keras; print(sys.prefix); print(keras.__version__)",
        timeout=600, output_hook=hook)
    print(reply["content"]["status"])
    print("".join(out), end="")
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
"""


def test_the_registered_kernel_starts_and_imports_keras(
        cpu_env, jupyter_home: dict[str, str], tmp_path: Path) -> None:
    """Registered as setup does it, started by jupyter_client from another Python (this
    test's), a cell imports keras inside the environment."""
    pytest.importorskip("jupyter_client")
    name = kernel.kernel_name("cpu", cpu_env.prefix, default=False)
    env = {**os.environ, **jupyter_home, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run(kernel.register_argv(str(cpu_env.python), name, "Python (kerasup test)"),
                   env=env, check=True, capture_output=True, timeout=300)
    proc = subprocess.run([sys.executable, "-c", DRIVER, name], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    status, prefix, version = proc.stdout.split()[:3]
    assert status == "ok"
    assert os.path.realpath(prefix) == os.path.realpath(cpu_env.prefix)
    assert version.startswith("3.")


@pytest.mark.skipif(os.name == "nt", reason="a POSIX shell script stands in for Python")
def test_a_kernel_whose_python_never_starts_is_named_and_ended(
        run_verify, cpu_env, jupyter_home: dict[str, str], tmp_path: Path) -> None:
    """A kernelspec of kerasup's name whose argv[0] never starts (a wedged network mount, a
    stuck antivirus: here a script that starts a child and sleeps): the check fails within
    KERASUP_KERNEL_TIMEOUT naming the program and what to check, and ends both processes."""
    pids = tmp_path / "pids"
    stuck = tmp_path / "stuck-python"
    stuck.write_text(f"#!/bin/sh\nsleep 300 & echo $$ $! > '{pids}'\nwait\n")
    stuck.chmod(0o755)
    name = kernel.kernel_name("cpu", cpu_env.prefix, default=False)
    spec = Path(jupyter_home["JUPYTER_DATA_DIR"]) / "kernels" / name
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(stuck), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "stuck", "language": "python"}))
    run = run_verify("--only", "jupyter_kernel", env={"KERASUP_KERNEL_TIMEOUT": "2"})
    check = run.check("jupyter_kernel")
    assert run.rc == 1 and check["status"] == "fail", run.output
    assert check["summary"] == (f"the Jupyter kernel's Python {stuck} did not start within 2 s "
                                "(it was ended, with everything it started)")
    assert "network mount" in check["fix"] and "KERASUP_KERNEL_TIMEOUT" in check["fix"]
    assert all(map(_ended, map(int, pids.read_text().split())))


def _ended(pid: int) -> bool:
    """Gone within 10 s, or a zombie waiting for a PID 1 that does not reap."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.05)
    return False
