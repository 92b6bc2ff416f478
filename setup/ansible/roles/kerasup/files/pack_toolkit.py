"""Pack the toolkit payload of a kerasup checkout (its runtime files: no tests, no Ansible
role, no reports) into one tar.gz (runs on the controller).

``python pack_toolkit.py CHECKOUT OUT.tar.gz``. Standard library only, so any controller
(Linux or macOS) can run it with Ansible's own Python. Files keep their modification times,
so ``ansible.builtin.unarchive`` finds an unchanged toolkit unchanged on the next run; owners
are root and modes are made world-readable, because every account on a lab machine uses it.
"""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path


def _payload(checkout: Path) -> list[str]:
    """The toolkit that runs on a target machine, as the checkout itself defines it
    (setup/installer/payload.py, shared with the offline bundles)."""
    sys.path.insert(0, str(checkout))
    try:
        from setup.installer import payload
    finally:
        sys.path.remove(str(checkout))
    return payload.files(checkout)


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = int(info.mtime)  # whole seconds: no pax header, same on every run
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    executable = info.isdir() or info.mode & 0o100
    info.mode = 0o755 if executable else 0o644
    return info


def pack(checkout: Path, out: Path) -> None:
    """Write ``out`` from ``checkout``; a SystemExit with one line when it is not a checkout."""
    if not (checkout / "setup" / "bootstrap.py").is_file():
        raise SystemExit(f"pack_toolkit: {checkout} is not a kerasup checkout (no "
                         "setup/bootstrap.py); fix: set kerasup_checkout_dir")
    with tarfile.open(out, "w:gz") as tar:
        for rel in _payload(checkout):
            tar.add(checkout / rel, arcname=rel, recursive=False, filter=_normalise)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: pack_toolkit.py CHECKOUT OUT.tar.gz")
    pack(Path(sys.argv[1]).resolve(), Path(sys.argv[2]))
