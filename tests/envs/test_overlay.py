"""pip inside the environment, and a student's own packages on a shared one (envs/overlay.py).

Real processes throughout: the test environment's own pip, a real wheel installed by pip
(built here, so nothing resolves against an index), verify's report, and, as root, a real
second account working on the shared environment that it cannot write.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from envs.contract.piplock import parse_requirements

REPO = Path(__file__).resolve().parents[2]
STUDENT = f"kh2-prog-student{os.getpid() % 10000}"
Run = Callable[..., subprocess.CompletedProcess[str]]


def _wheel(folder: Path) -> Path:
    """A real pure-Python wheel, kh2-tiny 1.0, with its RECORD."""
    files = {"kh2_tiny.py": b"VALUE = 42\n",
             "kh2_tiny-1.0.dist-info/METADATA":
                 b"Metadata-Version: 2.1\nName: kh2-tiny\nVersion: 1.0\n",
             "kh2_tiny-1.0.dist-info/WHEEL":
                 b"Wheel-Version: 1.0\nGenerator: kerasup-tests\nRoot-Is-Purelib: true\n"
                 b"Tag: py3-none-any\n"}

    def row(name: str, data: bytes) -> str:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        return f"{name},sha256={digest.decode()},{len(data)}"

    record = [row(n, d) for n, d in files.items()] + ["kh2_tiny-1.0.dist-info/RECORD,,"]
    path = folder / "kh2_tiny-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("kh2_tiny-1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return path


def _locked_pip() -> str:
    lock = (REPO / "envs" / "cpu" / "requirements.txt").read_text(encoding="utf-8")
    return next(e.version for e in parse_requirements(lock, "cpu") if e.name == "pip")


def test_pip_in_the_activated_env_is_the_envs_own(cpu_env, tmp_path):
    """In the activated env, `pip` and `python -m pip` are the env's locked pip, and an
    install would go into the env (a dry run: the shared test env stays as it is)."""
    _wheel(tmp_path)
    script = ("source bin/activate && pip --version && python -m pip --version && "
              "pip list --format json --isolated && pip install --isolated --dry-run "
              f"--no-index --find-links {shlex.quote(str(tmp_path))} kh2-tiny")
    ran = subprocess.run(["bash", "-c", script], cwd=cpu_env.prefix, text=True,
                         capture_output=True, check=False, timeout=120,
                         env={**os.environ, "PIP_CONFIG_FILE": os.devnull})
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    site = f"{cpu_env.prefix}/lib/python"
    assert lines[0].startswith(f"pip {_locked_pip()} from {site}"), lines[0]
    assert lines[1].startswith(f"pip {_locked_pip()} from {site}"), lines[1]
    listed = {d["name"].lower(): d["version"] for d in json.loads(lines[2])}
    assert listed["keras"] == "3.15.1" and listed["pip"] == _locked_pip()
    assert "Would install kh2-tiny-1.0" in ran.stdout
    assert not list(Path(cpu_env.prefix).glob("lib/python*/site-packages/kh2_tiny*"))


def _shared_state(prefix: Path) -> dict[str, tuple[int, int]]:
    """Owner and mtime of everything in the shared env's bin and site-packages."""
    site = next(prefix.glob("lib/python*/site-packages"))
    return {str(p): (p.lstat().st_uid, p.lstat().st_mtime_ns)
            for folder in (prefix / "bin", site) for p in folder.iterdir()}


