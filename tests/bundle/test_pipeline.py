"""Installing from a bundle is the installer's own workflow: --dry-run and --plan-json show
it, a checkout refuses a bundle of another lock, and the machine's real limits (a full
disk, a prefix the account cannot write, a CRLF copy) are one line each."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from setup.installer.bundle.manifest import MANIFEST, FileEntry, read_manifest

from .conftest import REPO, link_copy, python_for, replace_file

pytestmark = [pytest.mark.slow, pytest.mark.network]  # the bundle fixture downloads once


def _python() -> str:
    python = python_for("3.12")
    if python is None:
        pytest.skip("needs a CPython 3.12 interpreter")
    return python


def _env(home: Path) -> dict[str, str]:
    home.mkdir(exist_ok=True)
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "SSL_CERT_FILE")}
    return {**keep, "HOME": str(home), "UV_CACHE_DIR": str(home / "uv-cache")}


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


def test_dry_run_prints_the_plan_and_changes_nothing(linux_bundle, tmp_path):
    home, prefix = tmp_path / "home", tmp_path / "env"
    env = _env(home)
    before, home_before = _tree(linux_bundle.directory), _tree(home)
    done = subprocess.run([str(REPO / "setup" / "ubuntu.sh"), "--from-bundle",
                           str(linux_bundle.directory), "--prefix", str(prefix),
                           "--python-exe", _python(), "--dry-run"],
                          env=env, capture_output=True, text=True, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stderr + done.stdout
    for step in ("would check the", "would unpack the bundle's uv",
                 "would create the virtual environment", "--find-links",
                 "would copy the toolkit", "would write the install record", "--data",
                 "dry run: nothing was changed"):
        assert step in out, step
    assert not prefix.exists()
    assert _tree(linux_bundle.directory) == before and _tree(home) == home_before


def test_plan_json_describes_the_bundle_install(linux_bundle, tmp_path):
    prefix = tmp_path / "env"
    done = subprocess.run([sys.executable, str(REPO / "setup" / "bootstrap.py"), "--from-bundle",
                           str(linux_bundle.archive), "--prefix", str(prefix),
                           "--python-exe", _python(), "--plan-json"],
                          env=_env(tmp_path / "home"), capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["backend"] == "uv-venv" and plan["offline"] and plan["variant"] == "cpu"
    assert plan["bundle"]["manifest_sha256"] == hashlib.sha256(
        (linux_bundle.directory / MANIFEST).read_bytes()).hexdigest()
    assert [a["kind"] for a in plan["actions"]][:5] == [
        "check-bundle", "unpack-uv", "create-env", "sync", "copy-toolkit"]
    assert plan["record"]["source"].startswith(f"bundle:{linux_bundle.archive}")
    assert plan["toolkit"] == str(prefix / "share/kerasup/toolkit")
    assert not prefix.exists()


def _resign(root: Path) -> None:
    """Rewrite MANIFEST.json for the files as they now are (what an attacker would do)."""
    manifest = read_manifest(root)
    files = dict(manifest.files)
    for rel in files:
        path = root / rel
        files[rel] = FileEntry(path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())
    lock = root / manifest.lock
    doc = {**manifest.__dict__, "files": files,
           "lock_sha256": hashlib.sha256(lock.read_bytes()).hexdigest()}
    replace_file(root / MANIFEST, type(manifest)(**doc).to_json().encode())


def test_a_resigned_bundle_with_another_lock_is_refused_from_a_checkout(linux_bundle, tmp_path):
    root = link_copy(linux_bundle.directory, tmp_path / "bundle")
    lock = root / "toolkit/envs/cpu/requirements.txt"
    replace_file(lock, lock.read_bytes() + b"# edited\n")
    verify_cli = root / "toolkit/verify/cli.py"
    replace_file(verify_cli, verify_cli.read_bytes() + b"\nprint('edited')\n")
    _resign(root)
    prefix = tmp_path / "env"
    done = subprocess.run([sys.executable, str(REPO / "setup" / "bootstrap.py"), "--from-bundle",
                           str(root), "--prefix", str(prefix), "--python-exe", _python()],
                          env=_env(tmp_path / "home"), capture_output=True, text=True,
                          check=False)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "another lock" in lines[0], lines
    assert not prefix.exists()


def test_a_crlf_copy_is_one_line(linux_bundle, tmp_path):
    root = link_copy(linux_bundle.directory, tmp_path / "bundle")
    for rel in ("install.sh", "toolkit/setup/ubuntu.sh", "toolkit/envs/cpu/requirements.txt"):
        replace_file(root / rel, (root / rel).read_bytes().replace(b"\n", b"\r\n"))
    by_sh = subprocess.run(["sh", str(root / "install.sh"), "--prefix", str(tmp_path / "env")],
                           env=_env(tmp_path / "home"), capture_output=True, text=True,
                           check=False)
    assert by_sh.returncode == 2
    assert by_sh.stderr.strip().splitlines() == [by_sh.stderr.strip()]
    assert by_sh.stderr.startswith("kerasup: error:") and "CRLF" in by_sh.stderr
    assert "Illegal option" not in by_sh.stderr and not (tmp_path / "env").exists()


def _root_can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.mark.skipif(not _root_can_mount(), reason="needs root to mount a tmpfs")
def test_a_full_disk_names_the_disk(linux_bundle, tmp_path):
    disk = tmp_path / "small"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=150m", "tmpfs", str(disk)], check=True)
    try:
        env = {**_env(tmp_path / "home"), "UV_CACHE_DIR": str(disk / "cache"),
               "KERASUP_MIN_FREE_GB": "0"}
        done = subprocess.run([sys.executable, str(REPO / "setup" / "bootstrap.py"),
                               "--from-bundle", str(linux_bundle.directory), "--prefix",
                               str(disk / "env"), "--python-exe", _python(), "--no-verify",
                               "--no-kernel"], env=env, capture_output=True, text=True,
                              check=False, timeout=900)
    finally:
        subprocess.run(["umount", str(disk)], check=True)
    errors = [line for line in done.stderr.splitlines() if line.startswith("kerasup: error")]
    assert done.returncode == 3, done.stderr[-2000:]
    assert len(errors) == 1 and f"mounted at {disk}" in errors[0] and "full" in errors[0]
    assert "check the bundle" not in done.stderr and "Traceback" not in done.stderr


def _runuser() -> str:
    return shutil.which("runuser", path="/usr/sbin:/usr/bin:/sbin:/bin") or "runuser"


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("useradd"),
                    reason="needs root to make a second account")
def test_a_student_and_a_root_owned_prefix(linux_bundle, tmp_path):
    user = "kh-pipeline-stu"
    subprocess.run(["useradd", "--create-home", user], check=True, capture_output=True)
    shared = Path(tempfile.mkdtemp(prefix="kh-pipeline-", dir="/tmp"))
    try:
        shared.chmod(0o755)
        bundle = link_copy(linux_bundle.directory, shared / "bundle")
        for folder in [bundle, *(p for p in bundle.rglob("*") if p.is_dir())]:
            folder.chmod(0o755)
        lab = shared / "lab"
        lab.mkdir(mode=0o755)  # root's
        done = subprocess.run(
            [_runuser(), "-u", user, "--", "/usr/bin/python3", str(REPO / "setup/bootstrap.py"),
             "--from-bundle", str(bundle), "--prefix", str(lab / "env")],
            env={"PATH": "/usr/bin:/bin", "HOME": pwd.getpwnam(user).pw_dir, "LANG": "C"},
            capture_output=True, text=True, check=False, cwd="/")
    finally:
        subprocess.run(["userdel", "--remove", user], check=False, capture_output=True)
        shutil.rmtree(shared)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert f"cannot write in {lab}" in done.stderr and "owned by root" in done.stderr
    assert "Traceback" not in done.stderr


def test_install_sh_runs_the_same_installer_from_the_bundles_toolkit(linux_bundle, tmp_path):
    prefix = tmp_path / "env"
    done = subprocess.run(["sh", str(linux_bundle.directory / "install.sh"), "--prefix",
                           str(prefix), "--python-exe", _python(), "--dry-run"],
                          env=_env(tmp_path / "home"), capture_output=True, text=True,
                          check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stderr + done.stdout
    toolkit = linux_bundle.directory / "toolkit"
    assert f"lock: {toolkit}/envs/cpu/requirements.txt" in out
    assert f"copy the toolkit (runtime files) from {toolkit}" in out
    assert "dry run: nothing was changed" in out and not prefix.exists()
