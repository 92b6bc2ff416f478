"""One setup at a time per prefix: an exclusive, non-blocking lock on
``Layout(prefix).setup_lock``, holding the owner's PID so a second setup can name it.

POSIX uses ``fcntl.flock`` (released by the kernel when the process dies, so a crashed
setup never leaves a stale lock); Windows uses ``msvcrt.locking`` on the file's first byte.

The lock file is the owner's alone (0600): on a shared prefix (a lab's /opt/kerasup) another
account that could open it could also hold the lock and block root's setup indefinitely. For
the same reason uv's own lock on the environment (``<prefix>/.lock``, which uv makes 0666)
is made the owner's alone when setup lets go of the prefix.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from envs.contract.errors import CannotProceed
from envs.contract.layout import Layout

__all__ = ["hold"]


def _try_lock(fd: int) -> bool:
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _holder(path: Path) -> str:
    with contextlib.suppress(OSError, UnicodeDecodeError):
        pid = path.read_text(encoding="utf-8").strip()
        if pid.isdigit():
            return f"PID {pid}"
    return "another process"


def _owner_only(fd: int) -> None:
    """Close a lock file to other accounts (from their next open on), when it is ours."""
    if os.name == "nt":
        return
    info = os.fstat(fd)
    if info.st_mode & 0o077 and info.st_uid == os.geteuid():
        os.fchmod(fd, 0o600)


def _close_uv_lock(prefix: Path) -> None:
    """uv's lock on the environment, the owner's alone (never following a link)."""
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        fd = os.open(Layout(prefix).uv_lock, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                _owner_only(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def hold(prefix: Path) -> Iterator[Path]:
    """Hold the prefix's setup lock for the ``with`` block; CannotProceed if it is taken."""
    path = Layout(prefix).setup_lock
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        _owner_only(fd)
        if not _try_lock(fd):
            raise CannotProceed(f"another kerasup setup ({_holder(path)}) is working on {prefix}",
                                fix="wait for it to finish (or stop it), then run setup again")
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())
        try:
            yield path
        finally:
            _close_uv_lock(prefix)
    finally:
        os.close(fd)  # closing releases the lock
