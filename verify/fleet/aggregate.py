"""Turn many hosts' verify reports into one fleet view: who is ready, who is not and why
(grouped by cause, with the fix once per group), package drift against the lock, the spread
of Python / TensorFlow / driver versions, and hosts far slower than the fleet's median."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from verify.fleet.load import HostReport, PlayRecord, SetupError, host_file_name, parse_time
from verify.fleet.locks import LockSets, Resolved

__all__ = ["STATES", "FailureGroup", "Fleet", "HostStatus", "Outlier", "Problem", "build_fleet"]

STATES = ("ready", "failing", "stale", "no-report", "invalid")
# Timings compared across hosts: (name shown, how to read it from a report).
_SLOW_FACTOR = 1.5  # an outlier takes this many times the median...
_SLOW_MARGIN_S = 1.0  # ...and at least this many seconds more
_PATH = re.compile(r"(?:[A-Za-z]:)?[/\\][^\s'\"(),;]+")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_CLOCK_SKEW = dt.timedelta(minutes=5)  # a start time later than now by more is in the future
_RAN = ("pass", "warn", "fail", "error")
_NO_REPORT = "no report: unreachable, or the play never reached verify there"


@dataclass(frozen=True)
class Problem:
    """One reason a host is not ready: a failed check, or its setup, with the host's own text."""

    check: str
    cause: str
    fix: str | None


@dataclass
class HostStatus:
    """One expected or reporting host and its state (one of STATES)."""

    host: str
    state: str
    reasons: list[str] = field(default_factory=list)
    report: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class FailureGroup:
    """Hosts that fail one check for the same cause; ``cause`` and ``fix`` are the first
    host's own words (only the grouping key is normalised)."""

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
    # hosts whose report is the first verify after install (cold caches): not compared
    first_runs: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found = Counter(h.state for h in self.hosts)
        return {state: found.get(state, 0) for state in STATES}

    @property
    def ok(self) -> bool:
        """True when every expected host is ready (and there is at least one)."""
        return bool(self.hosts) and all(h.state == "ready" for h in self.hosts)


@dataclass(frozen=True)
class Judge:
    """What every report is judged against."""

    reference: Resolved | str | None
    locks: LockSets
    since: dt.datetime | None
    ran: frozenset[str] | None  # the hosts the play ran (--since applies to them only)
    now: dt.datetime
    records: Mapping[str, PlayRecord]  # by report file stem: the host's own name, per the play


def _cause(text: str) -> str:
    """A failure summary with host-specific paths and figures taken out, for grouping only."""
    return " ".join(_NUMBER.sub("N", _PATH.sub("<path>", text)).split())


def _failures(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in report.get("checks", []) if c.get("status") in ("fail", "error")]


def _reference(reports: Iterable[HostReport], locks: LockSets) -> Resolved | str | None:
    if locks.reference is not None:
        return locks.reference
    seen = Counter(locks.key(r.data["machine"].get("lock_sha256")) for r in reports if r.data)
    seen.pop(None, None)
    return seen.most_common(1)[0][0] if seen else None


def _label(name: str) -> str:
    """A host name's first label, lower case (an address stays whole)."""
    name = name.strip()
    return name if name.replace(".", "").isdigit() else name.lower().split(".", 1)[0]


def _made_elsewhere(made_on: str, names: Sequence[str], record: PlayRecord | None) -> str | None:
    """Why a report's host name shows it was made on another machine, or None. The play's
    record of the host's own name decides (inventory aliases stay fine); without one, the
    inventory name or address must match."""
    own = [record.node] if record is not None else [n for n in names if n]
    if _label(made_on) in {_label(n) for n in own}:
        return None
    if record is not None:
        return (f"made on host {made_on!r}, but {names[0]} is {record.node!r} (copied from "
                f"another host?); fix: run the playbook for {names[0]} again, which "
                "re-verifies it there")
    return (f"made on host {made_on!r}, not {names[0]!r} (copied from another host?); fix: "
            f"run the playbook for {names[0]} again: it records each host's own name beside "
            "its report, so an inventory alias is recognised")


def _trust(report: dict[str, Any], names: Sequence[str], judge: Judge,
           record: PlayRecord | None) -> str | None:
    """Why the report cannot speak for this host, or None."""
    elsewhere = _made_elsewhere(str(report["machine"].get("host", "")), names, record)
    if elsewhere:
        return elsewhere
    started = parse_time(report.get("started"))
    if started is not None and started > judge.now + _CLOCK_SKEW:
        return (f"its start time {report.get('started')} is in the future (fix the host's "
                "clock, then run the playbook again)")
    if not any(c.get("status") in _RAN for c in report.get("checks", [])):
        return "no check ran (every check was skipped); run verify without --only/--skip"
    return None


def _stale(report: dict[str, Any], host: str, judge: Judge) -> list[str]:
    reasons = []
    started = parse_time(report.get("started"))
    if judge.since is not None and (judge.ran is None or host in judge.ran) and (
            started is None or started < judge.since):
        reasons.append(f"report from {report.get('started')}, older than this run "
                       f"({judge.since:%Y-%m-%dT%H:%M:%SZ})")
    sha = report["machine"].get("lock_sha256")
    if judge.reference is not None and judge.locks.key(sha) != judge.reference:
        reasons.append(f"made against another lock (its sha256 {str(sha)[:12]}… resolves to "
                       "other packages than the fleet's lock)")
    return reasons


