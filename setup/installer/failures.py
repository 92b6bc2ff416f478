"""Turn a failed uv, pip or micromamba run into one line the user can act on.

Each cause has its own fix; none of them claims that running again repairs it, because
for a full disk, a tampered package or a corrupt lock it would not.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from envs.contract.errors import CannotProceed, KerasupError, UsageError
from setup.installer.netdiag import diagnose, mask_urls

__all__ = ["error_part", "explain", "fullest_disk", "write_error", "write_log"]

_NO_SPACE = re.compile(r"(No space left on device|ENOSPC|os error 28|disk quota exceeded)",
                       re.IGNORECASE)
_HASH = re.compile(r"(hash mismatch|hashes do not match|does not match the expected hash|"
                   r"THESE PACKAGES DO NOT MATCH THE HASHES)", re.IGNORECASE)
_NOT_CACHED = re.compile(r"(Network connectivity is disabled|not found in the cache|"
                         r"No matching distribution found)", re.IGNORECASE)
_FETCH = re.compile(r"(Failed to fetch|Failed to download|error sending request|"
                    r"Could not connect|ConnectError|NewConnectionError|Max retries exceeded)",
                    re.IGNORECASE)
_ERROR_START = re.compile(r"^\s*(error:|ERROR:|×|Traceback)")


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


def error_part(output: str) -> str:
    """The output from its first error line on (progress lines above it hold sizes and
    names that look like HTTP statuses)."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if _ERROR_START.match(line)), 0)
    return "\n".join(lines[start:])


def write_log(log: Path, what: str, output: str) -> str:
    """Append ``output`` (URLs masked) to ``log``; the clause that points at it ("" when the
    log cannot be written: the one-line error still says the cause)."""
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as f:
            f.write(f"# {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {what}\n"
                    f"{mask_urls(output)}\n")
    except OSError:
        return ""
    return f"; the full error: {log}"


def _network(output: str, what: str, offline: bool, cache: str,
             environ: Mapping[str, str]) -> CannotProceed | None:
    from setup.installer.trust import net_timeout

    proxy = next((environ[k] for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
                  if environ.get(k)), None)
    no_proxy = environ.get("NO_PROXY") or environ.get("no_proxy")
    found = diagnose(error_part(output), proxy=proxy, no_proxy=no_proxy,
                     timeout=net_timeout(environ))
    if found is not None and not (offline and found.kind == "no-network"):
        return CannotProceed(f"{what} failed: {found.cause}", fix=found.fix)
    if offline or _NOT_CACHED.search(output):
        return CannotProceed(f"{what} failed: offline, and the packages are not in {cache}",
                             fix="run once with network access; offline mode installs only "
                                 "what is already cached")
    if _FETCH.search(output):
        return CannotProceed(f"{what} failed: a download failed for a cause kerasup does "
                             "not recognise", fix="read the full error")
    return None


def explain(output: str, *, what: str, offline: bool, cache: str = "uv's cache",
            log: Path | None = None, environ: Mapping[str, str] | None = None,
            where: Sequence[Path] = (), bundle: Path | None = None) -> KerasupError:
    """The error for a failed step, from the tail of its output (written to ``log``).
    ``environ``: the child's (its proxy and timeout are named); ``where``: the folders the
    step writes (the prefix, uv's cache), to name the full disk; ``bundle``: the bundle an
    install reads from (its causes are the bundle's, never the network's)."""
    pointer = write_log(log, what, output) if log is not None else ""
    found = _explain(output, what=what, offline=offline, cache=cache, environ=environ or {},
                     where=where, bundle=bundle)
    if pointer:
        found.fix = f"{found.fix}{pointer}"
    return found


def _explain(output: str, *, what: str, offline: bool, cache: str,
             environ: Mapping[str, str], where: Sequence[Path],
             bundle: Path | None) -> KerasupError:
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
    network = _network(output, what, offline, cache, environ)
    if network is not None:
        return network
    return CannotProceed(f"{what} failed (its output is above)",
                         fix="read the error above; the environment is left incomplete and "
                             "not recorded, so it is rebuilt the next time setup runs")


def python_download_failed(output: str, plan: Any, environ: Mapping[str, str]) -> CannotProceed:
    """uv could not download a Python: the host it tried, the cause, and the three ways out
    (an OS Python, --python PATH, UV_PYTHON_INSTALL_MIRROR); uv's output goes to the log."""
    from envs.contract.facts import DEFAULT_PYTHON
    from setup.installer.pythons import download_host, install_ways_out
    from setup.installer.uvtool import user_cache

    host = download_host(environ)
    asked = None if plan.python.version == DEFAULT_PYTHON else plan.python.version
    log = user_cache(plan.target, environ) / "install.log"
    where = write_log(log, "installing a uv-managed Python", output)
    found = diagnose(error_part(output), url=f"https://{host}/")
    cause = found.cause if found else "see the log"
    return CannotProceed(f"Python {plan.python.version} is not installed, and downloading it "
                         f"from {host} failed: {cause}",
                         fix=install_ways_out(plan.target, asked) + where)


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
    if _FETCH.search(output) or _NOT_CACHED.search(output):
        return CannotProceed(f"{what} failed: the bundle {bundle} lacks a wheel the lock "
                             "needs on this machine", fix="rebuild the bundle with "
                             "--make-bundle for this --platform and --python")
    return CannotProceed(f"{what} failed (its output is above)",
                         fix="read the error above; the environment is left incomplete and "
                             "not recorded, so it is rebuilt the next time setup runs")
