"""What setup never does (replace what it did not make, follow a link, leave a child running,
rebuild a recorded environment because keras.json failed) and how it says no: one line, a
fix, the documented exit code. Real processes and files, on a toy lock (the real lock's
``six`` entry) that installs in milliseconds."""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from setup_helpers import clean_env, lock_excerpt, toy_plan, toy_repo, toy_setup

from envs.contract.errors import ExitCode
from envs.contract.layout import Layout
from envs.contract.record import read as read_record
from tests.realfs import tmpfs

pytestmark = pytest.mark.usefixtures("setup_tools")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return toy_repo(tmp_path)


@pytest.fixture
def uv(uv_exe: str) -> dict[str, str]:
    """Setup's uv (so no test downloads one)."""
    return {"KERASUP_UV": uv_exe}


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def _foreign_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    (path / "notes.txt").write_text("mine")
    return path


def test_foreign_venv_is_refused_even_with_yes(tmp_path, repo, uv):
    theirs = _foreign_venv(tmp_path / "theirs")
    before = _tree(theirs)
    for extra in ([], ["--yes"], ["--yes", "--force"]):
        ran = toy_setup(repo, tmp_path, "--prefix", str(theirs), *extra, **uv)
        assert ran.returncode == ExitCode.USAGE and len(ran.error_lines) == 1, ran.stderr
        assert "everything in that directory" in ran.stderr
        assert "--replace-foreign" in ran.stderr
    assert _tree(theirs) == before


def test_replace_foreign_moves_it_aside_never_deletes(tmp_path, repo, uv):
    theirs = _foreign_venv(tmp_path / "theirs")
    before = _tree(theirs)
    p = toy_plan(repo, tmp_path, "--prefix", str(theirs), "--replace-foreign", **uv)
    assert p["prefix_owner"] == "foreign" and p["actions"][0]["kind"] == "move-aside"
    ran = toy_setup(repo, tmp_path, "--prefix", str(theirs), "--replace-foreign", **uv)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("theirs.old-")]
    assert len(aside) == 1 and _tree(aside[0]) == before
    assert Layout(theirs).marker.is_file() and read_record(theirs)[0] is not None


def test_foreign_conda_env_and_wrong_kind(tmp_path, repo, uv):
    conda = tmp_path / "conda-env"
    (conda / "conda-meta").mkdir(parents=True)
    ran = toy_setup(repo, tmp_path, "--prefix", str(conda), "--dry-run", **uv)
    assert ran.returncode == ExitCode.USAGE and "a conda environment" in ran.stderr
    Layout(conda).marker.parent.mkdir(parents=True)
    Layout(conda).marker.write_text("x")  # ours, but a conda env: not synced as a venv
    ran = toy_setup(repo, tmp_path, "--prefix", str(conda), "--dry-run", **uv)
    assert ran.returncode == ExitCode.USAGE and "--conda" in ran.stderr


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_prefix_that_is_not_an_environment_is_left_alone(tmp_path, repo, uv, kind):
    target = tmp_path / "photos"
    if kind == "file":
        target.write_text("not an environment")
    else:
        target.mkdir()
        (target / "cat.jpg").write_text("meow")
    ran = toy_setup(repo, tmp_path, "--prefix", str(target), "--yes", **uv)
    assert ran.returncode == ExitCode.USAGE and len(ran.error_lines) == 1
    assert (target.read_text() == "not an environment" if kind == "file"
            else _tree(target) == ["cat.jpg"])


def test_foreign_tools_folder_is_never_cleared(tmp_path, repo):
    tools = tmp_path / "my-folder"
    tools.mkdir()
    (tools / "thesis.tex").write_text("years of work")
    ran = toy_setup(repo, tmp_path, "--prefix", str(tmp_path / "env"),
                    KERASUP_BOOTSTRAP_TOOLS=str(tools))
    assert ran.returncode == ExitCode.USAGE and len(ran.error_lines) == 1, ran.stderr
    assert "KERASUP_BOOTSTRAP_TOOLS" in ran.stderr
    assert _tree(tools) == ["thesis.tex"]


@pytest.mark.parametrize(("value", "code"), [("nan", ExitCode.USAGE), ("lots", ExitCode.USAGE),
                                             ("-1", ExitCode.USAGE), ("inf", ExitCode.USAGE),
                                             ("1e9", ExitCode.CANNOT_PROCEED)])
def test_min_free_gb(tmp_path, repo, uv, value, code):
    ran = toy_setup(repo, tmp_path, "--prefix", str(tmp_path / "env"),
                    KERASUP_MIN_FREE_GB=value, **uv)
    assert ran.returncode == code and len(ran.error_lines) == 1 and "KERASUP_MIN_FREE_GB" in \
        ran.stderr
    assert not (tmp_path / "env").exists()


