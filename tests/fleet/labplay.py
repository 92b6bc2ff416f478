"""The SSH lab the playbook tests run (tests/fleet/test_playbook_ssh.py): its hosts, their
inventory, and the plays in order. See that module's docstring for what each host is."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from envs.contract.fileio import file_sha256
from envs.lock.pip_lock import uv_bin
from setup.installer.bundle.build import BundleResult
from setup.installer.bundle.manifest import MANIFEST
from tests.fleet.sshlab import ANSIBLE_DIR, Keys, LabHost, PlayRun, run_playbook

ADDRESSES = {"lab-ok": "127.0.0.2", "lab-theano1": "127.0.0.3", "lab-theano2": "127.0.0.4",
             "lab-disk": "127.0.0.5", "lab-new": "127.0.0.7"}
NODES = {"lab-ok": "pc01"}  # the machine's own name, where it differs from the inventory's
UMASKS = {"lab-ok": "000", "lab-theano1": "077"}  # the admin's umask there (default 022)
STUDENT = ("lab-theano1", "wtlab-student")
# A credential in the installer's environment, as kerasup_index_url's token travels
# (vars/main.yml: kerasup__env), on the student's host with a re-verify schedule.
SECRET = ("WTLAB_INDEX_TOKEN", "wtlab-token-5f3c9a")
DOWN = ("lab-down", "127.0.0.6")
THEANO = ("lab-theano1", "lab-theano2")
# Installs from the suite's shared linux bundle (kerasup_source=bundle, pinned by its
# MANIFEST.json sha256) with the bundle's Python, shown in its namespace (sshlab).
BUNDLE_HOST = "lab-ok"
# A new machine, only ever run in check mode: a bundle host too (the role's check-mode path
# there says it would copy the toolkit and the bundle).
NEW = "lab-new"
BUNDLE_HOSTS = (BUNDLE_HOST, NEW)
BUNDLE_ON_HOST = "/opt/kerasup/toolkit-bundle/kerasup-bundle.tar.gz"
HEALTHY = ("lab-ok", *THEANO)
PREFIX = "/opt/kerasup/cpu"
# verify without the TensorFlow import and the MNIST model (~30 s a host on 2 shared cores).
VERIFY_ARGS = ["--only", "python_platform", "keras_json", "packages"]


def admin_python(folder: Path, umask: str) -> str:
    """The host's Python for Ansible, run under the admin's ``umask`` (as pam_umask or a
    profile would set it; sshd itself never starts a session looser than 022)."""
    wrapper = folder / "admin-python"
    wrapper.write_text(f'#!/bin/sh\numask {umask}\nexec /usr/bin/python3 "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


@dataclass(frozen=True)
class LabBundle:
    """The bundle the bundle host installs from: the archive, its pin, and the Python (an
    interpreter of this machine) it was made for."""

    archive: Path
    sha256: str
    python: Path

    @property
    def python_prefix(self) -> Path | None:
        """Its installation, where the lab hosts' own /root, /home or /opt would hide it."""
        prefix = self.python.parents[1]
        return prefix if prefix.parts[1:2] in (("root",), ("home",), ("opt",)) else None


def lab_bundle(built: BundleResult) -> LabBundle | None:
    """The bundle ``built`` (tests/conftest.py linux_bundle) with an interpreter of the Python
    it was made for from this machine (the running one's base, else pyenv's), or None."""
    [(_, minor)] = built.manifest.targets
    found = [Path(sys.base_prefix) / "bin" / f"python{minor}"] if sys.version_info[:2] == tuple(
        map(int, minor.split("."))) else []
    found += sorted((Path.home() / ".pyenv" / "versions").glob(f"{minor}.*/bin/python{minor}"))
    for python in found:
        if python.is_file() and built.archive is not None:
            return LabBundle(built.archive, file_sha256(built.directory / MANIFEST),
                             python.resolve())
    return None


def host_vars(root: Path, name: str, bundle: LabBundle) -> dict[str, object]:
    found: dict[str, object] = {
        "kerasup_environment": {
            # uv's warm cache, which each host's /opt shows (sshlab's overlay), and the pinned
            # uv: installs take seconds and hard-link as on one disk.
            "UV_CACHE_DIR": "/opt",
            "KERASUP_UV": uv_bin(),
        },
    }
    if name == STUDENT[0]:
        found["kerasup_reverify"] = "cron"
        found["kerasup_environment"][SECRET[0]] = SECRET[1]  # type: ignore[index]
    if name in BUNDLE_HOSTS:
        found.update(kerasup_source="bundle", kerasup_bundle_file=str(bundle.archive),
                     kerasup_bundle_sha256=bundle.sha256,
                     kerasup_installer_python=str(bundle.python))
    if name in UMASKS:
        found["ansible_python_interpreter"] = admin_python(root / "hosts" / name,
                                                            UMASKS[name])
    return found


