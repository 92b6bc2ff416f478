"""setup/ubuntu.sh end to end: a real environment from the real lock, verified by the real
`python -m verify`; a second run is a quick no-op; an interrupted install is repaired; a
changed lock is synced in place; --dry-run changes nothing; bad input (judged by the
installer, which ubuntu.sh passes every option to) gets one line and a non-zero exit."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from setup_helpers import CPU_LOCK, REPO, UBUNTU_SH, Ran, clean_env, run_cmd

from envs.contract.errors import ExitCode
from envs.contract.fileio import file_sha256
from envs.contract.layout import Layout
from envs.contract.record import read as read_record
from setup.installer.target import Target
from tests.graphviz_probe import ready_but_for_graphviz

FLAGS = ["--variant", "--python", "--prefix", "--conda", "--dry-run", "--yes", "--help"]


def ubuntu(tmp: Path, *args: str, **env: str) -> Ran:
    return run_cmd([shutil.which("bash") or "/bin/bash", str(UBUNTU_SH), *args],
                   clean_env(tmp, **env))


def ubuntu_plan(tmp: Path, *args: str, **env: str) -> dict[str, Any]:
    """The installer's plan, asked for through ubuntu.sh (which passes --plan-json on)."""
    ran = ubuntu(tmp, "--plan-json", *args, **env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return json.loads(ran.stdout[ran.stdout.index("\n{") + 1:])


def test_shellcheck_clean():
    shellcheck = shutil.which("shellcheck")
    if not shellcheck:
        pytest.skip("shellcheck not installed (apt-get install shellcheck)")
    out = subprocess.run([shellcheck, "--severity=style", str(UBUNTU_SH)], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout


def test_help_lists_every_flag(tmp_path):
    ran = ubuntu(tmp_path, "--help")
    assert ran.returncode == 0
    for flag in FLAGS:
        assert flag in ran.stdout
    assert "KERASUP_MIN_FREE_GB" in ran.stdout and "Exit status" in ran.stdout


def test_script_layout_follows_the_installer_style():
    text = UBUNTU_SH.read_text()
    assert "set -euo pipefail" in text and text.rstrip().endswith('main "$@"')
    for helper in ("say()", "err()", "need_cmd()", "ensure()", "usage()"):
        assert helper in text
    assert "curl" not in text and "wget" not in text  # uv comes from PyPI, never curl | sh


@pytest.mark.parametrize(("args", "words"), [
    (["--variant", "tpu"], "unknown variant 'tpu'"),
    (["--python", "3.10"], "unsupported Python '3.10'"),
    (["--python", "2.7"], "unsupported Python '2.7'"),
    (["--frobnicate"], "--frobnicate"),
    (["--prefix"], "--prefix"),
    (["--prefix", ""], "--prefix is empty"),
])
def test_bad_input_one_line_error(tmp_path, args, words):
    ran = ubuntu(tmp_path, *args)
    assert ran.returncode == ExitCode.USAGE
    assert len(ran.error_lines) == 1, ran.stderr
    assert ran.error_lines[0].startswith("kerasup: error: ") and words in ran.stderr
    assert not (tmp_path / "keras-home").exists()


def test_options_reach_the_installer_unchanged(tmp_path):
    """ubuntu.sh judges nothing: a value that looks like an option is still a value."""
    p = ubuntu_plan(tmp_path, "--prefix", str(tmp_path / "--dry-run"), "--variant", "cpu")
    assert p["prefix"] == str(tmp_path / "--dry-run") and p["variant"] == "cpu"


def test_prefix_that_is_a_file(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not an environment")
    ran = ubuntu(tmp_path, "--prefix", str(afile))
    assert ran.returncode == ExitCode.USAGE and len(ran.error_lines) == 1
    assert "is not a directory" in ran.stderr
    assert afile.read_text() == "not an environment"


def test_prefix_that_is_someone_elses_directory(tmp_path):
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_text("meow")
    ran = ubuntu(tmp_path, "--prefix", str(other), "--yes")
    assert ran.returncode == ExitCode.USAGE and len(ran.error_lines) == 1
    assert "not an environment" in ran.stderr
    assert [p.name for p in other.iterdir()] == ["cat.jpg"]


def test_too_little_disk(tmp_path):
    ran = ubuntu(tmp_path, "--prefix", str(tmp_path / "env"), KERASUP_MIN_FREE_GB="1e9")
    assert ran.returncode == ExitCode.CANNOT_PROCEED and len(ran.error_lines) == 1
    assert "too little disk" in ran.stderr and "KERASUP_MIN_FREE_GB" in ran.stderr
    assert not (tmp_path / "env").exists()
    assert "found:" in ran.stdout  # it said what it found first


def test_dry_run_changes_nothing(tmp_path):
    tools = tmp_path / "tools"
    before = sorted(p.name for p in tmp_path.iterdir())
    ran = ubuntu(tmp_path, "--dry-run", "--prefix", str(tmp_path / "env"),
                 KERASUP_BOOTSTRAP_TOOLS=str(tools))
    assert ran.returncode == 0, ran.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    p = ubuntu_plan(tmp_path, "--prefix", str(tmp_path / "env"),
                    KERASUP_BOOTSTRAP_TOOLS=str(tools))
    assert [a["kind"] for a in p["actions"]] == [
        "ensure-uv", "create-env", "sync", "write-site-hook", "write-record", "keras-json",
        "register-kernel", "verify"]
    # the dry run printed every one of those actions
    for action in p["actions"]:
        assert f"would {action['description']}" in ran.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.fixture
def no_dot_path():
    """A PATH with the commands ubuntu.sh uses but no graphviz `dot`, readable by anyone."""
    base = Path(tempfile.mkdtemp(prefix="kerasup-nodot-", dir="/tmp"))
    base.chmod(0o777)
    bindir = base / "bin"
    bindir.mkdir()
    bindir.chmod(0o755)
    for name in ("bash", "uname", "grep", "id", "dirname", "env", "cat", "apt-get", "sudo"):
        found = shutil.which(name)
        if found:
            (bindir / name).symlink_to(found)
    yield base, str(bindir)
    shutil.rmtree(base, ignore_errors=True)


def _readable_by_anyone(path: Path) -> bool:
    """True when every directory above `path` lets others in and `path` lets them read."""
    if not path.stat().st_mode & 0o004:
        return False
    return all(parent.stat().st_mode & 0o001 for parent in path.parents)


SYSTEM_PYTHON = next((p for p in ("/usr/bin/python3", "/usr/bin/python3.11", "/usr/bin/python3.12")
                      if Path(p).exists()), None)


@pytest.mark.skipif(SYSTEM_PYTHON is None, reason="needs a system Python in /usr/bin")
def test_missing_graphviz_is_installed_with_apt_as_root(no_dot_path):
    base, path = no_dot_path
    if os.geteuid() != 0:
        pytest.skip("runs as root")
    ran = ubuntu(base, "--dry-run", "--prefix", str(base / "env"), PATH=path,
                 KERASUP_PYTHON=SYSTEM_PYTHON, HOME=str(base),
                 KERASUP_BOOTSTRAP_TOOLS=str(base / "t"))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "system packages missing: graphviz" in ran.stdout
    assert re.search(r"would run: sh -c 'apt-get update -qq && .*apt-get install .* graphviz'$",
                     ran.stdout, re.MULTILINE), ran.stdout
    assert "sudo" not in ran.stdout
    assert not (base / "env").exists()


@pytest.mark.skipif(SYSTEM_PYTHON is None or not shutil.which("setpriv"),
                    reason="needs a system Python in /usr/bin and setpriv")
def test_missing_graphviz_as_a_user_asks_before_sudo(no_dot_path):
    """Not root: the exact sudo command is printed; without a terminal or --yes nothing runs."""
    base, path = no_dot_path
    if os.geteuid() != 0:
        pytest.skip("needs root to become another user")
    if not _readable_by_anyone(UBUNTU_SH) or not _readable_by_anyone(REPO / "envs" / "cpu"):
        pytest.skip("the repository is not readable by other users here")
    nobody = [shutil.which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups", "bash",
              str(UBUNTU_SH), "--prefix", str(base / "env")]
    env = clean_env(base, PATH=path, KERASUP_PYTHON=SYSTEM_PYTHON, HOME=str(base),
                    KERASUP_BOOTSTRAP_TOOLS=str(base / "t"))
    dry = run_cmd([*nobody, "--dry-run"], env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert re.search(r"would run: sudo sh -c 'apt-get update -qq && .*apt-get install .*graphviz'",
                     dry.stdout), dry.stdout
    ran = run_cmd(nobody, env)
    assert ran.returncode == 3 and len(ran.error_lines) == 1, ran.stdout + ran.stderr
    assert "sh -c 'apt-get update -qq && " in ran.stderr and "graphviz" in ran.stderr
    assert "--yes" in ran.stderr or "as root" in ran.stderr
    assert not (base / "env").exists()


@pytest.mark.network
def test_no_network_and_no_cached_packages(tmp_path, setup_tools):
    empty_cache = tmp_path / "uv-cache"
    ran = ubuntu(tmp_path, "--prefix", str(tmp_path / "env"), KERASUP_OFFLINE="1",
                 UV_CACHE_DIR=str(empty_cache))
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert len(ran.error_lines) == 1, ran.stderr
    assert "offline, and the packages are not in" in ran.stderr
    assert not Layout(tmp_path / "env").install_record.exists()


@pytest.mark.network
def test_unreachable_network_is_reported_plainly(tmp_path, setup_tools):
    """A proxy that refuses connections is named as such, not as "no network"."""
    dead = "http://127.0.0.1:9"
    ran = ubuntu(tmp_path, "--prefix", str(tmp_path / "env"), HTTPS_PROXY=dead, HTTP_PROXY=dead,
                 UV_CACHE_DIR=str(tmp_path / "uv-cache"), UV_HTTP_RETRIES="0")
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert len(ran.error_lines) == 1, ran.stderr
    assert "the proxy 127.0.0.1:9 refused the connection" in ran.stderr, ran.stderr
    assert "HTTPS_PROXY=http://127.0.0.1:9" in ran.stdout


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def installed(tmp_path_factory, setup_tools):
    """setup/ubuntu.sh run for real into a fresh prefix (uv's cache keeps it fast warm)."""
    tmp = tmp_path_factory.mktemp("ubuntu-e2e")
    prefix = tmp / "env"
    first = ubuntu(tmp, "--prefix", str(prefix), "--yes")
    print(f"first run of ubuntu.sh: {first.seconds:.1f}s, exit {first.returncode}")
    return tmp, prefix, first


def _lock_pins(name: str) -> set[str]:
    """Every version the lock pins for `name` (one per environment marker)."""
    pins = set(re.findall(rf"^{re.escape(name)}==([^\s;]+)", CPU_LOCK.read_text(), re.MULTILINE))
    assert pins, name
    return pins


def _in_env(prefix: Path, *args: str, cwd: Path = Path("/")) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(prefix / "bin" / "python"), *args], capture_output=True,
                          text=True, cwd=cwd, check=False,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


@pytest.mark.slow
def test_first_run_builds_a_verified_environment_from_the_lock(installed):
    tmp, prefix, first = installed
    # verify fails only model_graph where this Graphviz crashes on nested models (2.42/2.43)
    assert first.returncode == 0, \
        first.stdout[-4000:] + first.stderr
    record, error = read_record(prefix)
    assert record is not None and error is None, first.stdout + first.stderr
    assert (record.variant, record.method, record.platform) == ("cpu", "uv",
                                                                Target.current().platform)
    assert record.lock == str(CPU_LOCK) and record.toolkit_root == str(REPO)
    assert record.lock_sha256 == file_sha256(CPU_LOCK)
    out = _in_env(prefix, "-c", "import importlib.metadata as m, sys; print(m.version('keras'), "
                  "m.version('numpy'), '%d.%d' % sys.version_info[:2])").stdout.split()
    assert out[0] in _lock_pins("keras") and out[1] in _lock_pins("numpy")
    assert out[2] == record.python
    keras_json = json.loads((tmp / "keras-home" / "keras.json").read_text())
    assert keras_json["backend"] == "tensorflow"
    report = json.loads(Layout(prefix).verify_report.read_text())
    assert ready_but_for_graphviz(report) and Layout(prefix).verify_junit.is_file()
    # The environment is a Jupyter kernel, and verify found it starting this environment.
    kernels = [p.name for p in (tmp / "jupyter" / "kernels").iterdir()]
    assert len(kernels) == 1 and kernels[0].startswith("kerasup-cpu-")
    jupyter = next(c for c in report["checks"] if c["name"] == "jupyter_kernel")
    assert jupyter["status"] == "pass" and jupyter["details"]["expected_name"] == kernels[0]
    # One summary line for the install; the package list went to the log, not the screen.
    assert first.stdout.count("kerasup: installed ") == 1
    assert " + tensorflow-cpu==" in Layout(prefix).install_log.read_text()


@pytest.mark.slow
def test_only_the_runtime_packages_are_importable(installed):
    """The site hook: verify and envs from any directory; setup, tests... from none."""
    _, prefix, _ = installed
    for name in ("tests", "setup", "examples", "benchmarks", "noxfile"):
        done = _in_env(prefix, "-c", f"import {name}")
        assert done.returncode != 0 and "ModuleNotFoundError" in done.stderr, name
    done = _in_env(prefix, "-c", "import verify, envs.contract; print(verify.__file__)")
    assert done.returncode == 0 and done.stdout.strip() == str(REPO / "verify" / "__init__.py")
    listed = _in_env(prefix, "-m", "verify", "--list")
    assert listed.returncode == 0 and "packages" in listed.stdout, listed.stderr


@pytest.mark.slow
def test_second_run_is_a_quick_noop(installed):
    tmp, prefix, first = installed
    record = Layout(prefix).install_record.read_text()
    python = prefix / "bin" / "python"
    stamp = python.lstat().st_mtime_ns
    p = ubuntu_plan(tmp, "--prefix", str(prefix))
    assert p["up_to_date"] and [a["kind"] for a in p["actions"]] == ["verify"]
    assert p["python"]["version"] == json.loads(record)["python"]  # the recorded Python kept
    second = ubuntu(tmp, "--prefix", str(prefix))
    print(f"second run of ubuntu.sh: {second.seconds:.1f}s (first {first.seconds:.1f}s)")
    assert second.returncode == first.returncode, second.stdout[-3000:] + second.stderr
    assert Layout(prefix).install_record.read_text() == record
    assert python.lstat().st_mtime_ns == stamp
    assert Layout(prefix).verify_report.stat().st_mtime_ns > stamp  # it still verified


@pytest.mark.slow
def test_changed_lock_is_synced_in_place(installed):
    """A record for another lock (the lock was regenerated since): sync, keep the venv, and
    say which installed packages the sync removes."""
    tmp, prefix, _ = installed
    path = Layout(prefix).install_record
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "lock_sha256": "0" * 64}))
    subprocess.run([str(Path(str(setup_tools_uv(tmp)))), "pip", "install", "--quiet",
                    "--python", str(prefix / "bin" / "python"), "tomli"], check=True,
                   env=clean_env(tmp))
    stamp = (prefix / "pyvenv.cfg").stat().st_mtime_ns
    p = ubuntu_plan(tmp, "--prefix", str(prefix))
    kinds = [a["kind"] for a in p["actions"]]
    assert not p["up_to_date"] and "create-env" not in kinds and "clear-env" not in kinds
    assert kinds[:3] == ["remove-record", "report-removals", "sync"]
    again = ubuntu(tmp, "--prefix", str(prefix), "--no-verify")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr
    assert "the sync removes 1 packages that are not in the lock: tomli" in again.stdout
    assert json.loads(path.read_text())["lock_sha256"] == file_sha256(CPU_LOCK)
    assert (prefix / "pyvenv.cfg").stat().st_mtime_ns == stamp
    assert _in_env(prefix, "-c", "import tomli").returncode != 0