@pytest.fixture
def student() -> Iterator[str]:
    """A real second account with a home, removed afterwards."""
    if os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("runuser"):
        pytest.skip("needs root, useradd and runuser")
    made = subprocess.run(["useradd", "--create-home", STUDENT], capture_output=True,
                          text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot add an account: {made.stderr.strip()}")
    try:
        yield STUDENT
    finally:
        subprocess.run(["userdel", "--remove", STUDENT], capture_output=True, check=False)


def _base_hidden(prefix: Path) -> str | None:
    """The folder under /root that holds the env's base Python, when /root is closed to other
    accounts (pyenv as root): the student then sees it through a private mount namespace."""
    cfg = dict(line.split(" = ", 1) for line in
               (prefix / "pyvenv.cfg").read_text(encoding="utf-8").splitlines() if " = " in line)
    home = Path(cfg.get("home", "/"))
    if home.parts[:2] != ("/", "root") or Path("/root").stat().st_mode & 0o001:
        return None
    return str(Path(*home.parts[:3]))  # e.g. /root/.pyenv


def _as_student(user: str, prefix: Path) -> Run:
    """Run a command as `user` in a clean login-like environment with the shared env's bin
    first on PATH (as the lab's login script puts it)."""
    home = pwd.getpwnam(user).pw_dir
    env = ["env", "-i", f"HOME={home}", f"USER={user}", "PIP_CONFIG_FILE=/dev/null",
           f"PATH={prefix}/bin:/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL=3"]
    hidden = _base_hidden(prefix)

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        command = ["runuser", "-u", user, "--", *env, *argv]
        with tempfile.TemporaryDirectory(prefix="kh2-prog-") as keep:
            if hidden:  # root's closed home, opened only for this process tree
                script = ('set -e; mount --make-rprivate /; mount --bind "$1" "$2"; '
                          'mount -t tmpfs -o mode=0755,size=1m tmpfs /root; mkdir -p "$1"; '
                          'mount --bind "$2" "$1"; shift 2; exec "$@"')
                command = ["unshare", "-m", "sh", "-c", script, "sh", hidden, keep, *command]
            return subprocess.run(command, cwd=home, text=True, capture_output=True,
                                  check=False, timeout=300)
    return run


def test_a_student_adds_a_package_without_changing_the_shared_env(cpu_env, student):
    """A real non-root account on the (root-owned) test env: makes its overlay, pip-installs
    a wheel there, verify reports it as outside the lock with a restore command that works,
    and the shared env, root's Python and root's path never see it."""
    prefix = Path(cpu_env.prefix)
    home = Path(pwd.getpwnam(student).pw_dir)
    wheels = home / "wheels"
    wheels.mkdir()
    _wheel(wheels)
    as_student = _as_student(student, prefix)
    before = _shared_state(prefix)

    made = as_student("python", "-m", "envs.overlay")
    assert made.returncode == 0, made.stdout + made.stderr
    overlay = home / "kerasup-cpu"
    assert f"source {overlay}/bin/activate" in made.stdout
    refused = as_student("pip", "install", "--no-index", "--find-links", str(wheels),
                         "kh2-tiny")  # the shared env's own pip: the student cannot write
    assert refused.returncode != 0 and "Permission denied" in refused.stderr
    added = as_student(f"{overlay}/bin/pip", "install", "--no-index", "--find-links",
                       str(wheels), "kh2-tiny")
    assert added.returncode == 0, added.stdout + added.stderr
    assert list(overlay.glob("lib/python*/site-packages/kh2_tiny.py"))

    kernels = as_student("jupyter", "kernelspec", "list", "--json")
    spec = json.loads(kernels.stdout)["kernelspecs"]["kerasup-cpu-mine"]
    assert spec["resource_dir"].startswith(str(home))
    assert spec["spec"]["argv"][0] == f"{overlay}/bin/python"
    assert spec["spec"]["env"] == {"KERAS_BACKEND": "tensorflow"}

    report = home / "report.json"
    checked = as_student(f"{overlay}/bin/python", "-m", "verify", "--only", "packages",
                         "--json", str(report))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    packages = next(c for c in json.loads(report.read_text())["checks"]
                    if c["name"] == "packages")
    assert packages["status"] == "warn"
    assert packages["summary"] == "1 package(s) outside the lock: kh2-tiny 1.0"
    restore = packages["fix"].splitlines()[0].split("remove them: ", 1)[1]
    assert restore == f"{overlay}/bin/python -m pip uninstall -y kh2-tiny"
    assert f"your own overlay {overlay}" in packages["fix"]

    # root's Python in the shared env never imports the student's files
    root_import = subprocess.run([str(cpu_env.python), "-c", "import kh2_tiny"],
                                 capture_output=True, text=True, check=False)
    assert "No module named 'kh2_tiny'" in root_import.stderr
    assert _shared_state(prefix) == before

    undone = as_student(*shlex.split(restore))
    assert undone.returncode == 0, undone.stdout + undone.stderr
    again = as_student(f"{overlay}/bin/python", "-m", "verify", "--only", "packages",
                       "--json", str(report))
    assert again.returncode == 0, again.stdout + again.stderr
    packages = next(c for c in json.loads(report.read_text())["checks"]
                    if c["name"] == "packages")
    assert packages["status"] == "pass", packages


@pytest.mark.parametrize("case", ["foreign folder", "link", "plain python", "in an overlay",
                                  "root"])
def test_what_is_not_an_overlay_is_refused_in_one_line(cpu_env, tmp_path, case):
    """Exit 2 with one line naming the cause and the fix; nothing is created or changed."""
    target, python = tmp_path / "mine", str(cpu_env.python)
    if case == "foreign folder":
        target.mkdir()
        (target / "notes.txt").write_text("mine\n")
    elif case == "link":
        (tmp_path / "elsewhere").mkdir()
        target.symlink_to(tmp_path / "elsewhere")
    elif case == "plain python":
        python = shutil.which("python3") or "/usr/bin/python3"
    elif case == "root" and os.geteuid() != 0:
        pytest.skip("root only: no overlay for root without --dir")
    elif case == "in an overlay":
        fake = tmp_path / "ov"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fake)], check=True)
        (fake / "share" / "kerasup").mkdir(parents=True)
        (fake / "share" / "kerasup" / "overlay-of").write_text(f"{cpu_env.prefix}\n")
        python = str(fake / "bin" / "python")
    before = sorted(p.name for p in tmp_path.iterdir())
    where = [] if case == "root" else ["--dir", str(target)]
    ran = subprocess.run([python, "-m", "envs.overlay", *where, "--no-kernel"],
                         cwd=REPO, capture_output=True, text=True, check=False, timeout=60,
                         env={**os.environ, "HOME": str(tmp_path)})
    assert ran.returncode == 2, ran.stdout + ran.stderr
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), ran.stderr
    expected = {"foreign folder": "is not a kerasup overlay", "link": "is a symbolic link",
                "plain python": "is not the Python of a kerasup environment",
                "in an overlay": "is an overlay already", "root": "root's alone"}[case]
    assert expected in lines[0] and ("--dir" in lines[0] or "shared" in lines[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    if case == "foreign folder":
        assert [p.name for p in target.iterdir()] == ["notes.txt"]
