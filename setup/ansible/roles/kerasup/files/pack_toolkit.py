"""Pack the parts of a kerasup checkout a host needs into one tar.gz (runs on the controller).

``python pack_toolkit.py CHECKOUT OUT.tar.gz``. Standard library only, so any controller
(Linux or macOS) can run it with Ansible's own Python. Files keep their modification times,
so ``ansible.builtin.unarchive`` finds an unchanged toolkit unchanged on the next run; owners
are root and modes are made world-readable, because every account on a lab machine uses it.

Only what runs on a host travels: the admin's Ansible folder (inventory, group_vars, fetched
reports), tests and caches stay on the controller. Links are not packed. The script prints
the toolkit's content digest (names, modes and file contents, not times), which the role
keeps on the host to know, also in check mode, whether the toolkit would change.
"""

from __future__ import annotations

import hashlib
import sys
import tarfile
from pathlib import Path

# What the installer and verify read on the host (the repository root is their parent).
PARTS = ("setup", "envs", "verify")
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", "reports", "tests", ".nox",
             ".venv", "group_vars", "host_vars"}
# The controller's own part of the checkout (the playbook, inventory, reports): never sent.
# TODO(merge): the installer's shared toolkit payload definition replaces this selection.
SKIP_TREES = ("setup/ansible",)


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    parts = Path(info.name).parts
    if (SKIP_DIRS.intersection(parts) or info.name.endswith((".pyc", ".pyo"))
            or info.issym() or info.islnk()
            or any(info.name == t or info.name.startswith(t + "/") for t in SKIP_TREES)):
        return None
    info.mtime = int(info.mtime)  # whole seconds: no pax header, same on every run
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    executable = info.isdir() or info.mode & 0o100
    info.mode = 0o755 if executable else 0o644
    return info


def pack(checkout: Path, out: Path) -> str:
    """Write ``out`` from ``checkout`` and return its content digest; a SystemExit with one
    line when it is not a checkout."""
    if not (checkout / "setup" / "bootstrap.py").is_file():
        raise SystemExit(f"pack_toolkit: {checkout} is not a kerasup checkout (no "
                         "setup/bootstrap.py); fix: set kerasup_checkout_dir")
    digest = hashlib.sha256()
    with tarfile.open(out, "w:gz") as tar:
        for part in PARTS:
            tar.add(checkout / part, arcname=part, filter=_normalise)
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            digest.update(f"{member.name}\0{member.mode:o}\0".encode())
            if member.isfile():
                digest.update(hashlib.sha256((checkout / member.name).read_bytes()).digest())
    return digest.hexdigest()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: pack_toolkit.py CHECKOUT OUT.tar.gz")
    print(pack(Path(sys.argv[1]).resolve(), Path(sys.argv[2])))
