"""Writes that never leave half a file and never follow a link kerasup did not create.

- :func:`write_atomic`: a temporary file created exclusively in the same directory, fsynced,
  then renamed over the target. A reader sees the old file or the new one, never a mix; an
  existing file keeps its mode, a new one gets the umask's.
- :func:`backup_exclusive`: a copy of a regular file beside it under a new, unique name,
  created with ``O_EXCL | O_NOFOLLOW``, so a link planted at a predictable backup name is
  never written through.
- :func:`move_aside`: rename an entry to a unique ``<name>.<tag>-<UTC time>`` beside it
  (rename acts on the entry itself, never on what a link points to).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
import tempfile
from pathlib import Path

__all__ = [
    "backup_exclusive",
    "file_digest",
    "file_sha256",
    "is_regular_file",
    "move_aside",
    "timestamp",
    "write_atomic",
]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_UTC = dt.timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+; the installer runs on 3.10)
_BINARY = getattr(os, "O_BINARY", 0)


def timestamp(now: dt.datetime | None = None) -> str:
    """UTC time as used in backup names: 20261129T031500Z."""
    now = now or dt.datetime.now(_UTC)
    return now.astimezone(_UTC).strftime("%Y%m%dT%H%M%SZ")


def file_digest(path: Path) -> bytes:
    """The sha256 of a file's bytes, read in chunks (wheels and locks can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.digest()


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes (what locks, install records and manifests carry)."""
    return file_digest(path).hex()


def is_regular_file(path: Path) -> bool:
    """True for a regular file that is not a symbolic link."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: str | bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` atomically (text is written as UTF-8 with ``\\n``).

    ``mode``: the new file's permission bits; default: the existing regular file's, else
    0o666 less the umask. Raises OSError (ENOSPC, EROFS, EACCES...) with nothing changed.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if mode is None:
        try:
            st = path.lstat()
            mode = stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else None
        except OSError:
            mode = None
    if mode is None:
        mode = 0o666 & ~_umask()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (POSIX); Windows cannot open a directory, and needs not."""
    if os.name == "nt":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _unique(path: Path, tag: str, now: dt.datetime | None) -> list[Path]:
    base = f"{path.name}.{tag}-{timestamp(now)}"
    return [path.with_name(base), *(path.with_name(f"{base}-{n}") for n in range(1, 1000))]


def backup_exclusive(path: Path, now: dt.datetime | None = None) -> Path:
    """Copy the regular file ``path`` to a new ``<name>.bak-<UTC time>[-N]`` beside it.

    The copy keeps the original's bytes and mode. Neither the source nor the backup is
    reached through a symbolic link. Raises OSError when ``path`` is not a regular file or
    no backup can be written (the original is untouched either way).
    """
    src = os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY)
    try:
        st = os.fstat(src)
        if not stat.S_ISREG(st.st_mode):
            raise IsADirectoryError(f"{path} is not a regular file")
        for candidate in _unique(path, "bak", now):
            try:
                dst = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY,
                              0o600)
            except FileExistsError:
                continue
            try:
                _copy_fd(src, dst)
                if hasattr(os, "fchmod"):
                    os.fchmod(dst, stat.S_IMODE(st.st_mode))
            except BaseException:
                os.close(dst)
                candidate.unlink(missing_ok=True)
                raise
            os.close(dst)
            return candidate
        raise FileExistsError(f"no free backup name beside {path}")
    finally:
        os.close(src)


def _copy_fd(src: int, dst: int) -> None:
    while chunk := os.read(src, 1 << 20):
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst, view):]
    os.fsync(dst)


def move_aside(path: Path, tag: str = "old", now: dt.datetime | None = None) -> Path:
    """Rename ``path`` (any kind of entry) to a free ``<name>.<tag>-<UTC time>[-N]`` beside it."""
    for candidate in _unique(path, tag, now):
        if candidate.exists() or candidate.is_symlink():
            continue
        path.rename(candidate)
        return candidate
    raise FileExistsError(f"no free name beside {path} to move it aside")
