"""The fleet view as a terminal summary, a self-contained HTML page (no network, no JavaScript,
printable), JUnit XML (a testsuite per host, a testcase per check) and a JSON summary."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from verify.fleet.aggregate import Fleet, HostStatus
from verify.fleet.load import FLEET_KIND

__all__ = ["to_html", "to_json", "to_junit", "to_text"]


# C0 (but tab and newline), DEL and C1 controls: terminal escapes, and what XML 1.0 forbids.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"[\n\t]+")


def _clean(text: object, *, one_line: bool = True) -> str:
    """``text`` without control characters (and, for one line, without line breaks)."""
    cleaned = _CONTROL.sub("", str(text))
    return _LINE_BREAKS.sub(" ", cleaned) if one_line else cleaned


def _headline(fleet: Fleet) -> str:
    counts = fleet.counts()
    parts = [f"{n} {state}" for state, n in counts.items() if n]
    return f"{len(fleet.hosts)} hosts: " + (", ".join(parts) or "none")


def to_text(fleet: Fleet) -> str:
    lines = [f"kerasup fleet report · {_headline(fleet)}", ""]
    for group in fleet.groups:
        lines.append(f"  {len(group.hosts)} host{'s' if len(group.hosts) != 1 else ''} — "
                     f"{group.check}: {_clean(group.cause)}")
        fix = (group.fix or "").strip().splitlines()
        lines += [f"      fix: {fix[0]}"] + [f"           {more}" for more in fix[1:]] \
            if fix else []
        lines.append(f"      hosts: {_clean(', '.join(group.hosts))}")
    for status in fleet.hosts:
        if status.state in ("no-report", "invalid", "stale"):
            lines.append(f"  {status.state:<9} {_clean(status.host)}: "
                         f"{_clean('; '.join(status.reasons))}")
    for package, found in fleet.drift.items():
        for what, hosts in found.items():
            lines.append(_clean(f"  drift     {package} ({what}) on {len(hosts)}: "
                                f"{', '.join(hosts)}"))
    for what, versions in fleet.spread.items():
        shown = ", ".join(f"{v} ×{len(h)}" for v, h in sorted(versions.items()))
        lines.append(_clean(f"  {what}: {shown}"))
    for out in fleet.outliers:
        lines.append(f"  slow      {_clean(out.host)}: {out.metric} {out.value_s:.1f}s "
                     f"(fleet median {out.median_s:.1f}s)")
    if fleet.first_runs:
        lines.append(_clean(f"  not timed {', '.join(fleet.first_runs)}: first verify after "
                            "install (cold caches), left out of the speed comparison"))
    verdict = "every host is ready" if fleet.ok else "NOT every host is ready"
    lines += ["", f"{verdict}."]
    return "".join(_clean(line, one_line=False).replace("\t", " ") + "\n" for line in lines)


def _summary(fleet: Fleet) -> dict[str, Any]:
    return {
        "kind": FLEET_KIND,
        "schema_version": 1,
        "generated": fleet.generated,
        "ok": fleet.ok,
        "counts": fleet.counts(),
        "reference_lock": fleet.reference_lock,
        "hosts": [{"host": h.host, "state": h.state, "reasons": h.reasons} for h in fleet.hosts],
        "failure_groups": [{"check": g.check, "cause": g.cause, "fix": g.fix, "hosts": g.hosts}
                           for g in fleet.groups],
        "drift": fleet.drift,
        "spread": fleet.spread,
        "outliers": [vars(o) for o in fleet.outliers],
        "first_runs": fleet.first_runs,
    }


def to_json(fleet: Fleet) -> str:
    # Every number in it is finite (load refuses the rest): standard JSON, no Infinity/NaN.
    return json.dumps(_summary(fleet), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _suite(status: HostStatus) -> ET.Element:
    suite = ET.Element("testsuite", name=status.host)
    checks = (status.report or {}).get("checks", [])
    if status.state in ("no-report", "invalid", "stale") or not checks:
        case = ET.SubElement(suite, "testcase", classname=status.host, name="report")
        ET.SubElement(case, "error", message=f"{status.state}: {'; '.join(status.reasons)}")
        suite.set("tests", "1")
        suite.set("errors", "1")
        suite.set("failures", "0")
        suite.set("skipped", "0")
        return suite
    counts = {"failures": 0, "errors": 0, "skipped": 0}
    for check in checks:
        case = ET.SubElement(suite, "testcase", classname=status.host, name=str(check["name"]),
                             time=f"{float(check.get('duration_s', 0)):.3f}")
        state = check.get("status")
        message = str(check.get("summary", ""))
        if state == "fail":
            ET.SubElement(case, "failure", message=message).text = check.get("fix") or ""
            counts["failures"] += 1
        elif state == "error":
            ET.SubElement(case, "error", message=message).text = check.get("fix") or ""
            counts["errors"] += 1
        elif state == "skip":
            ET.SubElement(case, "skipped", message=message)
            counts["skipped"] += 1
    suite.set("tests", str(len(checks)))
    for key, value in counts.items():
        suite.set(key, str(value))
    return suite


def to_junit(fleet: Fleet) -> str:
    root = ET.Element("testsuites", name="kerasup fleet")
    for status in fleet.hosts:
        root.append(_suite(status))
    ET.indent(root)
    # XML 1.0 cannot carry most control characters, escaped or not: they are dropped.
    return _clean(ET.tostring(root, encoding="unicode", xml_declaration=True),
                  one_line=False) + "\n"


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}
table{border-collapse:collapse;margin:1em 0;width:100%}
th,td{border:1px solid #999;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eee}.ready{color:#075e07}.failing,.invalid{color:#a00}
.stale,.no-report{color:#8a5a00}code{font-size:90%}
@media print{body{margin:0}th{background:none}}
"""


