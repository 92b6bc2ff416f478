"""``python -m verify`` against real breakage: locales that cannot encode, full and read-only
disks (real tmpfs mounts), interrupted runs, broken keras.json entries, damaged installed
files (in a fresh clone of the CPU environment, never the shared one), foreign Pythons."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from envs.contract.errors import CannotProceed, ExitCode
from tests.realfs import tmpfs
from verify.checks import CHECK_NAMES
from verify.reports import commit

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def fill(folder: Path, leave: int = 0) -> None:
    """Write into ``folder`` until the file system is full, then give back ``leave`` bytes."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):  # ENOSPC: full
            while True:
                os.write(fd, b"\0" * 1024)
        if leave:
            os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
    finally:
        os.close(fd)


def _one_error_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


# -- output encoding ------------------------------------------------------------------------

@pytest.mark.parametrize(("env", "encoding"), [
    ({"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}, "ascii"),
    ({"PYTHONIOENCODING": "latin-1"}, "latin-1"),
    ({"PYTHONIOENCODING": "ascii"}, "ascii")])
def test_output_never_crashes_on_encoding(cpu_env, verify_home, tmp_path: Path, env,
                                          encoding: str) -> None:
    """A keras.json path the stream cannot encode, on a stream that may not show '·'."""
    home = tmp_path / "kérás-ħome-数据"
    home.mkdir()
    report = tmp_path / "report.json"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "PYTHONIO"))}
    full_env.update({**verify_home, **env, "KERAS_HOME": str(home)})
    proc = subprocess.run([str(cpu_env.python), "-m", "verify", "--only", "keras_json",
                           "--json", str(report)], env=full_env, capture_output=True,
                          timeout=300, cwd=tmp_path)
    out = proc.stdout.decode(encoding) + proc.stderr.decode(encoding)
    assert proc.returncode == 0 and "Traceback" not in out, out
    head = out.splitlines()[0]
    if encoding == "latin-1":
        assert " · " in head  # latin-1 has the middle dot
    else:
        assert " - " in head
    assert "Ready for Keras/TensorFlow." in out
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["ok"] is True
    assert str(home) in json.dumps(data, ensure_ascii=False)  # the real name, not mojibake


# -- reports --------------------------------------------------------------------------------

def test_reports_agree_with_the_screen_and_the_exit_status(run_verify, verify_home,
                                                           tmp_path: Path) -> None:
    (Path(verify_home["KERAS_HOME"]) / "keras.json").write_text('{"backend": "theano"}')
    junit = tmp_path / "junit.xml"
    run = run_verify("--only", "keras_json", "--junit", str(junit))
    assert run.rc == ExitCode.FAILED and run.report["ok"] is False
    assert "Not ready" in run.proc.stdout and "Ready for" not in run.proc.stdout
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert cases["test_keras_json"].find("failure") is not None


