"""What setup shows while it installs, the log and summary it leaves, the Jupyter kernel it
registers, and the question it asks before downloading a GPU build no driver can use.

Real installs of the CPU lock (uv's cache makes them seconds), in a pipe and on a pty."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from setup_helpers import BOOTSTRAP, REPO, bootstrap, clean_env, plan

from envs.contract import facts, kernel
from envs.contract.errors import CannotProceed, ExitCode
from envs.contract.layout import Layout
from setup.installer.discover import build_plan
from setup.installer.installlog import parse_output
from setup.installer.plan import Options
from setup.installer.workflow import confirm_without_driver
from tests.realfs import pty_chunks

pytestmark = pytest.mark.usefixtures("setup_tools")
NO_GPU_PATH = "/usr/bin:/bin"  # no nvidia-smi on it (the test skips where there is one)


@pytest.fixture
def uv(uv_exe: str) -> dict[str, str]:
    return {"KERASUP_UV": uv_exe}


def _no_driver() -> None:
    if Path("/usr/bin/nvidia-smi").exists() or Path("/usr/lib/wsl/lib/nvidia-smi").exists():
        pytest.skip("an NVIDIA driver is installed here")
    if sys.platform != "linux":
        pytest.skip("the gpu variant is linux-64 only")


def _pty_run(cmd: list[str], env: dict[str, str], answer: bytes | None = None,
             timeout: float = 900) -> tuple[str, int]:
    chunks, code = pty_chunks(cmd, env, cwd=REPO, timeout=timeout, answer=answer)
    return "".join(chunk for _, chunk in chunks), code


def test_uv_output_lines_sort_into_screen_and_log() -> None:
    lines = ["Resolved 126 packages in 2.9s", "Downloading tensorflow-cpu (261.3MiB)",
             "Downloading keras (1.3MiB)", " Downloaded keras", "Installed 2 packages in 4s",
             " + keras==3.11.3", " + tensorflow-cpu==2.20.0"]
    show, added, mb = parse_output(lines)
    assert show == ["Downloading tensorflow-cpu (261.3MiB)", "Downloading keras (1.3MiB)"]
    assert added == ["keras==3.11.3", "tensorflow-cpu==2.20.0"]
    assert mb == pytest.approx(262.6)


def test_plan_states_sizes_and_registers_the_kernel(tmp_path: Path, uv) -> None:
    p = plan(tmp_path, "--prefix", str(tmp_path / "env"), **uv)
    cpu = facts.variant("cpu")
    assert p["sizes"] == {"download_mb": cpu.download_mb, "installed_gb": cpu.installed_gb}
    assert f"{cpu.download_mb:,} MB" in p["reports"]["download"]
    reg = next(a for a in p["actions"] if a["kind"] == "register-kernel")
    name = kernel.kernel_name("cpu", tmp_path / "env", default=False)
    assert reg["command"][1:5] == ["-m", "ipykernel", "install", "--user"]
    assert reg["command"][reg["command"].index("--name") + 1] == name
    assert reg["path"] == str(tmp_path / "jupyter" / "kernels" / name)
    kinds = [a["kind"] for a in p["actions"]]
    assert kinds.index("register-kernel") < kinds.index("verify")
    assert "register-kernel" not in [a["kind"] for a in plan(
        tmp_path, "--prefix", str(tmp_path / "env"), "--no-kernel", **uv)["actions"]]
    system = plan(tmp_path, "--prefix", str(tmp_path / "env"), "--kernel-prefix",
                  str(tmp_path / "sys"), "--kernel-name", "kerasup-fleet", **uv)
    reg = next(a for a in system["actions"] if a["kind"] == "register-kernel")
    assert reg["command"][4:6] == ["--prefix", str(tmp_path / "sys")]
    assert reg["path"] == str(tmp_path / "sys" / "share" / "jupyter" / "kernels" / "kerasup-fleet")
    bad = bootstrap(tmp_path, "--plan-json", "--kernel-name", "a b", **uv)
    assert bad.returncode == ExitCode.USAGE and len(bad.error_lines) == 1


@pytest.mark.slow
def test_piped_install_logs_the_packages_summarises_and_registers_the_kernel(
        tmp_path: Path, uv) -> None:
    prefix = tmp_path / "env"
    ran = bootstrap(tmp_path, "--prefix", str(prefix), "--no-verify", **uv)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    log = Layout(prefix).install_log.read_text()
    assert " + tensorflow-cpu==" in log and " + keras==" in log
    assert not [line for line in ran.stdout.splitlines() if line.lstrip().startswith("+ ")]
    summary = [line for line in ran.stdout.splitlines() if line.startswith("kerasup: installed ")]
    assert len(summary) == 1 and str(Layout(prefix).install_log) in summary[0], ran.stdout
    assert f"installed {log.count(' + ')} packages" in summary[0]
    name = kernel.kernel_name("cpu", prefix, default=False)
    spec = json.loads((tmp_path / "jupyter" / "kernels" / name / "kernel.json").read_text())
    assert spec["argv"][0] == str(prefix / "bin" / "python")
    assert spec["display_name"] == "Python " + spec["display_name"].split()[1] + \
        " (kerasup cpu, env)"
    # A second run is a no-op: nothing installed, the kernel not registered again.
    again = plan(tmp_path, "--prefix", str(prefix), **uv)
    assert again["up_to_date"] and "register-kernel" not in [a["kind"] for a in again["actions"]]
    forced = bootstrap(tmp_path, "--prefix", str(prefix), "--no-verify", "--force", **uv)
    assert forced.returncode == 0, forced.stderr
    assert sorted(p.name for p in (tmp_path / "jupyter" / "kernels").iterdir()) == [name]


@pytest.mark.slow
def test_terminal_install_shows_uvs_own_output_and_logs_the_list(tmp_path: Path, uv) -> None:
    prefix = tmp_path / "env"
    env = {**clean_env(tmp_path, **uv), "TERM": "xterm", "COLUMNS": "100"}
    out, rc = _pty_run([sys.executable, str(BOOTSTRAP), "--prefix", str(prefix), "--no-verify",
                        "--no-kernel"], env)
    assert rc == 0, out
    assert "Installed " in out and " packages in " in out  # uv's own lines, on the terminal
    assert "installed " in out and str(Layout(prefix).install_log) in out
    log = Layout(prefix).install_log.read_text()
    assert "tensorflow-cpu==" in log


def test_gpu_without_a_driver_is_refused_off_a_terminal(tmp_path: Path, uv) -> None:
    _no_driver()
    prefix = tmp_path / "gpu"
    ran = bootstrap(tmp_path, "--variant", "gpu", "--prefix", str(prefix), "--no-verify",
                    PATH=NO_GPU_PATH, **uv)
    assert ran.returncode == ExitCode.CANNOT_PROCEED
    assert len(ran.error_lines) == 1 and "--yes" in ran.error_lines[0]
    assert not prefix.exists()
    assert plan(tmp_path, "--variant", "gpu", "--prefix", str(prefix), PATH=NO_GPU_PATH,
                **uv)["driver_missing"] is True


def test_gpu_without_a_driver_asks_on_a_terminal(tmp_path: Path, uv) -> None:
    _no_driver()
    prefix = tmp_path / "gpu"
    env = clean_env(tmp_path, PATH=NO_GPU_PATH, **uv)
    out, rc = _pty_run([sys.executable, str(BOOTSTRAP), "--variant", "gpu", "--prefix",
                        str(prefix), "--no-verify"], env, answer=b"n\n")
    assert "[y/N]" in out and rc == ExitCode.CANNOT_PROCEED, out
    assert not prefix.exists()


def test_yes_or_a_yes_answer_proceeds(tmp_path: Path, uv) -> None:
    _no_driver()
    env = clean_env(tmp_path, PATH=NO_GPU_PATH, **uv)
    gpu = build_plan(Options(variant="gpu", prefix=tmp_path / "gpu", dry_run=True),
                     environ=env, repo=REPO)
    assert gpu.driver_missing
    confirm_without_driver(gpu, Options(variant="gpu", yes=True))
    confirm_without_driver(gpu, Options(variant="gpu"), ask=lambda _q: "y")
    with pytest.raises(CannotProceed):
        confirm_without_driver(gpu, Options(variant="gpu"), ask=lambda _q: "")
