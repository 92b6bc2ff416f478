"""Turn a failed uv, pip or micromamba run into one line the user can act on.

Each cause has its own fix; none of them claims that running again repairs it, because
for a full disk, a tampered package or a corrupt lock it would not.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from envs.contract.errors import CannotProceed
from setup.installer.netdiag import diagnose, mask_urls

__all__ = ["error_part", "explain", "write_log"]

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
            log: Path | None = None, environ: Mapping[str, str] | None = None) -> CannotProceed:
    """The error for a failed step, from the tail of its output (written to ``log``);
    ``environ``: the child's (its proxy and timeout are named)."""
    where = write_log(log, what, output) if log is not None else ""
    found = _explain(output, what=what, offline=offline, cache=cache, environ=environ or {})
    if where:
        found.fix = f"{found.fix}{where}"
    return found


def _explain(output: str, *, what: str, offline: bool, cache: str,
             environ: Mapping[str, str]) -> CannotProceed:
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
