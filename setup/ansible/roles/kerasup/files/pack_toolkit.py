"""Pack the toolkit payload of a kerasup checkout into one tar.gz (runs on the controller).

``python pack_toolkit.py CHECKOUT OUT.tar.gz``. Standard library only, so any controller
(Linux or macOS) can run it with Ansible's own Python. Files keep their modification times,
so ``ansible.builtin.unarchive`` finds an unchanged toolkit unchanged on the next run; owners
are root and modes are made world-readable (folders included, so none is left to the host's
umask), because every account on a lab machine uses it.

Only what runs on a host travels: the checkout's own payload definition
(``setup/installer/payload.py``, shared with the offline bundles) leaves the admin's Ansible
folder (inventory, group_vars, fetched reports), tests and caches on the controller. Links are
not packed. The script prints the toolkit's content digest (names, modes and file contents,
not times), which the role keeps on the host to know, also in check mode, whether the toolkit
would change.
"""

from __future__ import annotations

import hashlib
import sys
import tarfile
from pathlib import Path


def _payload(checkout: Path) -> list[str]:
    """The toolkit that runs on a target machine, as the checkout itself defines it."""
    sys.path.insert(0, str(checkout))
    try:
        from setup.installer import payload
    finally:
        sys.path.remove(str(checkout))
    return payload.files(checkout)


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if info.issym() or info.islnk():
        return None
    info.mtime = int(info.mtime)  # whole seconds: no pax header, same on every run
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    executable = info.isdir() or info.mode & 0o100
    info.mode = 0o755 if executable else 0o644
    return info


def pack(checkout: Path, out: Path) -> str:
    """Write ``out`` from ``checkout``; its content digest. A SystemExit with one line when
    ``checkout`` is not a checkout."""
    if not (checkout / "setup" / "bootstrap.py").is_file():
        raise SystemExit(f"pack_toolkit: {checkout} is not a kerasup checkout (no "
                         "setup/bootstrap.py); fix: set kerasup_checkout_dir")
    digest = hashlib.sha256()
    files = _payload(checkout)
    # Every folder is a member too (0755): tar would otherwise make the missing ones under the
    # host session's umask (0777 under umask 000, unreadable to students under 077).
    folders = sorted({str(up) for rel in files for up in Path(rel).parents if str(up) != "."})
    with tarfile.open(out, "w:gz") as tar:
        for rel in folders + files:
            tar.add(checkout / rel, arcname=rel, recursive=False, filter=_normalise)
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            digest.update(f"{member.name}\0{member.mode:o}\0".encode())
            if member.isfile():
                digest.update(hashlib.sha256((checkout / member.name).read_bytes()).digest())
    return digest.hexdigest()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: pack_toolkit.py CHECKOUT OUT.tar.gz")
    print(pack(Path(sys.argv[1]).resolve(), Path(sys.argv[2])))
