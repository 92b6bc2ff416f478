"""setup/ubuntu.sh end to end: a real environment from the real lock, verified by the real
`python -m verify`; a second run is a quick no-op; an interrupted install is repaired;
--dry-run changes nothing; bad input gets one line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from setup_helpers import REPO, UBUNTU_SH, Ran, bootstrap, clean_env, run_cmd

CPU_LOCK = REPO / "envs" / "cpu" / "requirements.txt"
FLAGS = ["--variant", "--python", "--prefix", "--conda", "--dry-run", "--yes", "--help"]


def ubuntu(tmp: Path, *args: str, **env: str) -> Ran:
    return run_cmd([shutil.which("bash") or "/bin/bash", str(UBUNTU_SH), *args],
                   clean_env(tmp, **env))


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


@pytest.mark.parametrize(("args", "code", "words"), [
    (["--variant", "tpu"], 2, "unknown variant 'tpu'"),
    (["--python", "3.10"], 2, "unsupported Python '3.10'"),
    (["--python", "2.7"], 2, "unsupported Python '2.7'"),
    (["--frobnicate"], 2, "unknown option '--frobnicate'"),
    (["--prefix"], 2, "--prefix needs a value"),
])
def test_bad_input_one_line_error(tmp_path, args, code, words):
    ran = ubuntu(tmp_path, *args)
    assert ran.returncode == code
    assert len(ran.error_lines) == 1, ran.stderr
    assert ran.error_lines[0].startswith("kerasup: error: ") and words in ran.stderr
    assert not (tmp_path / "keras-home").exists()


def test_prefix_that_is_a_file(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not an environment")
    ran = ubuntu(tmp_path, "--prefix", str(afile))
    assert ran.returncode == 2 and len(ran.error_lines) == 1
    assert "is not a directory" in ran.stderr
    assert afile.read_text() == "not an environment"


def test_prefix_that_is_someone_elses_directory(tmp_path):
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_text("meow")
    ran = ubuntu(tmp_path, "--prefix", str(other))
    assert ran.returncode == 2 and len(ran.error_lines) == 1
    assert "not an environment" in ran.stderr
    assert [p.name for p in other.iterdir()] == ["cat.jpg"]


def test_too_little_disk(tmp_path):
    ran = ubuntu(tmp_path, "--prefix", str(tmp_path / "env"), KERASUP_MIN_FREE_GB="1e9")
    assert ran.returncode == 3 and len(ran.error_lines) == 1
    assert "too little disk" in ran.stderr and "KERASUP_MIN_FREE_GB" in ran.stderr
    assert not (tmp_path / "env").exists()
    assert "proxy:" in ran.stdout and "found:" in ran.stdout  # it said what it found first


def test_dry_run_changes_nothing(tmp_path):
    tools = tmp_path / "tools"
    before = sorted(p.name for p in tmp_path.iterdir())
    ran = ubuntu(tmp_path, "--dry-run", "--prefix", str(tmp_path / "env"),
                 KERASUP_BOOTSTRAP_TOOLS=str(tools))
    assert ran.returncode == 0, ran.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    out = ran.stdout
    for action in ("found: ", "Python for the environment: Python 3.", "disk: ",
                   "would run: ", "-m venv", "pip install", "uv venv --clear",
                   "uv pip sync --require-hashes", "kerasup.pth", "keras.json",
                   "would write the install record", "-m verify --json",
                   "verify-report.json", "dry run: nothing was changed"):
        assert action in out, action


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
    assert "no network" in ran.stderr and "not in" in ran.stderr
    assert not bootstrap.record_path(tmp_path / "env").exists()


@pytest.mark.network
def test_unreachable_network_is_reported_plainly(tmp_path, setup_tools):
    """A proxy that refuses connections stands in for a machine without network."""
    dead = "http://127.0.0.1:9"
    ran = ubuntu(tmp_path, "--prefix", str(tmp_path / "env"), HTTPS_PROXY=dead, HTTP_PROXY=dead,
                 UV_CACHE_DIR=str(tmp_path / "uv-cache"), UV_HTTP_RETRIES="0")
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert len(ran.error_lines) == 1 and "no network" in ran.stderr, ran.stderr
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


@pytest.mark.slow
def test_first_run_builds_the_environment_from_the_lock(installed):
    tmp, prefix, first = installed
    assert (prefix / "pyvenv.cfg").is_file(), first.stdout + first.stderr
    record = bootstrap.read_install_record(prefix)
    assert record is not None, first.stdout + first.stderr
    assert record["variant"] == "cpu" and record["method"] == "uv"
    assert record["platform"] == bootstrap.Target.current().platform
    assert record["lock"] == str(CPU_LOCK) and record["toolkit_root"] == str(REPO)
    assert record["lock_sha256"] == bootstrap.lock_sha256(CPU_LOCK)
    python = prefix / "bin" / "python"
    code = ("import importlib.metadata as m, sys, verify; print(m.version('keras'), "
            "m.version('numpy'), '%d.%d' % sys.version_info[:2], verify.__file__)")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                         cwd=tmp, check=True).stdout.split()
    assert out[0] in _lock_pins("keras") and out[1] in _lock_pins("numpy")
    assert out[2] == record["python"]
    assert out[3].startswith(str(REPO))  # kerasup.pth puts the toolkit on the path
    keras_json = json.loads((tmp / "keras-home" / "keras.json").read_text())
    assert keras_json["backend"] == "tensorflow"
    assert "source " + str(prefix / "bin" / "activate") in first.stdout


@pytest.mark.slow
def test_exit_status_is_verifys(installed):
    _, prefix, first = installed
    report = prefix / "share" / "kerasup" / "verify-report.json"
    assert report.is_file(), first.stdout + first.stderr
    assert (prefix / "share" / "kerasup" / "verify-junit.xml").is_file()
    ok = json.loads(report.read_text()).get("ok")
    assert first.returncode == (0 if ok else 1)


@pytest.mark.slow
def test_environment_is_ready(installed):
    """The real verify passes on the environment ubuntu.sh made."""
    _, _, first = installed
    assert first.returncode == 0, first.stdout[-4000:]


@pytest.mark.slow
def test_second_run_is_a_quick_noop(installed):
    tmp, prefix, first = installed
    record = bootstrap.record_path(prefix).read_text()
    python = prefix / "bin" / "python"
    stamp = python.lstat().st_mtime_ns
    second = ubuntu(tmp, "--prefix", str(prefix))
    print(f"second run of ubuntu.sh: {second.seconds:.1f}s (first {first.seconds:.1f}s)")
    assert second.returncode == first.returncode
    assert "is up to date" in second.stdout
    assert "uv pip sync" not in second.stdout and "uv venv" not in second.stdout
    assert bootstrap.record_path(prefix).read_text() == record
    assert python.lstat().st_mtime_ns == stamp
    assert "-m verify --json" in second.stdout  # it still verifies
    # How quick it is is a benchmark figure (nox -s bench), not an assertion here.


@pytest.mark.slow
def test_changed_lock_is_synced_in_place(installed):
    """A record for another lock (the lock was regenerated since): sync, keep the venv."""
    tmp, prefix, first = installed
    path = bootstrap.record_path(prefix)
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "lock_sha256": "0" * 64}))
    again = ubuntu(tmp, "--prefix", str(prefix))
    assert again.returncode == first.returncode, again.stdout[-3000:] + again.stderr
    assert f"reusing the Python {record['python']} virtual environment" in again.stdout
    assert "uv venv" not in again.stdout and "uv pip sync --require-hashes" in again.stdout
    assert json.loads(path.read_text())["lock_sha256"] == bootstrap.lock_sha256(CPU_LOCK)


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
    assert proc.returncode == 130, out + err
    assert "interrupted; run the same command again" in err
    assert "write the install record" not in out, "uv finished before the interrupt"
    assert not bootstrap.record_path(prefix).exists()  # the record is written last

    again = ubuntu(tmp_path, "--prefix", str(prefix))
    print("repair run: " + again.stdout.strip().splitlines()[-1])
    assert "an earlier run did not finish; recreating the environment" in again.stdout
    assert "uv venv --clear" in again.stdout and "uv pip sync --require-hashes" in again.stdout
    assert again.returncode in (0, 1), again.stdout[-3000:] + again.stderr
    assert bootstrap.read_install_record(prefix) is not None
    check = subprocess.run([str(prefix / "bin" / "python"), "-c", "import keras, verify"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert check.returncode == 0, check.stderr


@pytest.mark.slow
def test_other_python_version(tmp_path, setup_tools):
    """--python picks another supported interpreter; the record says which."""
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    other = next((v for v in ("3.13", "3.11") if v != here), "3.13")
    env = clean_env(tmp_path)
    found = bootstrap.choose_python(bootstrap.find_pythons(bootstrap.Target.current(), env),
                                    other)
    if not found:
        pytest.skip(f"no Python {other} installed")
    # the bootstrap directly, without verify: this is about choosing the interpreter
    ran = run_cmd([sys.executable, str(REPO / "setup" / "bootstrap.py"), "--prefix",
                   str(tmp_path / "env"), "--python", other, "--no-verify"], env)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr
    record = bootstrap.read_install_record(tmp_path / "env")
    assert record is not None and record["python"] == other
    out = subprocess.run([str(tmp_path / "env" / "bin" / "python"), "-c",
                          "import sys, keras; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True)
    assert out.stdout.strip() == other, out.stderr
