"""The data every check produces and every renderer consumes (no printing here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["STATUSES", "CheckResult", "Report", "Status"]

Status = Literal["pass", "warn", "fail", "error", "skip"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail", "error", "skip")


@dataclass
class CheckResult:
    """One check's outcome: the fields of a ``checks[]`` entry of the JSON report."""

    name: str
    status: Status
    duration_s: float
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    """A whole run: machine facts plus one result per check, in check order."""

    schema_version: int
    tool: dict[str, Any]
    machine: dict[str, Any]
    options: dict[str, Any]
    checks: list[CheckResult]
    started: str
    duration_s: float
    # What is installed and running (verify.versions); empty only in hand-made reports.
    versions: dict[str, Any] = field(default_factory=dict)

    @property
    def ran(self) -> int:
        """How many checks ran (were not skipped)."""
        return sum(c.status != "skip" for c in self.checks)

    @property
    def ok(self) -> bool:
        """True when at least one check ran and none failed or crashed (warnings and skips
        are fine): a run that checked nothing never reads as ready."""
        return self.ran > 0 and not any(c.status in ("fail", "error") for c in self.checks)

    def counts(self) -> dict[str, int]:
        return {s: sum(c.status == s for c in self.checks) for s in STATUSES}

    def to_dict(self) -> dict[str, Any]:
        out = {
            "schema_version": self.schema_version,
            "ok": self.ok,
            "tool": self.tool,
            "started": self.started,
            "duration_s": round(self.duration_s, 3),
            "machine": self.machine,
            "versions": self.versions,
            "options": self.options,
            "counts": self.counts(),
            "checks": [c.to_dict() for c in self.checks],
        }
        if not self.versions:  # a schema 1 report (tests, benchmarks) has no versions block
            del out["versions"]
        return out
