"""Read a folder of verify JSON reports (validated against ``verify/report.schema.json``) and
an Ansible inventory (INI or YAML), without Ansible."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_PATH", "HostReport", "load_reports", "read_inventory"]

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "report.schema.json"
_MAX_REPORT_BYTES = 16 << 20


@dataclass(frozen=True)
class HostReport:
    """One host's report: its data, or why it could not be used."""

    host: str
    path: Path | None
    data: dict[str, Any] | None = None
    problem: str | None = None  # missing, unreadable, invalid
    written: dt.datetime | None = None  # when the report file was last written (UTC)


def _validator() -> Any:
    """A jsonschema validator for the report schema, or None where jsonschema is absent."""
    try:
        import jsonschema
    except ImportError:
        return None
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _structural_problem(data: Any) -> str | None:
    """The schema's required fields, checked by hand where jsonschema is not installed."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        return "not a JSON object"
    missing = [k for k in schema["required"] if k not in data]
    if missing:
        return f"missing {', '.join(missing)}"
    if data.get("schema_version") not in schema["properties"]["schema_version"]["enum"]:
        return f"schema_version {data.get('schema_version')!r} is not supported"
    checks = data.get("checks")
    if not isinstance(checks, list) or not all(isinstance(c, dict) for c in checks):
        return "checks is not a list of objects"
    return None


def _read_one(path: Path, validator: Any) -> HostReport:
    host = path.stem
    try:
        stat = path.stat()
        if stat.st_size > _MAX_REPORT_BYTES:
            return HostReport(host, path, problem="larger than 16 MiB, not a verify report")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return HostReport(host, path, problem=f"unreadable ({exc})")
    except (ValueError, RecursionError) as exc:
        return HostReport(host, path, problem=f"not valid JSON ({exc})")
    written = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)
    if validator is not None:
        error = next(iter(validator.iter_errors(data)), None)
        problem = None if error is None else (
            f"does not match report.schema.json at "
            f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message[:200]}")
    else:
        problem = _structural_problem(data)
    if problem:
        return HostReport(host, path, problem=problem, written=written)
    return HostReport(host, path, data=data, written=written)


def load_reports(directory: Path) -> list[HostReport]:
    """Every ``*.json`` in ``directory`` as a :class:`HostReport`, sorted by host."""
    validator = _validator()
    return [_read_one(p, validator) for p in sorted(directory.glob("*.json")) if p.is_file()]


_INI_SECTION = re.compile(r"^\[([^\]]+)\]\s*$")


def _ini_hosts(text: str) -> Iterator[str]:
    section = "ungrouped"
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip() if not raw.lstrip().startswith(
            ("#", ";")) else ""
        if not line:
            continue
        match = _INI_SECTION.match(line)
        if match:
            section = match.group(1)
            continue
        if section.endswith((":vars", ":children")):
            continue
        yield line.split()[0]


def _yaml_hosts(node: Any) -> Iterator[str]:
    if not isinstance(node, dict):
        return
    hosts = node.get("hosts")
    if isinstance(hosts, dict):
        yield from (str(h) for h in hosts)
    children = node.get("children")
    if isinstance(children, dict):
        for child in children.values():
            yield from _yaml_hosts(child)
    for key, value in node.items():
        if key not in ("hosts", "children", "vars") and isinstance(value, dict):
            yield from _yaml_hosts(value)


def read_inventory(path: Path) -> list[str]:
    """The host names of an Ansible inventory file (INI, or YAML with ``hosts:``/``children:``).

    Ranges such as ``lab[01:20]`` are expanded. Raises ValueError when nothing can be read.
    """
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yml", ".yaml"):
        import yaml

        names = list(_yaml_hosts(yaml.safe_load(text)))
    else:
        names = list(_ini_hosts(text))
    expanded = [name for pattern in names for name in _expand(pattern)]
    if not expanded:
        raise ValueError(f"{path}: no hosts found")
    return list(dict.fromkeys(expanded))


_RANGE = re.compile(r"\[(\d+):(\d+)\]")


def _expand(pattern: str) -> list[str]:
    match = _RANGE.search(pattern)
    if not match:
        return [pattern]
    first, last = match.group(1), match.group(2)
    width = len(first) if first.startswith("0") else 0
    out = []
    for number in range(int(first), int(last) + 1):
        out += _expand(pattern[:match.start()] + str(number).zfill(width) + pattern[match.end():])
    return out
