"""Setup's Jupyter kernel and prefix are owned or refused, on real folders, mounts and a real
second account: a name Jupyter would not use (``.``, ``..``) or a kernel kerasup did not
register is refused with exit 2 and the kernels untouched; ``--kernel-prefix`` or ``--prefix``
this account cannot write, and a prefix on a ``noexec`` mount, are one line with the fix."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from envs.contract.errors import ExitCode
from tests.realfs import tmpfs
from tests.setup.setup_helpers import BOOTSTRAP, REPO, bootstrap

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _tree(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def _jupyter_home(tmp: Path) -> Path:
    """A user's Jupyter data folder with another kernel, a runtime file and an extension."""
    data = tmp / "home" / ".local" / "share" / "jupyter"
    for rel, text in (("kernels/python3/kernel.json", '{"argv": ["python3"]}'),
                      ("runtime/kernel-1.json", "{}"), ("nbextensions/ext.js", "//")):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_text(text)
    return data


@pytest.mark.parametrize("name", ["..", "."])
def test_dot_names_are_refused_and_jupyter_is_untouched(tmp_path: Path, name: str) -> None:
    data = _jupyter_home(tmp_path)
    before = _tree(data)
    ran = bootstrap(tmp_path, "--prefix", str(tmp_path / "env"), "--kernel-name", name,
                    HOME=str(tmp_path / "home"), JUPYTER_DATA_DIR="",
                    XDG_DATA_HOME=str(tmp_path / "home" / ".local" / "share"))
    assert ran.returncode == ExitCode.USAGE, ran.stdout + ran.stderr
    assert len(ran.error_lines) == 1 and "--kernel-name" in ran.error_lines[0]
    assert _tree(data) == before and not (tmp_path / "env").exists()


def test_a_kernel_kerasup_did_not_register_is_refused(tmp_path: Path) -> None:
    data = _jupyter_home(tmp_path)
    mine = data / "kernels" / "my-lab"
    mine.mkdir()
    (mine / "kernel.json").write_text(json.dumps({"argv": ["/usr/bin/python3"],
                                                  "display_name": "mine"}))
    before = _tree(data)
    ran = bootstrap(tmp_path, "--prefix", str(tmp_path / "env"), "--kernel-name", "My-Lab",
                    "--dry-run", JUPYTER_DATA_DIR=str(data))
    assert ran.returncode == ExitCode.USAGE, ran.stdout + ran.stderr
    line = ran.error_lines[-1]
    assert "'my-lab' that kerasup did not register" in line and "--kernel-name" in line
    assert _tree(data) == before


@pytest.fixture(scope="module")
def student() -> Iterator[str]:
    """A real second account (no root), removed afterwards."""
    if not ROOT or not shutil.which("useradd") or not Path("/usr/bin/python3").exists():
        pytest.skip("needs root, useradd and /usr/bin/python3")
    name = f"kh-harden{os.getpid() % 100000}"
    made = subprocess.run(["useradd", "--create-home", name], capture_output=True, text=True,
                          check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot add an account: {made.stderr.strip()}")
    try:
        yield name
    finally:
        subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)


@pytest.fixture
def open_dir(student: str) -> Iterator[Path]:
    """A root-owned folder (0755) the student can enter but not write in."""
    made = Path(tempfile.mkdtemp(prefix="kh-harden-"))
    made.chmod(0o755)
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


def _as(user: str, *args: str) -> subprocess.CompletedProcess[str]:
    home = pwd.getpwnam(user).pw_dir
    return subprocess.run(["runuser", "-u", user, "--", "env", "-i", f"HOME={home}",
                           "PATH=/usr/bin:/bin", "UV_PYTHON_DOWNLOADS=never",
                           "/usr/bin/python3", str(BOOTSTRAP), *args],
                          cwd="/", capture_output=True, text=True, timeout=120, check=False)


def test_a_student_kernel_prefix_they_cannot_write(student: str, open_dir: Path) -> None:
    system = open_dir / "usr-local"
    (system / "share").mkdir(parents=True)
    done = _as(student, "--kernel-prefix", str(system), "--offline")
    assert done.returncode == ExitCode.USAGE, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{student} cannot create {system}/share/jupyter" in lines[0]
    assert "sudo" in lines[0] and "drop --kernel-prefix" in lines[0]
    assert list((system / "share").iterdir()) == []