def test_keras_json_symlink_is_refused_before_anything_changes(tmp_path, repo, uv):
    home = tmp_path / "keras-home"
    home.mkdir()
    real = tmp_path / "dotfiles-keras.json"
    real.write_text('{"backend": "jax"}')
    (home / "keras.json").symlink_to(real)
    ran = toy_setup(repo, tmp_path, "--prefix", str(tmp_path / "env"), **uv)
    assert ran.returncode == ExitCode.CANNOT_PROCEED and len(ran.error_lines) == 1
    assert str(real) in ran.stderr and "(fix: " in ran.stderr
    assert (home / "keras.json").is_symlink() and real.read_text() == '{"backend": "jax"}'
    assert not (tmp_path / "env").exists()


def test_keras_json_directory_is_moved_aside(tmp_path, repo, uv):
    home = tmp_path / "keras-home"
    (home / "keras.json").mkdir(parents=True)
    (home / "keras.json" / "inside").write_text("x")
    ran = toy_setup(repo, tmp_path, "--prefix", str(tmp_path / "env"), **uv)
    assert ran.returncode == 0, ran.stderr
    assert json.loads((home / "keras.json").read_text())["backend"] == "tensorflow"
    aside = [p for p in home.iterdir() if p.name.startswith("keras.json.bak-")]
    assert len(aside) == 1 and (aside[0] / "inside").read_text() == "x"


def test_unwritable_keras_json_keeps_the_environment_recorded(tmp_path, repo, uv):
    prefix = tmp_path / "env"
    with tmpfs(tmp_path / "ro-home", "size=1m,ro") as home:
        ran = toy_setup(repo, tmp_path, "--prefix", str(prefix), KERAS_HOME=str(home), **uv)
        assert ran.returncode == ExitCode.CANNOT_PROCEED, ran.stdout + ran.stderr
        assert len(ran.error_lines) == 1 and "cannot write" in ran.stderr
    assert read_record(prefix)[0] is not None  # written before keras.json
    p = toy_plan(repo, tmp_path, "--prefix", str(prefix), **uv)
    assert p["up_to_date"] and "sync" not in [a["kind"] for a in p["actions"]]


def test_full_disk_says_free_space(tmp_path, repo, uv):
    with tmpfs(tmp_path / "small", "size=64k") as small:
        ran = toy_setup(repo, tmp_path, "--prefix", str(small / "env"),
                        KERASUP_MIN_FREE_GB="0", UV_LINK_MODE="copy", **uv)
        assert ran.returncode == ExitCode.CANNOT_PROCEED, ran.stdout + ran.stderr
        assert len(ran.error_lines) == 1 and "disk is full" in ran.stderr
        assert "free space" in ran.stderr and "running again" not in ran.stderr
        assert read_record(small / "env")[0] is None


def test_hash_mismatch_blames_the_mirror_or_the_lock(tmp_path, uv):
    body = re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, lock_excerpt({"six"}))
    repo = toy_repo(tmp_path, body=body)
    ran = toy_setup(repo, tmp_path, "--prefix", str(tmp_path / "env"), **uv)
    assert ran.returncode == ExitCode.CANNOT_PROCEED, ran.stdout + ran.stderr
    assert len(ran.error_lines) == 1 and "does not match the lock's hash" in ran.stderr
    assert "running again" not in ran.stderr
    assert read_record(tmp_path / "env")[0] is None


def test_second_setup_on_the_same_prefix_stops_naming_the_first(tmp_path, repo, uv):
    prefix = tmp_path / "env"
    layout = Layout(prefix)
    layout.share.mkdir(parents=True)
    layout.marker.write_text("x")
    with layout.setup_lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write(f"{os.getpid()}\n")
        held.flush()
        ran = toy_setup(repo, tmp_path, "--prefix", str(prefix), **uv)
    assert ran.returncode == ExitCode.CANNOT_PROCEED and len(ran.error_lines) == 1
    assert f"(PID {os.getpid()})" in ran.stderr
    assert not (prefix / "pyvenv.cfg").exists()
    ran = toy_setup(repo, tmp_path, "--prefix", str(prefix), **uv)  # released: it proceeds
    assert ran.returncode == 0, ran.stderr


