"""Whether a folder (or the place it would be created) can hold an environment: this
account can write there, and its file system lets programs run.

Setup refuses such a prefix before installing; verify names it before its checks, instead
of three checks failing with "reinstall" (a reinstall onto a ``noexec`` mount fails again).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["account", "mount_point", "nearest_existing", "noexec_mount", "unwritable"]

_NOEXEC = getattr(os, "ST_NOEXEC", 0)  # Linux; elsewhere nothing is reported


def nearest_existing(path: Path) -> Path:
    """``path`` itself when this account can see it, else its closest parent folder that it
    can see (a folder it may not enter hides everything below it)."""
    path = path.absolute()
    while path != path.parent:
        try:
            path.stat()
        except OSError:  # absent, or below a folder this account cannot enter
            path = path.parent
            continue
        return path
    return path


def _mountinfo_points() -> list[Path]:
    """Mount points from Linux's /proc/self/mountinfo (bind mounts included); [] elsewhere."""
    try:
        text = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    points = []
    for line in text.splitlines():
        fields = line.split(" ")
        if len(fields) > 4:
            raw = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            points.append(Path(raw))
    return points


def mount_point(path: Path) -> Path:
    """The folder the file system holding ``path`` is mounted at."""
    path = Path(os.path.realpath(nearest_existing(path)))
    under = [m for m in _mountinfo_points() if path == m or m in path.parents]
    if under:
        return max(under, key=lambda m: len(m.parts))
    dev = path.stat().st_dev
    while path != path.parent and path.parent.stat().st_dev == dev:
        path = path.parent
    return path


def noexec_mount(path: Path) -> Path | None:
    """The mount point when ``path`` lies on a file system mounted ``noexec``; else None."""
    if not _NOEXEC:
        return None
    try:
        if os.statvfs(nearest_existing(path)).f_flag & _NOEXEC:
            return mount_point(path)
    except OSError:
        return None
    return None


def unwritable(path: Path) -> Path | None:
    """The existing folder that keeps this account from creating or changing ``path``
    (``path`` itself or its closest existing parent); None when it can."""
    existing = nearest_existing(path)
    return None if os.access(existing, os.W_OK | os.X_OK) else existing


def account() -> str:
    """This account's name for a message (its uid when it has no name)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "this account"
