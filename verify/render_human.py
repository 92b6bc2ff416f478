"""The human report: one line per check, the fix under every warn or fail, a summary line.

The only non-ASCII symbol is the header's separator; :func:`render` takes ``ascii_only`` for
a terminal whose encoding cannot show it (``LC_ALL=C``), see :func:`can_encode`.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from verify.checks import CHECK_NAMES
from verify.result import CheckResult, Report

__all__ = ["NAME_WIDTH", "SYMBOLS", "can_encode", "header_lines", "render", "result_lines",
           "summary_lines"]

# The symbols the report uses, and their ASCII stand-ins.
SYMBOLS = {"sep": ("\u00b7", "-")}

_LABEL = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "error": "ERROR", "skip": "SKIP"}
# Check names line up over every check, so a line printed early matches the later ones.
NAME_WIDTH = max(map(len, CHECK_NAMES))
_COLOUR = {"pass": "32", "warn": "33", "fail": "31", "error": "35", "skip": "2"}


def _paint(text: str, code: str, color: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if color else text


def _indent(text: str, first: str, rest: str) -> list[str]:
    lines = str(text).splitlines() or [""]
    return [first + lines[0], *(rest + line for line in lines[1:])]


def _detail_lines(details: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key, value in details.items():
        if isinstance(value, str):
            text = value
        else:
            text = json.dumps(value, indent=2, default=str, ensure_ascii=False)
        out += _indent(text, f"        {key}: ", " " * 10)
    return out


def _table_lines(rows: list[dict[str, Any]], indent: str, limit: int = 25) -> list[str]:
    """Rows of dicts as aligned columns (the packages check's table)."""
    if not rows:
        return []
    cols = list(rows[0])
    cells = [[str(r.get(c) if r.get(c) is not None else "-") for c in cols]
             for r in rows[:limit]]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    out = [indent + "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip()]
    out += [indent + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
            for row in cells]
    if len(rows) > limit:
        out.append(f"{indent}... {len(rows) - limit} more (--verbose or --json for all)")
    return out


def _check_lines(c: CheckResult, width: int, verbose: bool, color: bool) -> list[str]:
    label = _paint(f"{_LABEL[c.status]:<5}", _COLOUR[c.status], color)
    lines = _indent(c.summary, f"  {label} {c.name:<{width}}  ", " " * (width + 10))
    lines[0] += _paint(f"  ({c.duration_s:.1f}s)", "2", color)
    if c.fix and c.status in ("warn", "fail", "error"):
        findings = c.details.get("problems", []) + c.details.get("warnings", [])
        for extra in findings[1:]:
            lines += _indent(extra, " " * (width + 10) + "- ", " " * (width + 12))
        lines += _indent(c.fix, " " * (width + 10) + _paint("fix: ", "1", color),
                         " " * (width + 15))
    table = c.details.get("table")
    if isinstance(table, list) and table and (verbose or c.status in ("warn", "fail")):
        lines += _table_lines(table, " " * (width + 10), limit=10_000 if verbose else 25)
    if verbose:
        lines += _detail_lines({k: v for k, v in c.details.items()
                                if k not in ("problems", "warnings", "table")})
    return lines


def can_encode(encoding: str | None) -> bool:
    """True when a stream in ``encoding`` can show every symbol of the report."""
    try:
        codecs.lookup(encoding or "ascii")
        for fancy, _ in SYMBOLS.values():
            fancy.encode(encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def header_lines(version: str, machine: dict[str, Any], *, color: bool = False,
                 ascii_only: bool = False, versions: dict[str, Any] | None = None) -> list[str]:
    """The first lines: tool, host, OS, Python, variant; what is installed (``versions``,
    read from the environment: :mod:`verify.versions`); the lock (printed before any check
    runs, so they come from the machine facts and package metadata alone)."""
    m = machine
    sep = SYMBOLS["sep"][1 if ascii_only else 0]
    head = (f"kerasup verify {version} {sep} {m['host']} {sep} {m['os']} "
            f"{m['architecture']} {sep} {m['python_implementation']} {m['python']} {sep} "
            f"variant {m['variant']} ({m['variant_source']})")
    from verify.versions import header_text

    shown = [header_text(versions, sep)] if versions else []
    return [_paint(head, "1", color), *shown,
            f"lock: {m['lock'] or 'none'} ({m['lock_source']})", ""]


def not_selected(c: CheckResult) -> bool:
    return c.status == "skip" and c.summary.startswith("not selected")


def result_lines(c: CheckResult, *, verbose: bool = False, color: bool = False) -> list[str]:
    """One check's lines as printed the moment it finishes (none for an unselected check
    unless ``verbose``); names are aligned over every check, known or not yet run."""
    if not_selected(c) and not verbose:
        return []
    return _check_lines(c, NAME_WIDTH, verbose, color)


def _names(checks: list[CheckResult]) -> str:
    return ", ".join(c.name for c in checks)


def summary_lines(report: Report, *, color: bool = False) -> list[str]:
    """The closing line: what ran, how it went, what was skipped, and the verdict."""
    counts = report.counts()
    unselected = [c for c in report.checks if not_selected(c)]
    skipped = [c for c in report.checks if c.status == "skip" and not not_selected(c)]
    ran = report.ran
    parts = [f"{counts['pass']} passed"]
    parts += [f"{counts[s]} {w}" for s, w in (("warn", "with warnings"), ("fail", "failed"),
                                              ("error", "crashed")) if counts[s]]
    text = (f"{ran} of {len(report.checks)} checks ran: {', '.join(parts)} in "
            f"{report.duration_s:.1f}s")
    if skipped:
        text += f"; skipped: {_names(skipped)}"
    if unselected:
        text += f"; not selected: {_names(unselected)}"
    if report.ok:
        verdict = _paint("Ready for Keras/TensorFlow.", "32;1", color)
        if counts["warn"]:
            verdict += " Read the warnings above."
    else:
        verdict = _paint("Not ready: apply the fixes above, then run python -m verify again.",
                         "31;1", color)
    return ["", f"{text}. {verdict}"]


def render(report: Report, *, verbose: bool = False, color: bool = False,
           ascii_only: bool = False) -> str:
    """The whole report as text, the same lines a live run prints (colour codes only when
    ``color``; ``ascii_only`` swaps the symbols for ASCII ones)."""
    lines = header_lines(report.tool["version"], report.machine, color=color,
                         ascii_only=ascii_only, versions=report.versions)
    for c in report.checks:
        lines += result_lines(c, verbose=verbose, color=color)
    lines += summary_lines(report, color=color)
    return "\n".join(lines) + "\n"
