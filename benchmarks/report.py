"""The one owner of the benchmarks' JSON files: writing them (atomically), reading them back
with a one-line error, and the flat "figures" mapping that makes runs comparable.

A figure is ``{"value", "unit", "better": "lower"|"higher", "target"?, "status"}``; its status
is "ok" (measured; meets its target when it has one), "missed" (measured, target not met),
"failed" (the measurement ran and failed) or "unavailable" (not measured: see "reason").
Standard library only; every benchmark script writes through :func:`write_json`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # the scripts run by path; the contract layer is at the root
    sys.path.insert(0, str(REPO))

from envs.contract.errors import ExitCode  # noqa: E402
from envs.contract.fileio import write_atomic  # noqa: E402

__all__ = ["SCHEMA_VERSION", "BenchInputError", "figure", "load_json", "meets", "missing",
           "write_json"]

SCHEMA_VERSION = 2  # 2: the flat "figures" mapping; the sections keep their details
BETTER = ("lower", "higher")


class BenchInputError(Exception):
    """A file or option the user named is unusable: one line with its cause and fix."""

    code = ExitCode.USAGE

    def __init__(self, cause: str, fix: str) -> None:
        super().__init__(f"{cause} (fix: {fix})")


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON to ``path``, atomically (folders made as needed)."""
    write_atomic(path, json.dumps(data, indent=2) + "\n")


def load_json(path: Path, what: str = "benchmark report") -> dict[str, Any]:
    """A JSON object from ``path``, or BenchInputError naming the cause and the fix."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchInputError(f"{what} {path} does not exist",
                              "run `nox -s bench` to make one, or name another file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchInputError(f"cannot read {what} {path}: {exc}",
                              "name a readable file") from None
    except json.JSONDecodeError as exc:
        raise BenchInputError(f"{what} {path} is not JSON ({exc.msg}, line {exc.lineno})",
                              "name a report written by benchmarks/bench.py") from None
    if not isinstance(data, dict):
        raise BenchInputError(f"{what} {path} is not a JSON object",
                              "name a report written by benchmarks/bench.py")
    return data


def meets(value: float, better: str, target: float) -> bool:
    """Whether ``value`` reaches ``target`` in the figure's direction (the bound included)."""
    return value <= target if better == "lower" else value >= target


def figure(value: float | None, unit: str, better: str, *, target: float | None = None,
           failed: bool = False, reason: str | None = None, digits: int = 3,
           **extra: Any) -> dict[str, Any]:
    """One figure. ``value`` None means not measured ("unavailable", or "failed" when the
    measurement itself failed); ``extra`` keeps context (date, counts, command)."""
    if better not in BETTER:
        raise ValueError(f"better must be one of {BETTER}, not {better!r}")
    out: dict[str, Any] = {"value": None if value is None else round(float(value), digits),
                           "unit": unit, "better": better}
    if target is not None:
        out["target"] = target
    if failed:
        out["status"] = "failed"
    elif value is None:
        out["status"] = "unavailable"
    elif target is not None and not meets(float(value), better, target):
        out["status"] = "missed"
    else:
        out["status"] = "ok"
    if reason:
        out["reason"] = reason
    out.update(extra)
    return out


def missing(unit: str, better: str, reason: str, *, target: float | None = None,
            failed: bool = False) -> dict[str, Any]:
    """A figure that was not measured, with why."""
    return figure(None, unit, better, target=target, failed=failed, reason=reason)