@pytest.mark.slow
def test_a_lost_file_found_alongside_verify_is_reinstalled(installed):
    """An up-to-date run lets verify's packages check find lost files (setup.installer
    .filescan.from_report); a file lost since install is put back, and verify runs again."""
    tmp, prefix, _ = installed
    module = next(prefix.glob("lib/python3.*/site-packages/six.py"))
    module.unlink()
    p = ubuntu_plan(tmp, "--prefix", str(prefix))  # a preview scans before deciding
    assert not p["up_to_date"] and p["damaged"] == ["six"]
    again = ubuntu(tmp, "--prefix", str(prefix))
    assert again.returncode == 0, \
        again.stdout[-3000:] + again.stderr
    assert "six lost installed files since install: reinstalling them, then verifying again" \
        in again.stdout
    assert again.stdout.count("verify exited ") == 2  # before the repair, and after
    assert module.is_file()
    assert ready_but_for_graphviz(json.loads(Layout(prefix).verify_report.read_text()))
    assert ubuntu_plan(tmp, "--prefix", str(prefix))["up_to_date"]


def setup_tools_uv(tmp: Path) -> Path:
    return Path(clean_env(tmp)["KERASUP_BOOTSTRAP_TOOLS"]) / "bin" / "uv"


@pytest.mark.slow
def test_interrupted_install_is_repaired(tmp_path, setup_tools):
    """Ctrl-C while packages are being installed; running the same command again finishes."""
    prefix = tmp_path / "env"
    cmd = [shutil.which("bash") or "/bin/bash", str(UBUNTU_SH), "--prefix", str(prefix)]
    # One installer thread copying (not linking) files from the cache: installing the lock
    # then takes seconds, so the interrupt lands inside it rather than racing it.
    env = clean_env(tmp_path, UV_CONCURRENT_INSTALLS="1", UV_LINK_MODE="copy")
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "uv pip sync" in line:
            # Interrupt once the first package has landed: the install is then half-done.
            deadline = time.monotonic() + 120
            while not any(prefix.glob("lib/python3.*/site-packages/*.dist-info")):
                assert time.monotonic() < deadline, "uv installed nothing within 120 s"
                time.sleep(0.01)
            os.killpg(proc.pid, signal.SIGINT)
            break
    rest, err = proc.communicate(timeout=120)
    out = "".join(seen) + rest
    assert proc.returncode == ExitCode.INTERRUPTED, out + err
    assert [line for line in err.splitlines() if line.strip()][-1].startswith(
        "kerasup: interrupted (SIGINT)")
    assert "write the install record" not in out, "uv finished before the interrupt"
    assert not Layout(prefix).install_record.exists()  # the record is written after the sync
    assert Layout(prefix).marker.is_file()  # but the prefix is known to be kerasup's
    assert not any(p.name == "uv" for p in _children_of_nobody())

    p = ubuntu_plan(tmp_path, "--prefix", str(prefix))
    assert p["prefix_owner"] == "kerasup" and not p["existing_record"]
    assert [a["kind"] for a in p["actions"]][:3] == ["clear-env", "create-env", "sync"]
    again = ubuntu(tmp_path, "--prefix", str(prefix), "--no-verify")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr
    assert read_record(prefix)[0] is not None
    # Complete: verify's packages check (a kerasup environment, so verify imports) finds every
    # locked distribution at its version with all its files as RECORD lists them, without
    # importing TensorFlow (a first import compiles it: seconds of CPU that the installed
    # fixture's verify, on the same sync path, spends already).
    check = _in_env(prefix, "-m", "verify", "--only", "packages", "--no-color")
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr
    assert "PASS  packages" in check.stdout, check.stdout


def _children_of_nobody() -> list[Path]:
    """Running uv processes whose parent is gone (re-parented to init): none may exist."""
    orphans = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().split()
        except OSError:
            continue
        if fields[1] == "(uv)" and fields[3] == "1":
            orphans.append(Path(fields[1].strip("()")))
    return orphans