def _host_status(found: HostReport, names: Sequence[str], judge: Judge) -> HostStatus:
    if found.data is None:
        return HostStatus(names[0], "invalid", [f"invalid: {found.problem or 'unusable'}"])
    report = found.data
    distrust = _trust(report, names, judge, judge.records.get(found.host))
    if distrust:
        return HostStatus(names[0], "invalid", [f"invalid: {distrust}"], None)
    reasons = _stale(report, names[0], judge)
    if reasons:
        return HostStatus(names[0], "stale", reasons, report)
    problems = [Problem(str(c["name"]), str(c.get("summary", "")), c.get("fix"))
                for c in _failures(report)]
    if problems or not report.get("ok", False):
        return HostStatus(names[0], "failing", [f"{p.check}: {p.cause}" for p in problems]
                          or ["the report says not ok"], report, problems)
    return HostStatus(names[0], "ready", [], report)


def _with_setup_error(status: HostStatus, error: SetupError) -> HostStatus:
    problem = Problem(f"setup ({error.task})" if error.task != "?" else "setup", error.cause,
                      error.fix)
    reasons = [f"{problem.check}: {problem.cause}"]
    if status.state in ("failing", "ready"):
        reasons += status.reasons
    return HostStatus(status.host, "failing", reasons, status.report,
                      [problem, *(status.problems if status.state == "failing" else [])])


def _groups(statuses: Sequence[HostStatus]) -> list[FailureGroup]:
    groups: dict[tuple[str, str], FailureGroup] = {}
    for status in statuses:
        for problem in status.problems:
            key = (problem.check, _cause(problem.cause))
            group = groups.setdefault(key, FailureGroup(problem.check, problem.cause,
                                                        problem.fix))
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


def _first_runs(statuses: Sequence[HostStatus], stems: Mapping[str, str],
                judge: Judge) -> list[str]:
    """Hosts whose report is the first verify after the play installed the environment."""
    found = []
    for status in statuses:
        record = judge.records.get(stems.get(status.host, ""))
        if status.report is not None and record is not None and record.first_after_install \
                and parse_time(record.report_started) == parse_time(status.report["started"]):
            found.append(status.host)
    return found


def _outliers(statuses: Sequence[HostStatus], skip: Iterable[str]) -> list[Outlier]:
    """Hosts far slower than the median of the others (first runs after install, on cold
    caches, are neither compared nor counted in the median)."""
    per_metric: dict[str, dict[str, float]] = defaultdict(dict)
    left_out = set(skip)
    for status in statuses:
        if status.report is not None and status.host not in left_out:
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


def _expected_names(reports: Sequence[HostReport], expected: Sequence[str],
                    addresses: dict[str, str]) -> dict[str, list[str]]:
    """Report file stem -> [inventory name, its address]: what a report may call its host."""
    names = {host_file_name(h, ""): [h, addresses.get(h, "")] for h in expected}
    for report in reports:
        names.setdefault(report.host, [report.host])
    return names


def build_fleet(reports: Sequence[HostReport], expected: Sequence[str] = (), *,
                setup_errors: Sequence[SetupError] = (), addresses: dict[str, str] | None = None,
                records: Mapping[str, PlayRecord] | None = None,
                since: dt.datetime | None = None, ran: Iterable[str] | None = None,
                locks: LockSets | None = None, now: dt.datetime | None = None) -> Fleet:
    """The fleet view of ``reports`` and ``setup_errors``; hosts in ``expected`` (inventory
    names) without either are counted as "no-report". ``records`` are the play's records of
    each host (by report file stem)."""
    locks = locks or LockSets()
    now = now or dt.datetime.now(dt.UTC)
    judge = Judge(_reference(reports, locks), locks, since,
                  frozenset(ran) if ran is not None else None, now, records or {})
    names = _expected_names(reports, expected, addresses or {})
    by_stem: dict[str, HostStatus] = {
        r.host: _host_status(r, names[r.host], judge) for r in reports}
    for error in setup_errors:
        stem = error.host
        current = by_stem.get(stem) or HostStatus(names.get(stem, [stem])[0], "no-report")
        by_stem[stem] = _with_setup_error(current, error)
    statuses = list(by_stem.values())
    statuses += [HostStatus(host, "no-report", [_NO_REPORT]) for host in expected
                 if host_file_name(host, "") not in by_stem]
    statuses.sort(key=lambda s: (STATES.index(s.state), s.host))
    first_runs = _first_runs(statuses, {s.host: stem for stem, s in by_stem.items()}, judge)
    reference = judge.reference
    shown = None if reference is None else (
        reference if isinstance(reference, str) else "resolved set sha256 " + hashlib.sha256(
            "\n".join(sorted(reference)).encode()).hexdigest())
    return Fleet(statuses, _groups(statuses), _drift(statuses), _spread(statuses),
                 _outliers(statuses, first_runs), shown, now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 first_runs)
