"""Writes that never leave half a file and never follow a link kerasup did not create.

- :func:`write_atomic`: a temporary file created exclusively in the same directory, fsynced,
  then renamed over the target. A reader sees the old file or the new one, never a mix; an
  existing file keeps its mode, a new one gets the umask's. It keeps the output rule below
  for every caller: a link is refused, never followed nor replaced; a device is written to.
- :func:`backup_exclusive`: a copy of a regular file beside it under a new, unique name,
  created with ``O_EXCL | O_NOFOLLOW``, so a link planted at a predictable backup name is
  never written through.
- :func:`move_aside`: rename an entry to a unique ``<name>.<tag>-<UTC time>`` beside it
  (rename acts on the entry itself, never on what a link points to).
- :func:`output_kind`, :func:`write_outputs`: the one rule for every file a user names for a
  report (verify's ``--json``/``--junit``, the fleet's outputs): a new or regular file is
  written atomically; a character device, a FIFO, or this process's own descriptor
  (``/dev/stdout``, ``/dev/fd/N``) is written to directly and never replaced; anything else
  (a directory, a block device, a socket, a symbolic link) is refused (:class:`UnsafeTarget`);
  :func:`output_folder_problem` applies it to the files a program writes into an output folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import os
import re
import stat
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from envs.contract.errors import UsageError

__all__ = [
    "UnsafeTarget",
    "backup_exclusive",
    "file_digest",
    "file_sha256",
    "is_regular_file",
    "move_aside",
    "output_folder_problem",
    "output_kind",
    "timestamp",
    "write_atomic",
    "write_outputs",
]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_UTC = dt.timezone.utc  # datetime.UTC is 3.11+; the installer runs on 3.10
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
    """Write ``data`` to ``path`` under the one output rule (:func:`output_kind`), for every
    caller: a new or regular file is replaced atomically (text is written as UTF-8 with
    ``\\n``); a character device, a FIFO or this process's own descriptor is written to,
    never replaced; a symbolic link (never followed, never replaced), a directory, a block
    device or a socket is refused with :class:`UnsafeTarget`.

    ``mode``: the new file's permission bits; default: the existing regular file's, else
    0o666 less the umask. Raises OSError (ENOSPC, EROFS, EACCES, UnsafeTarget...) with
    nothing changed.
    """
    _write_all({path: data}, mode)


def _stage(path: Path, data: str | bytes, mode: int | None) -> Path:
    """A complete, fsynced temporary copy of ``data`` beside ``path``, created exclusively
    under a unique name; the caller renames it over ``path`` (or removes it)."""
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
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


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


class UnsafeTarget(OSError):
    """A path named for output that kerasup must not replace nor write through.

    An OSError (``strerror`` is the reason), so a caller's one-line ``cannot write`` handler
    covers it; ``fix`` says what to name instead."""

    def __init__(self, path: Path, reason: str, fix: str) -> None:
        super().__init__(errno.EPERM, reason, str(path))
        self.fix = fix

    def as_usage_error(self) -> UsageError:
        """The refusal as the one line a command prints (exit 2)."""
        return UsageError(f"{self.filename} {self.strerror}; nothing was written there",
                          fix=self.fix)


_OWN_FD = re.compile(r"/(?:dev/fd|proc/self/fd)/(\d+)")
_STD_FD = {"/dev/stdout": 1, "/dev/stderr": 2}


def _own_descriptor(path: Path) -> int | None:
    """The descriptor number for ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N`` or
    ``/proc/self/fd/N`` (POSIX): what the caller handed this process, e.g. a pipe."""
    if os.name == "nt":
        return None
    text = os.path.normpath(str(path))
    if text in _STD_FD:
        return _STD_FD[text]
    match = _OWN_FD.fullmatch(text)
    return int(match.group(1)) if match else None


def _link_refusal(path: Path) -> UnsafeTarget:
    try:
        target = str(path.readlink())
    except OSError:
        target = "?"
    return UnsafeTarget(path, f"is a symbolic link (to {target}); kerasup never writes through "
                        "a link it did not create", "name the file itself, or a new file")


def output_kind(path: Path) -> str | int:
    """How a report goes to ``path``: ``"file"`` (new or regular: atomically), ``"stream"``
    (a character device or FIFO: written to, never replaced) or a descriptor number (this
    process's own ``/dev/stdout``...). UnsafeTarget for anything else."""
    fd = _own_descriptor(path)
    if fd is not None:
        return fd
    try:
        st = path.lstat()
    except FileNotFoundError:
        return "file"
    except OSError:
        return "file"  # the write itself names the problem (EACCES, ENOTDIR...)
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "stream"
    if stat.S_ISLNK(mode):
        raise _link_refusal(path)
    kind = ("a directory" if stat.S_ISDIR(mode) else
            "a block device (a disk: a report would overwrite it)" if stat.S_ISBLK(mode) else
            "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
    raise UnsafeTarget(path, f"is {kind}", "name a new or regular file")


def _write_stream(path: Path, kind: str | int, payload: bytes) -> None:
    """Write to a device, FIFO or inherited descriptor: no create, no truncate, no rename."""
    if isinstance(kind, int):
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
        fd, close = kind, False
    else:
        flags = os.O_WRONLY | _NOFOLLOW | getattr(os, "O_NOCTTY", 0) | _BINARY
        fd, close = os.open(path, flags), True
    try:
        mode = os.fstat(fd).st_mode
        if close and not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
            raise UnsafeTarget(path, "changed into something that is not a device or FIFO",
                               "name a new or regular file")
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
    finally:
        if close:
            os.close(fd)


def write_outputs(outputs: Mapping[Path, str | bytes]) -> None:
    """Write every output, or no file: regular targets are staged first (complete and
    fsynced), then devices, FIFOs and descriptors are written, then the staged files are
    renamed over their targets. OSError (UnsafeTarget included) leaves no staged file and
    every regular target as it was."""
    _write_all(outputs, None)


def _write_all(outputs: Mapping[Path, str | bytes], mode: int | None) -> None:
    kinds = {path: output_kind(path) for path in outputs}
    payloads = {path: data.encode("utf-8") if isinstance(data, str) else data
                for path, data in outputs.items()}
    staged: dict[Path, Path] = {}
    try:
        for path, payload in payloads.items():
            if kinds[path] == "file":
                staged[path] = _stage(path, payload, mode)
        for path, payload in payloads.items():
            if kinds[path] != "file":
                _write_stream(path, kinds[path], payload)
        for path in staged:
            if output_kind(path) != "file":  # replaced by a device meanwhile (a link raises)
                raise UnsafeTarget(path, "is no longer a regular file",
                                   "name a new or regular file")
    except BaseException:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
        raise
    pending = dict(staged)
    try:
        for path, tmp in staged.items():
            tmp.replace(path)
            del pending[path]
            _fsync_dir(path.parent)
    finally:
        for tmp in pending.values():  # a rename failed: no temporary file stays behind
            tmp.unlink(missing_ok=True)


def output_folder_problem(out: Path, suffixes: tuple[str, ...], *, flag: str) -> str | None:
    """Why the folder ``out`` cannot take a program's files (those ending in ``suffixes``),
    written by libraries that follow links (matplotlib, Keras), or None: ``out`` must be a
    folder or new, and each such file in it new or regular (:func:`output_kind`)."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        return f"{flag} {out}: not a folder (fix: name a new or existing folder)"
    if not out.is_dir():
        return None
    for entry in sorted(out.iterdir()):
        if entry.suffix not in suffixes:
            continue
        try:
            if output_kind(entry) == "file":
                continue
        except UnsafeTarget as exc:
            return f"{flag} {out}: {entry.name} {exc.strerror} (fix: {exc.fix}, or another {flag})"
        return f"{flag} {out}: {entry.name} is a device or FIFO (fix: choose another {flag})"
    return None