def _table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def to_html(fleet: Fleet) -> str:
    esc = html.escape
    hosts = [[f'<span class="{esc(h.state)}">{esc(h.state)}</span>', esc(h.host),
              esc("; ".join(h.reasons))] for h in fleet.hosts]
    groups = [[str(len(g.hosts)), esc(g.check), esc(g.cause), f"<code>{esc(g.fix or '')}</code>",
               esc(", ".join(g.hosts))] for g in fleet.groups]
    drift = [[esc(pkg), esc(what), esc(", ".join(hosts))]
             for pkg, found in fleet.drift.items() for what, hosts in found.items()]
    spread = [[esc(what), esc(", ".join(f"{v} ×{len(h)}" for v, h in sorted(found.items())))]
              for what, found in fleet.spread.items()]
    slow = [[esc(o.host), esc(o.metric), f"{o.value_s:.1f}s", f"{o.median_s:.1f}s"]
            for o in fleet.outliers]
    verdict = "every host is ready" if fleet.ok else "<strong>not every host is ready</strong>"
    sections = [
        f"<h1>kerasup fleet report</h1><p>{esc(_headline(fleet))} · generated "
        f"{esc(fleet.generated)} · {verdict}</p>",
        "<h2>Failures by cause</h2>" + (_table(["hosts", "check", "cause", "fix", "which"], groups)
                                        if groups else "<p>none</p>"),
        "<h2>Hosts</h2>" + _table(["state", "host", "why"], hosts),
        "<h2>Package drift against the lock</h2>" + (_table(["package", "finding", "hosts"], drift)
                                                     if drift else "<p>none</p>"),
        "<h2>Versions</h2>" + _table(["what", "versions (hosts)"], spread),
        "<h2>Slow machines</h2>" + (_table(["host", "figure", "time", "fleet median"], slow)
                                    if slow else "<p>none</p>")
        + (f"<p>Not compared (first verify after install, cold caches): "
           f"{esc(', '.join(fleet.first_runs))}</p>" if fleet.first_runs else ""),
    ]
    return _clean("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                  f"<title>kerasup fleet report</title><style>{_CSS}</style></head><body>"
                  + "".join(sections) + "</body></html>", one_line=False) + "\n"
