"""Turn a failed uv, pip or micromamba run into one line the user can act on.

Each cause has its own fix; none of them claims that running again repairs it, because
for a full disk, a tampered package or a corrupt lock it would not.
"""

from __future__ import annotations

import re

from envs.contract.errors import CannotProceed

__all__ = ["explain"]

_NO_SPACE = re.compile(r"(No space left on device|ENOSPC|os error 28|disk quota exceeded)",
                       re.IGNORECASE)
_HASH = re.compile(r"(hash mismatch|hashes do not match|does not match the expected hash|"
                   r"THESE PACKAGES DO NOT MATCH THE HASHES)", re.IGNORECASE)
_NETWORK = re.compile(
    r"(Network connectivity is disabled|Failed to fetch|error sending request|dns error|"
    r"failed to lookup address|Could not connect|Connection refused|ConnectError|"
    r"NewConnectionError|Max retries exceeded|Temporary failure in name resolution|"
    r"timed out|No matching distribution found|not found in the cache)", re.IGNORECASE)


def explain(output: str, *, what: str, offline: bool, cache: str = "uv's cache") -> CannotProceed:
    """The error for a failed step, from the tail of its output."""
    if _NO_SPACE.search(output):
        return CannotProceed(f"{what} failed: the disk is full (no space left on device)",
                             fix="free space on that disk (or set UV_CACHE_DIR / --prefix to "
                                 "another one), then run setup again")
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
