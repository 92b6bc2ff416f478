"""The figures as a table for people, and two reports' figures side by side: each figure
beside its baseline value and current/baseline, a change past the tolerance in the figure's
"better" direction marked REGRESSED (or better)."""

from __future__ import annotations

from typing import Any

__all__ = ["caveats", "compare", "render_comparison", "render_figures"]

STATUS_MARK = {"ok": "ok", "missed": "MISSED TARGET", "failed": "FAILED",
               "unavailable": "unavailable"}


def _value(fig: dict[str, Any] | None) -> str:
    if not fig or fig.get("value") is None:
        return "-"
    value, unit = fig["value"], fig.get("unit", "")
    text = f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{text} {unit}".strip() if unit != "x" else f"{text}x"


def _target(fig: dict[str, Any]) -> str:
    if fig.get("target") is None:
        return ""
    op = "<=" if fig.get("better") == "lower" else ">="
    return f"{op} {fig['target']}"


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    lines.insert(1, "-" * min(100, max(len(line) for line in lines)))
    return "\n".join(lines)


def render_figures(figures: dict[str, dict[str, Any]]) -> str:
    """One row per figure: value, target, status (and why it is not ok)."""
    rows: list[tuple[str, ...]] = [("figure", "value", "target", "status")]
    for name, fig in figures.items():
        note = STATUS_MARK.get(fig.get("status", ""), fig.get("status", ""))
        if fig.get("reason") and fig.get("status") != "ok":
            note = f"{note}: {fig['reason']}"[:120]
        elif "min" in fig:
            note = f"{note} (min {fig['min']:,.3g}, max {fig['max']:,.3g})"
        elif fig.get("date"):
            note = f"recorded {fig['date']}" + (f", {fig['counts']['tests']} tests"
                                                 if fig.get("counts") else "")
            if fig.get("whole_suite") is False:
                note += f" (a subset: {fig.get('command')})"
        rows.append((name, _value(fig), _target(fig), note))
    return _table(rows)


def compare(current: dict[str, Any], baseline: dict[str, Any],
            tolerance: float) -> list[dict[str, Any]]:
    """Per figure of either report: both values, current/baseline and the verdict."""
    cur, base = current.get("figures", {}), baseline.get("figures", {})
    out = []
    for name in [*cur, *(n for n in base if n not in cur)]:
        now, then = cur.get(name), base.get(name)
        entry: dict[str, Any] = {"figure": name, "current": now, "baseline": then,
                                 "ratio": None, "verdict": ""}
        a = now.get("value") if now else None
        b = then.get("value") if then else None
        if now is None or then is None:
            entry["verdict"] = "not in this run" if now is None else "not in the baseline"
        elif a is None or b is None:
            entry["verdict"] = ("measured in neither" if a is None and b is None else
                                "not measured now" if a is None else
                                "not measured in the baseline")
        elif b == 0:
            entry["verdict"] = "baseline is 0"
        else:
            entry["ratio"] = round(a / b, 3)
            worse = entry["ratio"] - 1 if now["better"] == "lower" else 1 - entry["ratio"]
            entry["verdict"] = ("REGRESSED" if worse > tolerance else
                                "better" if worse < -tolerance else "same")
        out.append(entry)
    return out


def render_comparison(rows: list[dict[str, Any]], tolerance: float) -> str:
    """The comparison as a table; regressions are past ``tolerance`` (a fraction)."""
    table: list[tuple[str, ...]] = [("figure", "current", "baseline", "current/baseline",
                                     f"verdict (±{tolerance:.0%})")]
    for row in rows:
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
        table.append((row["figure"], _value(row["current"]), _value(row["baseline"]), ratio,
                      row["verdict"]))
    return _table(table)


def _cached(flag: bool) -> str:
    return "cached" if flag else "not cached"


def caveats(current: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Differences between the runs that move the figures by themselves."""
    notes = []
    now = current.get("bytecode", {}).get("tensorflow_bytecode_cached")
    then = baseline.get("bytecode", {}).get("tensorflow_bytecode_cached")
    if None not in (now, then) and now != then:
        notes.append(f"TensorFlow's bytecode was {_cached(now)} in this run but {_cached(then)} "
                     "in the baseline: that alone changes the import time about 2.5x (run "
                     "`<env>/bin/python -I -c \"import tensorflow, keras\"` once to cache it)")
    here, there = (current.get("machine", {}), baseline.get("machine", {}))
    if (here.get("cpu"), here.get("cpu_count")) != (there.get("cpu"), there.get("cpu_count")):
        notes.append("the runs come from different machines: compare ratios, not seconds")
    return notes
