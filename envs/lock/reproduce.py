"""``--reproduce`` and ``--drift``: the lock step run again, written nowhere in the checkout.

* reproduce: the real lock step (uv's resolver, the conda solve, the SBOM) against the
  recorded index snapshot, served on loopback by the replay proxy, into a scratch folder; every
  file is compared byte for byte with the committed one. Needs no network.
* drift: the pip resolution against the live index (or ``--index-url``) as it stands now; what
  a relock would change is reported per variant. A report, never a failure of the locks.

Exit codes (envs.contract.errors.ExitCode): 0 identical / no drift, 1 differs / drift found,
3 cannot proceed (no snapshot, the index unreachable).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from envs.contract.errors import ExitCode, LockError
from envs.contract.lockheader import KEY_EXCLUDE_NEWER
from envs.lock.conda_solve import CondaSource
from envs.lock.index_proxy import IndexProxy, serving
from envs.lock.index_snapshot import SNAPSHOT_DIR, IndexSnapshot
from envs.lock.inputs_hash import read_lock_header
from envs.lock.lockdiff import compare, describe, versions_in
from envs.lock.pip_lock import resolve
from envs.lock.sbom import SBOM_FILE
from envs.lock.spec import EnvSpec

__all__ = ["drift", "reproduce"]

_COMPARED = ("requirements.txt", "pylock.toml", "conda-lock.yml", SBOM_FILE)


def _reproduce_variant(spec: EnvSpec, source: CondaSource, snapshot: IndexSnapshot,
                       network: dict[str, str], scratch: Path) -> int:
    """Relock one variant into `scratch` from the snapshot; print and count differences."""
    from envs.lock.workflow import lock_variant

    committed = spec.path.parent
    date = read_lock_header(committed / "requirements.txt").get(KEY_EXCLUDE_NEWER, "")
    if spec.variant not in snapshot.variants or date > snapshot.exclude_newer:
        print(f"{spec.variant}: the snapshot was not recorded for this lock (snapshot: "
              f"{', '.join(snapshot.variants) or 'no variant'} up to "
              f"{snapshot.exclude_newer}; lock: {date}); relock with `nox -s lock` to record one")
        return 1
    out = scratch / spec.variant
    out.mkdir()
    try:
        lock_variant(spec, source, exclude_newer=date, out_dir=out, network=network)
    except LockError as exc:
        print(f"{spec.variant}: the lock step failed against the snapshot: {exc.one_line()}")
        return 1
    differing = 0
    for name in _COMPARED:
        old = (committed / name).read_text(encoding="utf-8") \
            if (committed / name).is_file() else ""
        lines = describe(name, old, (out / name).read_text(encoding="utf-8"))
        if lines:
            differing += 1
            print(f"{spec.variant}/{name}: differs (committed → reproduced):")
            print("\n".join(f"  {line}" for line in lines))
        else:
            print(f"{spec.variant}/{name}: identical")
    return differing


def reproduce(specs: Sequence[EnvSpec], source: CondaSource,
              snapshot_dir: Path = SNAPSHOT_DIR) -> int:
    """Relock `specs` from the recorded snapshot and compare every file; the exit status."""
    snapshot = IndexSnapshot.load(snapshot_dir)
    proxy = IndexProxy(snapshot)
    with tempfile.TemporaryDirectory(prefix="kerasup-reproduce-") as tmp, \
            serving(proxy) as network:
        scratch = Path(tmp)
        network = {**network, "UV_CACHE_DIR": str(scratch / "uv-cache")}
        differing = sum(_reproduce_variant(spec, source, snapshot, network, scratch)
                        for spec in specs)
    if proxy.misses:
        print(f"the snapshot lacks {len(proxy.misses)} answer(s) the resolver asked for "
              f"(first: {proxy.misses[0]}); relock with `nox -s lock` to record a new one")
    names = ", ".join(s.variant for s in specs)
    if differing or proxy.misses:
        print(f"reproduce: FAILED: {differing} file(s) of {names} differ from what the index "
              f"snapshot ({snapshot.recorded_at or 'undated'}) reproduces")
        return ExitCode.FAILED
    print(f"reproduce: every lock file of {names} is identical to its reproduction from the "
          f"index snapshot recorded {snapshot.recorded_at or '(undated)'}")
    return ExitCode.OK


# uv's words for "nothing useful answered", and ours for each.
_UNREACHABLE = (
    (re.compile(r"dns error|failed to lookup address|Name or service not known", re.I),
     "the host name does not resolve (DNS)"),
    (re.compile(r"Connection refused", re.I), "connection refused"),
    (re.compile(r"timed out|timeout", re.I), "timed out"),
    (re.compile(r"certificate|UnknownIssuer|tls|ssl", re.I), "TLS failed"),
    (re.compile(r"\b407\b"), "the proxy wants credentials (HTTP 407)"),
    (re.compile(r"\b40[13]\b"), "the index refused the credentials (HTTP 401/403)"),
    (re.compile(r"error sending request|Failed to fetch|connect", re.I), "no answer"),
)
_NETWORK_VARIABLES = re.compile(r"^((HTTPS?|ALL|NO)_PROXY|SSL_CERT_(FILE|DIR)|UV_NATIVE_TLS"
                                r"|UV_HTTP_TIMEOUT)$", re.I)
_USERINFO = re.compile(r"://[^/@\s]+@")


def _unreachable(message: str) -> str | None:
    return next((cause for pattern, cause in _UNREACHABLE if pattern.search(message)), None)


def _live_network(index_url: str) -> dict[str, str]:
    """This process's proxy and CA settings with `index_url` as uv's only index (in uv's
    environment, so credentials in it never reach an argv)."""
    network = {k: v for k, v in os.environ.items() if _NETWORK_VARIABLES.match(k)}
    network.setdefault("UV_NATIVE_TLS", "1")  # the system's trust store, as pip uses it
    network["UV_DEFAULT_INDEX"] = index_url
    return network


def _drift_variant(spec: EnvSpec, when: str, network: dict[str, str]) -> int:
    """Print one variant's drift; the number of packages that would change."""
    lock = spec.path.parent / "requirements.txt"
    old = versions_in("requirements.txt", lock.read_text(encoding="utf-8"))
    new = versions_in("requirements.txt", resolve(spec, when, network=network).requirements_txt)
    changes = compare(old, new)
    counts = {kind: sum(c.kind == kind for c in changes)
              for kind in ("upgraded", "changed", "added", "removed")}
    print(f"{spec.variant}: " + (", ".join(f"{n} {k}" for k, n in counts.items() if n)
                                  or "no change"))
    for change in changes:
        print(f"  {change.kind:<9} {change.line()}")
    return len(changes)


def drift(specs: Sequence[EnvSpec], index_url: str | None) -> int:
    """Resolve `specs` against the live index as of now; print what a relock would change."""
    index = index_url or IndexSnapshot.load().index_url
    host = urlsplit(index).hostname or index
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    network = _live_network(index)
    total, changed = 0, []
    for spec in specs:
        try:
            count = _drift_variant(spec, when, network)
        except LockError as exc:
            cause = _unreachable(str(exc))
            if cause is None:
                raise
            said = _USERINFO.sub("://***@", exc.one_line())[:300]
            print(f"drift: error: the index at {host} could not be reached: {cause} "
                  f"(uv said: {said})")
            return ExitCode.CANNOT_PROCEED
        total += count
        if count:
            changed.append(spec.variant)
    if total:
        print(f"drift: a relock today would change {total} package(s) in "
              f"{', '.join(changed)} (index {host}, as of {when}); the committed locks are "
              "unchanged: relock deliberately, in its own reviewed commit")
        return ExitCode.FAILED
    print(f"drift: none: a relock today would change nothing (index {host}, as of {when})")
    return ExitCode.OK
