"""Turn many hosts' verify reports into one fleet view: who is ready, who is not and why
(grouped by cause, with the fix once per group), package drift against the lock, the spread
of Python / TensorFlow / driver versions, and hosts far slower than the fleet's median."""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from verify.fleet.load import HostReport

__all__ = ["STATES", "FailureGroup", "Fleet", "HostStatus", "Outlier", "build_fleet"]

STATES = ("ready", "failing", "stale", "no-report", "invalid")
# Timings compared across hosts: (name shown, how to read it from a report).
_SLOW_FACTOR = 1.5  # an outlier takes this many times the median...
_SLOW_MARGIN_S = 1.0  # ...and at least this many seconds more
_PATH = re.compile(r"(?:[A-Za-z]:)?[/\\][^\s'\"(),;]+")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


@dataclass
class HostStatus:
    """One expected or reporting host and its state (one of STATES)."""

    host: str
    state: str
    reasons: list[str] = field(default_factory=list)
    report: dict[str, Any] | None = None


@dataclass
class FailureGroup:
    """Hosts that fail one check for the same cause."""

    check: str
    cause: str
    fix: str | None
    hosts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outlier:
    host: str
    metric: str
    value_s: float
    median_s: float


@dataclass
class Fleet:
    """The whole lab: per-host states plus the cross-host findings."""

    hosts: list[HostStatus]
    groups: list[FailureGroup]
    drift: dict[str, dict[str, list[str]]]
    spread: dict[str, dict[str, list[str]]]
    outliers: list[Outlier]
    reference_lock: str | None
    generated: str

    def counts(self) -> dict[str, int]:
        found = Counter(h.state for h in self.hosts)
        return {state: found.get(state, 0) for state in STATES}

    @property
    def ok(self) -> bool:
        """True when every expected host is ready (and there is at least one)."""
        return bool(self.hosts) and all(h.state == "ready" for h in self.hosts)


def _cause(text: str) -> str:
    """A failure summary with host-specific paths and figures taken out, for grouping."""
    return " ".join(_NUMBER.sub("N", _PATH.sub("<path>", text)).split())


def _failures(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in report.get("checks", []) if c.get("status") in ("fail", "error")]


def _reference_lock(reports: Iterable[HostReport], lock_sha256: str | None) -> str | None:
    if lock_sha256:
        return lock_sha256
    seen = Counter(r.data["machine"].get("lock_sha256") for r in reports if r.data)
    seen.pop(None, None)
    return seen.most_common(1)[0][0] if seen else None