def test_output_survives_an_ascii_console(tmp_path, repo, uv):
    prefix = tmp_path / "café-环境"
    env = {"LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "ascii", **uv}
    ran = toy_setup(repo, tmp_path, "--prefix", str(prefix), "--dry-run", **env)
    assert ran.returncode == 0, ran.stderr
    assert "caf\\xe9-\\u73af\\u5883" in ran.stdout and "Traceback" not in ran.stderr
    prefix.write_text("a file")
    ran = toy_setup(repo, tmp_path, "--prefix", str(prefix), **env)
    assert ran.returncode == ExitCode.USAGE and len(ran.error_lines) == 1
    assert "caf\\xe9" in ran.stderr and "Traceback" not in ran.stderr


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, ExitCode.INTERRUPTED),
                                              (signal.SIGTERM, ExitCode.TERMINATED),
                                              (signal.SIGHUP, ExitCode.HANGUP)])
def test_a_signal_ends_the_child_and_exits_with_its_code(tmp_path, repo, signum, code):
    """A stand-in uv that hangs: the signal reaches setup, which ends it and exits."""
    pidfile = tmp_path / "child.pid"
    stub = tmp_path / "hanging-uv"
    stub.write_text(f"#!/bin/sh\necho $$ > '{pidfile}'\nexec sleep 300\n")
    stub.chmod(0o755)
    cmd = [sys.executable, str(repo / "setup" / "bootstrap.py"), "--no-verify", "--prefix",
           str(tmp_path / "env")]
    proc = subprocess.Popen(cmd, env=clean_env(tmp_path, KERASUP_UV=str(stub)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (pidfile.is_file() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    child = int(pidfile.read_text())
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert [line for line in err.splitlines() if line.strip()] == [
        line for line in err.splitlines() if line.startswith("kerasup: interrupted")]
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
    assert read_record(tmp_path / "env")[0] is None


@pytest.mark.skipif(os.name == "nt", reason="POSIX process groups")
def test_a_wedged_uv_is_stopped_with_its_group_and_named(tmp_path, repo, uv_exe):
    """A stand-in uv that is the real one except for the sync, where it starts a grandchild
    and then hangs silently (a wedged process, not a slow network): after
    KERASUP_IDLE_TIMEOUT setup ends both, says so in one line naming uv, the step, what to
    check and the log, exits 3 and records nothing."""
    pids = tmp_path / "pids"
    stub = tmp_path / "wedged-uv"
    stub.write_text(f"#!/bin/sh\ncase \"$1 $2\" in\n  'pip sync'|'pip install'|sync*)\n"
                    f"    sleep 300 & echo $$ $! > '{pids}'; wait; exit 0 ;;\nesac\n"
                    f"exec '{uv_exe}' \"$@\"\n")
    stub.chmod(0o755)
    prefix = tmp_path / "env"
    ran = toy_setup(repo, tmp_path, "--prefix", str(prefix), KERASUP_UV=str(stub),
                    KERASUP_IDLE_TIMEOUT="3")
    assert ran.returncode == ExitCode.CANNOT_PROCEED, ran.stdout + ran.stderr
    assert len(ran.error_lines) == 1, ran.stderr
    line = ran.error_lines[0]
    assert line.startswith("kerasup: error: uv made no progress for 3 s"), line
    assert "sync" in line and "KERASUP_IDLE_TIMEOUT" in line and "--check" in line
    log = Layout(prefix).install_log
    assert str(log) in line and "stopped: no progress" in log.read_text()
    assert all(map(_gone, map(int, pids.read_text().split())))  # the stand-in, its child
    assert read_record(prefix)[0] is None


def test_a_wedged_uv_on_the_index_probe_is_named(tmp_path, repo):
    """--check asks the index through uv: a uv that never answers is named as uv (it is not
    the network: uv's own timeout would have answered), with its group ended."""
    from setup.installer.netcheck import probe_with_uv

    pids = tmp_path / "pids"
    stub = tmp_path / "uv"
    stub.write_text(f"#!/bin/sh\nsleep 300 & echo $$ $! > '{pids}'\nwait\n")
    stub.chmod(0o755)
    found = probe_with_uv(str(stub), clean_env(tmp_path), "https://127.0.0.1:9/simple",
                          timeout=0.5, grace=4)
    assert not found.ok and found.via == "uv"
    assert found.problem.startswith("uv did not finish within 5 s during --check's index probe")
    assert "--version" in (found.fix or "")
    assert all(map(_gone, map(int, pids.read_text().split())))


def _gone(pid: int) -> bool:
    """Ended within 10 s (a SIGKILL lands a moment after kill() returns): no such process, or
    a zombie waiting for a PID 1 that does not reap."""
    deadline = time.monotonic() + 10
    while True:
        try:
            os.kill(pid, 0)
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (ProcessLookupError, FileNotFoundError):
            return True
        if state == "Z":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