@pytest.mark.parametrize("flag", ["--json", "--junit"])
def test_a_report_into_a_directory_is_refused_before_any_check(cpu_env, verify_home,
                                                               tmp_path: Path, flag) -> None:
    proc = subprocess.run([str(cpu_env.python), "-m", "verify", flag, str(tmp_path)],
                          env={**os.environ, **verify_home}, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE
    assert flag in _one_error_line(proc.stderr) and proc.stdout == ""


def test_a_deleted_current_folder_is_refused_before_any_check(cpu_env, verify_home,
                                                                tmp_path: Path) -> None:
    """pytest starts from the current folder: a deleted one was a traceback."""
    gone = tmp_path / "gone"
    gone.mkdir()
    report = tmp_path / "report.json"
    proc = subprocess.run(["sh", "-c", 'cd "$1" && rmdir "$1" && exec "$2" -m verify --json "$3"',
                           "sh", str(gone), str(cpu_env.python), str(report)],
                          env={**os.environ, **verify_home}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == ExitCode.CANNOT_PROCEED, proc.stderr
    assert "current folder" in _one_error_line(proc.stderr) and proc.stdout == ""
    assert not report.exists()


@pytest.mark.parametrize("state", ["full", "read-only"])
def test_a_full_or_read_only_place_is_refused_up_front(cpu_env, verify_home, tmp_path: Path,
                                                       state: str) -> None:
    with tmpfs(tmp_path / "mnt", "size=64k,ro" if state == "read-only" else "size=64k") as mnt:
        if state == "full":
            fill(mnt)
        report = mnt / "report.json"
        proc = subprocess.run([str(cpu_env.python), "-m", "verify", "--json", str(report),
                               "--only", "keras_json"], env={**os.environ, **verify_home},
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == ExitCode.USAGE, proc.stdout + proc.stderr
        assert "--json" in _one_error_line(proc.stderr) and proc.stdout == ""
        assert not report.exists()
        assert [p.name for p in mnt.iterdir()] == (["filler"] if state == "full" else [])


def test_a_disk_that_fills_up_leaves_no_half_report_and_keeps_the_old_ones(
        tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt") as mnt:
        old_json, old_junit = mnt / "r.json", mnt / "r.xml"
        old_json.write_text('{"old": true}')
        old_junit.write_text("<old/>")
        fill(mnt, leave=8192)
        with pytest.raises(CannotProceed) as info:
            commit({old_junit: b"<new/>", old_json: b"x" * 200_000})
        assert "\n" not in info.value.one_line()
        assert old_json.read_text() == '{"old": true}' and old_junit.read_text() == "<old/>"
        assert sorted(p.name for p in mnt.iterdir()) == ["filler", "r.json", "r.xml"]


def test_an_interrupted_run_writes_no_report_and_keeps_the_earlier_ones(
        cpu_env, verify_home, tmp_path: Path) -> None:
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    report.write_text('{"earlier": "complete"}')
    junit.write_text("<earlier/>")
    proc = subprocess.Popen([str(cpu_env.python), "-m", "verify", "--only", "mnist", "--json",
                             str(report), "--junit", str(junit)],
                            env={**os.environ, **verify_home}, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("kerasup verify ")  # printed before the checks
    time.sleep(1.5)  # importing TensorFlow (seconds) or training
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == ExitCode.INTERRUPTED, out + err
    assert "Traceback" not in out + err and "no report written" in err
    assert report.read_text() == '{"earlier": "complete"}'
    assert junit.read_text() == "<earlier/>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "junit.xml", "keras-home",
                                                           "report.json"]


# -- selecting nothing, foreign Pythons, foreign locks ----------------------------------------

@pytest.mark.parametrize("argv", [["--only", ","],
                                  ["--skip", ",".join(CHECK_NAMES)]])
def test_selecting_nothing_is_a_usage_error(cpu_env, tmp_path: Path, argv) -> None:
    proc = subprocess.run([str(cpu_env.python), "-m", "verify", *argv], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE
    assert "Ready" not in proc.stdout and "Traceback" not in proc.stderr


def test_a_python_that_is_not_a_kerasup_environment(tmp_path: Path) -> None:
    """The system Python without its site-packages: no pytest, no TensorFlow."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-S", "-m", "verify"], capture_output=True,
                          text=True, timeout=60, cwd=REPO, env=env)
    assert proc.returncode == ExitCode.USAGE
    line = _one_error_line(proc.stderr)
    assert "not a kerasup environment" in line and "pytest" in line
    assert f"{REPO / '.venv' / 'bin' / 'python'} -m verify" in line.split("(fix:", 1)[1]


def test_the_fix_names_an_existing_environment_and_its_activate_line(tmp_path: Path) -> None:
    """This test runner's Python has no TensorFlow: a real 'not an environment'."""
    from envs.contract.errors import UsageError
    from verify.preflight import check_environment

    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(sys.executable)
    with pytest.raises(UsageError) as info:
        check_environment(tmp_path)
    assert info.value.fix.startswith(f"{tmp_path / 'bin' / 'python'} -m verify")
    assert f"source {tmp_path / 'bin' / 'activate'}" in info.value.fix


def test_a_garbage_lock_is_not_a_kerasup_lock(cpu_env, tmp_path: Path) -> None:
    garbage = tmp_path / "requirements.txt"
    garbage.write_text("this is not\na lock\n")
    proc = subprocess.run([str(cpu_env.python), "-m", "verify", "--lock", str(garbage)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == ExitCode.USAGE
    line = _one_error_line(proc.stderr)
    assert f"{garbage} is not a kerasup lock (no # kerasup-pythons/platforms header)" in line
    assert "(fix: " in line


# -- keras.json that is not a plain file ------------------------------------------------------

def test_a_keras_json_directory_fails_and_fix_moves_it_aside(run_verify, verify_home) -> None:
    path = Path(verify_home["KERAS_HOME"]) / "keras.json"
    (path / "something").mkdir(parents=True)
    run = run_verify("--only", "keras_json")
    check = run.check("keras_json")
    assert run.rc == 1 and "not a regular file" in check["summary"]
    assert "--fix" in check["fix"]
    run = run_verify("--only", "keras_json", "--fix")
    assert run.rc == 0 and run.check("keras_json")["status"] == "pass", run.output
    assert path.is_file() and json.loads(path.read_text())["backend"] == "tensorflow"
    moved = [p for p in path.parent.iterdir() if p.name.startswith("keras.json.bak-")]
    assert len(moved) == 1 and (moved[0] / "something").is_dir()


def test_a_symlinked_keras_json_is_never_replaced(run_verify, verify_home,
                                                  tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "keras.json"
    target.parent.mkdir()
    target.write_text('{"backend": "theano"}')
    path = Path(verify_home["KERAS_HOME"]) / "keras.json"
    path.symlink_to(target)
    run = run_verify("--only", "keras_json", "model_graph", "--fix")
    check = run.check("keras_json")
    assert run.rc == 1 and check["status"] == "fail"
    assert check["fix"].startswith(f"edit {target}")  # the contract's refusal, not --fix
    assert path.is_symlink() and target.read_text() == '{"backend": "theano"}'
    # The check that imports keras gives the same, reachable fix: no circle back to --fix.
    assert str(target) in run.check("model_graph")["fix"]


def test_an_unreadable_keras_json_says_chmod(cpu_env, verify_home, tmp_path: Path) -> None:
    """A mode-000 keras.json, read for real: as root, verify runs without the capabilities
    that let root read any file (setpriv), so the permission check applies to it too."""
    path = Path(verify_home["KERAS_HOME"]) / "keras.json"
    path.write_text('{"backend": "tensorflow"}')
    path.chmod(0)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("root without setpriv reads any file")
        prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]
    report = tmp_path / "report.json"
    try:
        proc = subprocess.run([*prefix, str(cpu_env.python), "-m", "verify", "--only",
                               "keras_json", "--fix", "--json", str(report)],
                              env={**os.environ, **verify_home}, capture_output=True,
                              text=True, timeout=300, cwd=tmp_path)
    finally:
        path.chmod(0o600)
    assert proc.returncode == ExitCode.FAILED, proc.stdout + proc.stderr
    check = next(c for c in json.loads(report.read_text())["checks"]
                 if c["name"] == "keras_json")
    assert "unreadable" in check["summary"] and check["fix"].startswith("chmod u+rw")
    assert path.read_text() == '{"backend": "tensorflow"}'  # --fix left it alone
    assert sorted(p.name for p in path.parent.iterdir()) == ["keras.json"]


# -- installed files against RECORD -----------------------------------------------------------

@pytest.fixture(scope="module")
def damaged_env(cpu_env, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A fresh clone of the CPU environment with one of h5py's compiled modules deleted and
    one of its Python files changed in place (same size). Files are unlinked before being
    rewritten: the clone's files may be hard links into uv's cache."""
    from tests.conftest import CPU_LOCK, build_locked_env

    prefix = tmp_path_factory.mktemp("damaged") / "venv"
    python = build_locked_env(prefix, CPU_LOCK, python=str(cpu_env.python)).python
    root = Path(subprocess.run([str(python), "-c", "import sysconfig; "
                                "print(sysconfig.get_paths()['platlib'])"], check=True,
                               capture_output=True, text=True).stdout.strip())
    so = sorted((root / "h5py").glob("_errors*.so"))[0]
    so.unlink()
    py = root / "h5py" / "version.py"
    data = py.read_bytes()
    py.unlink()  # break a possible hard link before writing
    py.write_bytes(data.replace(b"h5py", b"H5PY", 1))
    return python, so.relative_to(root).as_posix(), py.relative_to(root).as_posix()


def test_a_deleted_compiled_module_fails_the_packages_check(run_verify, damaged_env) -> None:
    python, so, py = damaged_env
    run = run_verify("--only", "packages", python=python)
    check = run.check("packages")
    assert run.rc == 1 and check["status"] == "fail"
    damaged = check["details"]["damaged_files"]["h5py"]
    assert f"{so} (missing)" in damaged and not any(py in d for d in damaged)
    assert "reinstall --no-deps" in check["fix"] and "h5py==" in check["fix"]


def test_deep_also_finds_a_changed_file_of_the_same_size(run_verify, damaged_env) -> None:
    python, so, py = damaged_env
    run = run_verify("--only", "packages", "--deep", python=python)
    damaged = run.check("packages")["details"]["damaged_files"]["h5py"]
    assert f"{py} (sha256 differs from RECORD)" in damaged and f"{so} (missing)" in damaged


def test_the_intact_environment_passes_deep(run_verify) -> None:
    run = run_verify("--only", "packages", "--deep")
    check = run.check("packages")
    assert check["status"] in ("pass", "warn"), check
    assert "damaged_files" not in check["details"] and check["details"]["files_checked"] == \
        "sha256"


def test_uv_cache_was_not_touched(cpu_env) -> None:
    """The shared environment still has h5py's compiled module."""
    proc = cpu_env.run("-c", "import h5py._errors", timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_a_reader_that_leaves_does_not_stop_the_run(cpu_env, verify_home,
                                                    tmp_path: Path) -> None:
    """`python -m verify | head -1`: the pipe closes while mnist runs. The run still ends
    with its status and its report, and no traceback."""
    report = tmp_path / "r.json"
    proc = subprocess.Popen([str(cpu_env.python), "-m", "verify", "--no-color", "--only",
                             "python_platform,mnist", "--json", str(report)],
                            env={**os.environ, **verify_home}, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith("kerasup verify ")
    proc.stdout.close()  # the reader leaves; mnist's line comes seconds later
    err = proc.stderr.read()
    proc.wait(timeout=300)
    assert "Traceback" not in err and "Broken pipe" not in err, err
    data = json.loads(report.read_text())
    assert proc.returncode == (ExitCode.OK if data["ok"] else ExitCode.FAILED)
    assert {c["name"]: c["status"] for c in data["checks"]}["mnist"] == "pass"