def _started(report: dict[str, Any]) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(report["started"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None


def _host_status(found: HostReport, reference: str | None,
                 since: dt.datetime | None) -> HostStatus:
    if found.data is None:
        return HostStatus(found.host, "invalid", [found.problem or "unusable report"])
    report = found.data
    reasons = []
    started = _started(report)
    if since is not None and (started is None or started < since):
        reasons.append(f"report from {report.get('started')}, older than this run "
                       f"({since:%Y-%m-%dT%H:%M:%SZ})")
    sha = report["machine"].get("lock_sha256")
    if reference and sha != reference:
        reasons.append(f"made against another lock (sha256 {str(sha)[:12]}…, fleet "
                       f"{reference[:12]}…)")
    if reasons:
        return HostStatus(found.host, "stale", reasons, report)
    failed = _failures(report)
    if failed or not report.get("ok", False):
        return HostStatus(found.host, "failing",
                          [f"{c['name']}: {c['summary']}" for c in failed], report)
    return HostStatus(found.host, "ready", [], report)


def _groups(statuses: Sequence[HostStatus]) -> list[FailureGroup]:
    groups: dict[tuple[str, str], FailureGroup] = {}
    for status in statuses:
        if status.state != "failing" or status.report is None:
            continue
        for check in _failures(status.report):
            key = (str(check["name"]), _cause(str(check.get("summary", ""))))
            fix = check.get("fix")
            group = groups.setdefault(key, FailureGroup(
                key[0], key[1], _PATH.sub("<path>", fix.splitlines()[0]) if fix else None))
            group.hosts.append(status.host)
    return sorted(groups.values(), key=lambda g: (-len(g.hosts), g.check, g.cause))


def _check(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next((c for c in report.get("checks", []) if c.get("name") == name), {})


def _drift(statuses: Sequence[HostStatus]) -> dict[str, dict[str, list[str]]]:
    drift: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for status in statuses:
        if status.report is None:
            continue
        for row in _check(status.report, "packages").get("details", {}).get("table") or []:
            if not isinstance(row, dict) or "package" not in row:
                continue
            what = f"{row.get('problem')}: locked {row.get('locked') or '-'}, installed " \
                   f"{row.get('installed') or '-'}"
            drift[str(row["package"])][what].append(status.host)
    return {pkg: dict(found) for pkg, found in sorted(drift.items())}


def _versions(report: dict[str, Any]) -> dict[str, str]:
    gpu = _check(report, "gpu").get("details", {})
    build = gpu.get("build") if isinstance(gpu.get("build"), dict) else {}
    driver = gpu.get("driver") if isinstance(gpu.get("driver"), dict) else {}
    # schema 2's versions block (verify.versions) where there is one; a v1 report has none
    installed = report.get("versions") if isinstance(report.get("versions"), dict) else {}
    found = {
        "python": str(report["machine"].get("python", "?")),
        "tensorflow": str(installed.get("tensorflow") or build.get("tf_version") or "?"),
        "nvidia driver": str(installed.get("nvidia_driver") or driver.get("driver_version")
                             or "none"),
        "platform": str(report["machine"].get("conda_platform", "?")),
    }
    for key, shown in (("keras", "keras"), ("numpy", "numpy"), ("graphviz", "graphviz"),
                       ("pydot", "pydot")):
        if installed:
            found[shown] = str(installed.get(key) or "none")
    return found


def _spread(statuses: Sequence[HostStatus]) -> dict[str, dict[str, list[str]]]:
    spread: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for status in statuses:
        if status.report is not None:
            for what, version in _versions(status.report).items():
                spread[what][version].append(status.host)
    return {what: {v: sorted(hosts) for v, hosts in found.items()}
            for what, found in spread.items()}


def _timings(report: dict[str, Any]) -> dict[str, float]:
    """Seconds per figure: the gpu check carries the TensorFlow import; mnist the training."""
    out: dict[str, float] = {}
    gpu = _check(report, "gpu")
    if gpu.get("status") not in (None, "skip"):
        out["tensorflow import (gpu check)"] = float(gpu.get("duration_s", 0.0))
    train = _check(report, "mnist").get("details", {}).get("train_seconds")
    if isinstance(train, int | float):
        out["mnist training"] = float(train)
    return out


def _outliers(statuses: Sequence[HostStatus]) -> list[Outlier]:
    per_metric: dict[str, dict[str, float]] = defaultdict(dict)
    for status in statuses:
        if status.report is not None:
            for metric, value in _timings(status.report).items():
                per_metric[metric][status.host] = value
    found = []
    for metric, values in sorted(per_metric.items()):
        if len(values) < 3:
            continue
        median = statistics.median(values.values())
        found += [Outlier(host, metric, value, median) for host, value in sorted(values.items())
                  if value > median * _SLOW_FACTOR and value - median > _SLOW_MARGIN_S]
    return found


def build_fleet(reports: Sequence[HostReport], expected: Sequence[str] = (), *,
                since: dt.datetime | None = None, lock_sha256: str | None = None,
                now: dt.datetime | None = None) -> Fleet:
    """The fleet view of ``reports``; hosts in ``expected`` without a report are counted too."""
    reference = _reference_lock(reports, lock_sha256)
    by_host = {r.host: r for r in reports}
    statuses = [_host_status(r, reference, since) for r in reports]
    statuses += [HostStatus(host, "no-report", ["no report: unreachable, or setup never ran "
                                                 "verify there"])
                 for host in expected if host not in by_host]
    statuses.sort(key=lambda s: (STATES.index(s.state), s.host))
    now = now or dt.datetime.now(dt.UTC)
    return Fleet(statuses, _groups(statuses), _drift(statuses), _spread(statuses),
                 _outliers(statuses), reference, now.strftime("%Y-%m-%dT%H:%M:%SZ"))