def write_inventory(root: Path, folder: Path, keys: Keys, bundle: LabBundle) -> Path:
    hosts = {name: {**keys.host_vars(address), **host_vars(root, name, bundle)}
             for name, address in ADDRESSES.items()}
    hosts[DOWN[0]] = keys.host_vars(DOWN[1])
    common = {"kerasup_become": False, "kerasup_manage_system_packages": False,
              "kerasup_reports_dir": str(folder / "reports"),
              "kerasup_verify_args": VERIFY_ARGS,
              # Behind a TLS-inspecting proxy this machine's CA bundle is what uv must trust.
              "kerasup_ca_file": os.environ.get("SSL_CERT_FILE", "")}
    path = folder / "inventory.yml"
    path.write_text(yaml.safe_dump({"lab": {"hosts": hosts, "vars": common}}))
    return path


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file's size, mtime and mode (links: their target) that a host changed where the
    role works (its overlays' upper layers, /home, root's ~/.keras, the small /opt), to prove
    nothing changed. uv's cache in /opt and Ansible's own files in /root are left out."""
    seen: dict[str, tuple] = {}
    tops = [*root.glob("hosts/*/opt/upper/kerasup"), *root.glob("hosts/*/etc/upper"),
            *root.glob("hosts/*/usr-local/upper"), *root.glob("hosts/*/home"),
            *root.glob("hosts/*/root/upper/.keras"), *root.glob("hosts/*/small-opt")]
    for top in tops:
        for folder, dirs, files in os.walk(top):
            for name in dirs + files:
                path = Path(folder, name)
                st = path.lstat()
                seen[str(path)] = (str(path.readlink()),) if path.is_symlink() else (
                    st.st_size, st.st_mtime_ns, st.st_mode)
    return seen


THEANO_JSON = json.dumps({"floatx": "float32", "epsilon": 1e-07, "backend": "theano",
                      "image_data_format": "channels_last"})


def break_keras_json(host: LabHost, user: str | None = None) -> None:
    done = host.run("mkdir -p ~/.keras && cat > ~/.keras/keras.json", user=user, stdin=THEANO_JSON)
    assert done.returncode == 0, done.stderr


def add_student(host: LabHost, name: str) -> None:
    """A student account on that host only (its own /etc and /home)."""
    # This machine's /etc shows through: another account being added here at the same
    # moment holds its passwd lock for a while ("cannot lock"), so try again.
    for _ in range(30):
        done = host.run(f"useradd --create-home --shell /bin/bash {name}")
        if done.returncode == 0 or "cannot lock" not in done.stderr:
            break
        time.sleep(1)
    assert done.returncode == 0, done.stderr
    break_keras_json(host, name)


# As the student, in a login shell: nothing activated by hand.
STUDENT_RUNS = {
    "which": "command -v python jupyter",
    "kernels": "jupyter kernelspec list",
    # every file a student can read where the role writes, the schedule's included
    "secret": f"grep -rl {SECRET[1]} /etc /usr/local/share/jupyter /opt/kerasup/toolkit "
              "/opt/kerasup/cpu/share /opt/kerasup/cpu/bin; echo rc=$?",
    "verify": "python -m verify --only python_platform keras_json packages --json ~/v.json"
              " >/dev/null; echo rc=$?; cat ~/v.json",
}


@contextlib.contextmanager
def folder_in_ansible_dir() -> Iterator[Path]:
    """The lab's inventory and reports folder inside setup/ansible/, as the README has
    them (never packed for the hosts); removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="lab-test-", dir=ANSIBLE_DIR))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# The hosts each play runs on (--limit, as an admin narrows a run): a host only where it takes
# a path through the role that no other host there takes (each host-play costs ~30 Ansible
# tasks of controller and host CPU). lab-theano2 is lab-theano1 without the admin's umask,
# the schedule and the student: installed by the first run, it is the second host of the
# theano group in the re-verify and the fleet report. lab-disk fails the same way in every
# full run: the first and the second (which also changes nothing there) show it. One check
# run covers a new host (lab-new), an installed one (lab-ok) and a broken one (lab-theano1).
PLAYS: dict[str, tuple[str, ...]] = {
    "first": (*HEALTHY, "lab-disk", DOWN[0]),
    "second": ("lab-ok", "lab-theano1", "lab-disk"),
    "check": (NEW, "lab-ok", "lab-theano1"),  # lab-theano1's keras.json broken, lab-ok's not
    "reverify": ("lab-ok", *THEANO, "lab-disk"),
}


def play_all(root: Path, hosts: dict[str, LabHost], inventory: Path, env: dict[str, str],
          ) -> tuple[dict[str, PlayRun], dict[str, str], tuple]:
    def play(name: str, *args: str) -> PlayRun:
        return run_playbook(inventory, env, "--limit", ",".join(PLAYS[name]), *args,
                            log=root / f"play-{name}.log")

    runs = {"first": play("first")}
    reports = inventory.parent / "reports"
    first = {p.name: p.read_text() for p in reports.glob("*")} if reports.is_dir() else {}
    runs["second"] = play("second")
    for name in THEANO:
        break_keras_json(hosts[name])
    before = snapshot(root)
    runs["check"] = play("check", "--check")
    after = snapshot(root)
    runs["reverify"] = play("reverify", "--tags", "verify,report")
    return runs, first, (before, after)
