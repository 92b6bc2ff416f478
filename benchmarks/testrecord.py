"""The test suite's timing record, one per Python: `nox -s tests` writes
``out/tests/<python>.json`` (wall time, outcome, counts from pytest's JUnit XML) and
`nox -s bench` reads the newest of each. Bench never runs the suite itself."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from benchmarks.report import figure, missing, write_json

__all__ = ["RECORDS", "junit_counts", "read_records", "write_record"]

RECORDS = Path(__file__).resolve().parents[1] / "out" / "tests"


def junit_counts(junit: Path) -> dict[str, int] | None:
    """tests/failures/errors/skipped summed over pytest's JUnit XML, or None if unreadable."""
    try:
        root = ET.parse(junit).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    keys = ("tests", "failures", "errors", "skipped")
    return {k: sum(int(s.get(k, 0)) for s in suites) for k in keys}


def write_record(folder: Path, python: str, *, wall_s: float, exit_ok: bool,
                 junit: Path, command: str, whole_suite: bool = True) -> Path:
    """Record one `nox -s tests` run of ``python`` (``whole_suite``: no `-- ARGS` narrowed
    it); returns the file written."""
    counts = junit_counts(junit)
    failed = not exit_ok or counts is None or counts["failures"] + counts["errors"] > 0
    record = {"python": python, "created": dt.datetime.now(dt.UTC).strftime(
                  "%Y-%m-%dT%H:%M:%SZ"),
              "wall_s": round(wall_s, 1), "outcome": "failed" if failed else "passed",
              "counts": counts, "whole_suite": whole_suite, "command": command}
    path = folder / f"{python}.json"
    write_json(path, record)
    return path


def read_records(pythons: tuple[str, ...], folder: Path = RECORDS) -> dict[str, Any]:
    """The tests section: one figure per Python from its record, or why it is absent."""
    figures: dict[str, Any] = {}
    for python in pythons:
        path = folder / f"{python}.json"
        name = f"tests_{python}_wall_s"
        how = f"nox -s tests-{python} (writes {path})"
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            figures[name] = missing("s", "lower", f"no record: run {how}")
            continue
        except (OSError, ValueError) as exc:
            figures[name] = missing("s", "lower", f"unreadable record {path}: {exc}; run {how}")
            continue
        figures[name] = figure(record.get("wall_s"), "s", "lower", digits=1,
                               failed=record.get("outcome") != "passed",
                               reason=None if record.get("outcome") == "passed"
                               else f"the recorded run {record.get('outcome')}",
                               date=record.get("created"), counts=record.get("counts"),
                               whole_suite=record.get("whole_suite", True),
                               command=record.get("command"))
    found = [f for f in figures.values() if f["value"] is not None]
    return {"status": "ok" if found else "unavailable", "figures": figures,
            **({} if found else {"reason": f"no test records in {folder}: run nox -s tests"})}