@pytest.mark.parametrize("where", ["open", "hidden"])
def test_a_student_prefix_they_cannot_write(student: str, open_dir: Path, where: str) -> None:
    """Root-owned: a folder they can enter, and one below a folder they cannot (0700)."""
    blocker = open_dir
    if where == "hidden":
        blocker = open_dir / "private"
        (blocker / "deep").mkdir(parents=True, mode=0o700)
        blocker.chmod(0o700)
    prefix = blocker / "deep" / "env" if where == "hidden" else open_dir / "env"
    done = _as(student, "--prefix", str(prefix), "--offline", "--no-kernel")
    assert done.returncode == ExitCode.USAGE, done.stdout + done.stderr
    line = done.stderr.strip().splitlines()[-1]
    shown = open_dir if where == "open" else blocker
    assert f"{student} cannot write in {shown}" in line and "--prefix ~/" in line
    assert "Traceback" not in done.stderr and not prefix.exists()


def test_a_noexec_prefix_names_the_mount(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", "size=1m,noexec") as mnt:
        ran = bootstrap(tmp_path, "--prefix", str(mnt / "env"), "--dry-run", "--offline")
        assert ran.returncode == ExitCode.USAGE, ran.stdout + ran.stderr
        line = ran.error_lines[-1]
        assert f"is on {mnt}, which is mounted noexec" in line
        assert f"mount -o remount,exec {mnt}" in line and list(mnt.iterdir()) == []


def test_bootstrap_help_still_runs() -> None:
    assert subprocess.run([sys.executable, str(BOOTSTRAP), "--help"], cwd=REPO,
                          capture_output=True, timeout=60, check=False).returncode == 0


def test_a_kernel_another_kerasup_environment_registered_may_be_replaced(tmp_path: Path) -> None:
    """The documented re-registration: same name, the Python of an environment kerasup made
    (its marker), e.g. the default .venv of another checkout."""
    other = tmp_path / "other-env"
    (other / "share" / "kerasup").mkdir(parents=True)
    (other / "share" / "kerasup" / "created-by-kerasup").write_text("2026-01-01T00:00:00Z\n")
    data = tmp_path / "jupyter"
    spec = data / "kernels" / "kerasup-lab"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": [str(other / "bin" / "python")],
                                                  "display_name": "old"}))
    ran = bootstrap(tmp_path, "--prefix", str(tmp_path / "env"), "--kernel-name", "kerasup-lab",
                    "--dry-run", JUPYTER_DATA_DIR=str(data))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "would register the Jupyter kernel kerasup-lab" in ran.stdout


_HOLD_ALL = """\
import fcntl, os, sys, time
held = []
for folder, dirs, files in os.walk(sys.argv[1]):
    for name in [folder, *(os.path.join(folder, f) for f in files)]:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            print("refused", name, exc.errno, flush=True)
            continue
        held.append(fd)
        print("held", name, flush=True)
print("ready", flush=True)
time.sleep(120)
"""


def test_a_student_cannot_hold_the_setup_lock(student: str, open_dir: Path) -> None:
    """A student locks every file and folder of the prefix they can open, and keeps them:
    root's setup still gets the prefix's lock (0600, root's alone), also one an older
    setup left readable by everyone; uv's own lock on the environment, which uv makes 0666
    (and then waits on for as long as anyone holds it), is root's alone too."""
    from envs.contract.layout import Layout
    from setup.installer import prefixlock

    prefix = open_dir / "env"
    layout = Layout(prefix)
    layout.share.mkdir(parents=True)
    layout.share.parent.chmod(0o755)
    layout.marker.write_text("x")
    layout.setup_lock.write_text("1\n")
    layout.setup_lock.chmod(0o644)  # as setup made it before
    layout.uv_lock.touch()
    layout.uv_lock.chmod(0o666)  # as uv makes it when it first syncs the environment
    with prefixlock.hold(prefix):
        pass
    assert layout.setup_lock.stat().st_mode & 0o777 == 0o600
    assert layout.uv_lock.stat().st_mode & 0o777 == 0o600
    holder = subprocess.Popen(["runuser", "-u", student, "--", "/usr/bin/python3", "-c",
                               _HOLD_ALL, str(prefix)], stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in holder.stdout or ():
            lines.append(line.strip())
            if line.startswith("ready"):
                break
        assert f"held {layout.marker}" in lines and f"held {layout.share}" in lines
        assert f"refused {layout.setup_lock} 13" in lines  # EACCES
        assert f"refused {layout.uv_lock} 13" in lines
        with prefixlock.hold(prefix) as lock:
            assert lock == layout.setup_lock
    finally:
        holder.kill()
        holder.wait()
