"""Turn a failed uv, pip or micromamba run into one line the user can act on.

Each cause has its own fix; none of them claims that running again repairs it, because
for a full disk, a tampered package or a corrupt lock it would not.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from envs.contract.errors import CannotProceed, KerasupError, UsageError

__all__ = ["explain", "fullest_disk", "write_error"]

_NO_SPACE = re.compile(r"(No space left on device|ENOSPC|os error 28|disk quota exceeded)",
                       re.IGNORECASE)
_HASH = re.compile(r"(hash mismatch|hashes do not match|does not match the expected hash|"
                   r"THESE PACKAGES DO NOT MATCH THE HASHES)", re.IGNORECASE)
_NETWORK = re.compile(
    r"(Network connectivity is disabled|Failed to fetch|error sending request|dns error|"
    r"failed to lookup address|Could not connect|Connection refused|ConnectError|"
    r"NewConnectionError|Max retries exceeded|Temporary failure in name resolution|"
    r"timed out|No matching distribution found|not found in the cache)", re.IGNORECASE)


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _mount_point(path: Path) -> Path:
    path = _existing(path).resolve()
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def fullest_disk(paths: Sequence[Path]) -> str:
    """The disk (mount point) with the least free space among those holding ``paths``,
    with what is free there: "/mnt/lab (0 MB free, holds /mnt/lab/env)"."""
    found = []
    for path in paths:
        try:
            free = shutil.disk_usage(_existing(path)).free
        except OSError:
            continue
        found.append((free, path))
    if not found:
        return "the disk"
    free, path = min(found, key=lambda fp: fp[0])
    return f"the disk mounted at {_mount_point(path)}, {free // 1_000_000} MB free, holds {path}"


def write_error(path: Path, exc: OSError) -> CannotProceed:
    """One line for a write of the installer's own that failed (full disk, permissions)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return CannotProceed(f"cannot write {path}: the disk is full ({fullest_disk([path])})",
                             fix="free space on that disk (or choose a --prefix on another "
                                 "one), then run setup again")
    return CannotProceed(f"cannot write {path}: {exc.strerror or exc}",
                         fix="choose a --prefix this account can write, then run setup again")


def explain(output: str, *, what: str, offline: bool, cache: str = "uv's cache",
            where: Sequence[Path] = (), bundle: Path | None = None) -> KerasupError:
    """The error for a failed step, from the tail of its output. ``where``: the folders the
    step writes (the prefix, uv's cache), to name the full disk; ``bundle``: the bundle an
    install reads from (its causes are the bundle's, never the network's)."""
    if _NO_SPACE.search(output):
        disk = f": {fullest_disk(where)}" if where else ""
        return CannotProceed(f"{what} failed: the disk is full (no space left on device){disk}",
                             fix="free space on that disk (or set UV_CACHE_DIR / --prefix to "
                                 "another one), then run setup again")
    if bundle is not None:
        return _bundle_failure(output, what, bundle)
    if _HASH.search(output):
        return CannotProceed(f"{what} failed: a package does not match the lock's hash: a "
                             "mirror or proxy altered it, or the lock is corrupt",
                             fix="install from the real index (check PIP_INDEX_URL, "
                                 "UV_INDEX_URL and your proxy), or restore the lock with "
                                 "`git checkout -- envs`")
    if offline or _NETWORK.search(output):
        return CannotProceed(f"{what} failed: no network (or proxy), and the packages are "
                             f"not in {cache}",
                             fix="connect (set HTTPS_PROXY behind a proxy) and run again; "
                                 "offline mode installs only what is already cached")
    return CannotProceed(f"{what} failed (its output is above)",
                         fix="read the error above; the environment is left incomplete and "
                             "not recorded, so it is rebuilt the next time setup runs")


_WHEEL = re.compile(r"([A-Za-z0-9_.+!-]+\.whl)")
_DAMAGED = re.compile(r"(Failed to extract|decompression error|invalid zip|not a zip)",
                      re.IGNORECASE)


def _bundle_failure(output: str, what: str, bundle: Path) -> KerasupError:
    """A failed install from a bundle: uv read each wheel once and hashed it against the
    lock, so a wheel it refused is a damaged or altered bundle file (exit 2, named)."""
    if _HASH.search(output) or _DAMAGED.search(output):
        wheel = _WHEEL.search(output)
        name = f"wheels/{wheel.group(1)}" if wheel else "a wheel"
        return UsageError(f"bundle file {name} was altered or damaged (it does not match the "
                          f"lock's sha256, or does not unpack): {bundle} cannot be installed",
                          fix="copy the bundle again from its source, or rebuild it with "
                              "--make-bundle")
    if _NETWORK.search(output):
        return CannotProceed(f"{what} failed: the bundle {bundle} lacks a wheel the lock "
                             "needs on this machine", fix="rebuild the bundle with "
                             "--make-bundle for this --platform and --python")
    return CannotProceed(f"{what} failed (its output is above)",
                         fix="read the error above; the environment is left incomplete and "
                             "not recorded, so it is rebuilt the next time setup runs")
