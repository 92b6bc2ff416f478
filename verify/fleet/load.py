"""Read the reports folder the Ansible role fills: ``<host>.json`` verify reports (validated
against ``verify/report.schema.json``) and ``<host>.setup-error.txt`` setup failures.

Everything read is data from machines the admin does not fully control: file names, encodings,
sizes, nesting and numbers are checked, and a file that fails any check becomes one
"invalid: <why>" entry, never an exception. Strings are kept verbatim except lone surrogates
(replaced, so every output format can encode them); control characters are the renderers'
business.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FLEET_KIND", "SCHEMA_PATH", "HostReport", "PlayRecord", "SetupError",
           "host_file_name", "load_play_records", "load_reports", "load_setup_errors",
           "parse_time"]

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "report.schema.json"
# The fleet's own JSON summary says what it is, so a later run never reads it as a host.
FLEET_KIND = "kerasup-fleet-report"
_MAX_REPORT_BYTES = 16 << 20
_MAX_SETUP_ERROR_BYTES = 64 << 10
_MAX_DEPTH = 64
SETUP_ERROR_SUFFIX = ".setup-error.txt"
# What the play that ran verify learned about the host (the role writes it beside the report).
PLAY_RECORD_SUFFIX = ".play.txt"


@dataclass(frozen=True)
class HostReport:
    """One host's report: its data, or why it could not be used."""

    host: str
    path: Path | None
    data: dict[str, Any] | None = None
    problem: str | None = None  # missing, unreadable, invalid


@dataclass(frozen=True)
class SetupError:
    """A host whose setup failed: what the role recorded (``<host>.setup-error.txt``)."""

    host: str
    task: str
    cause: str
    fix: str | None


@dataclass(frozen=True)
class PlayRecord:
    """``<host>.play.txt``: the host's own name (its kernel's node name, from Ansible's facts)
    and whether the play that made ``report_started``'s report had just installed the
    environment (a first verify, on cold caches)."""

    node: str
    report_started: str
    first_after_install: bool


class _Invalid(ValueError):
    """A report that is not usable data; the message says why."""


def host_file_name(host: str, suffix: str) -> str:
    """The file name the role gives a host's report (kept inside the reports folder)."""
    safe = "".join(c if (c.isascii() and c.isalnum()) or c in "-_.@" else "_"
                   for c in host).lstrip(".")
    return (safe or "_") + suffix


def parse_time(raw: object) -> dt.datetime | None:
    """An ISO 8601 time as an aware UTC datetime (a naive one is read as UTC), or None."""
    if not isinstance(raw, str):
        return None
    try:
        when = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _no_constant(name: str) -> float:
    raise _Invalid(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Invalid(f"number {text[:40]} is out of range")
    return value


def _clean(value: Any, depth: int = 0) -> Any:
    """``value`` with lone surrogates replaced; _Invalid when nested deeper than _MAX_DEPTH."""
    if depth > _MAX_DEPTH:
        raise _Invalid(f"nested deeper than {_MAX_DEPTH} levels")
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_clean(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {_clean(k, depth + 1): _clean(v, depth + 1) for k, v in value.items()}
    return value


def _validator() -> Any:
    """A jsonschema validator for the report schema, or None where jsonschema is absent."""
    try:
        import jsonschema
    except ImportError:
        return None
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _structural_problem(data: dict[str, Any]) -> str | None:
    """What the fleet reads, checked by hand (the schema's core, without jsonschema)."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    missing = [k for k in schema["required"] if k not in data]
    if missing:
        return f"missing {', '.join(missing)}"
    if data.get("schema_version") not in schema["properties"]["schema_version"]["enum"]:
        return f"schema_version {str(data.get('schema_version'))[:20]!r} is not supported"
    if not isinstance(data.get("machine"), dict) or not isinstance(data.get("ok"), bool):
        return "machine is not an object, or ok is not a boolean"
    checks = data.get("checks")
    if not isinstance(checks, list):
        return "checks is not a list"
    for check in checks:
        if not (isinstance(check, dict) and isinstance(check.get("name"), str)
                and isinstance(check.get("summary"), str)
                and isinstance(check.get("details"), dict)
                and isinstance(check.get("fix"), str | None)
                and isinstance(check.get("duration_s"), int | float)
                and check.get("status") in ("pass", "warn", "fail", "error", "skip")):
            return "a check lacks name, status, summary, details, fix or duration_s"
    return None


def _schema_problem(data: Any, validator: Any) -> str | None:
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("kind") == FLEET_KIND:
        return FLEET_KIND
    if validator is None:
        return _structural_problem(data)
    error = next(iter(validator.iter_errors(data)), None)
    if error is None:
        return _structural_problem(data)
    where = "/".join(map(str, error.absolute_path)) or "(top)"
    return f"does not match report.schema.json at {where[:80]}: {error.message[:200]}"


def _read_text(path: Path, limit: int) -> str:
    with path.open("rb") as handle:
        raw = handle.read(limit + 1)
    if len(raw) > limit:
        raise _Invalid(f"larger than {limit >> 10} KiB, not what the role writes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Invalid(f"not UTF-8 text (byte {exc.start})") from None


def _read_one(path: Path, host: str, validator: Any) -> HostReport | None:
    try:
        text = _read_text(path, _MAX_REPORT_BYTES)
        data = _clean(json.loads(text, parse_constant=_no_constant, parse_float=_finite))
        problem = _schema_problem(data, validator)
    except OSError as exc:
        return HostReport(host, path, problem=f"unreadable ({exc.strerror or exc})")
    except RecursionError:
        return HostReport(host, path, problem=f"nested deeper than {_MAX_DEPTH} levels")
    except _Invalid as exc:
        return HostReport(host, path, problem=str(exc))
    except ValueError as exc:  # json.JSONDecodeError
        return HostReport(host, path, problem=f"not valid JSON ({str(exc)[:120]})")
    if problem == FLEET_KIND:
        return None  # this tool's own summary
    if problem is None and parse_time(data.get("started")) is None:
        problem = f"started {str(data.get('started'))[:40]!r} is not an ISO 8601 time"
    if problem:
        return HostReport(host, path, problem=problem)
    return HostReport(host, path, data=data)


def _host_of(name: str, suffix: str) -> tuple[str, str | None]:
    """The host a file name stands for, and a problem when the name is not clean text."""
    host = name[:-len(suffix)]
    try:
        host.encode("utf-8")
    except UnicodeEncodeError:
        shown = host.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return shown, "its file name is not UTF-8 text"
    return host, None


def _entries(directory: Path, suffix: str, skip: set[Path]) -> list[tuple[Path, str]]:
    found = []
    with os.scandir(directory) as scan:
        for entry in scan:
            if not entry.name.endswith(suffix) or entry.name.startswith("."):
                continue
            path = Path(entry.path)
            if path.resolve() in skip or not entry.is_file():
                continue
            found.append((path, entry.name))
    return sorted(found, key=lambda item: item[1].encode("utf-8", "surrogateescape"))


def load_reports(directory: Path, skip: set[Path] = frozenset()) -> list[HostReport]:  # type: ignore[assignment]
    """Every ``<host>.json`` in ``directory`` (but ``skip``, this run's outputs, and the
    fleet's own summaries) as a :class:`HostReport`, sorted by file name."""
    validator = _validator()
    reports = []
    for path, name in _entries(directory, ".json", {p.resolve() for p in skip}):
        host, bad_name = _host_of(name, ".json")
        report = (HostReport(host, path, problem=bad_name) if bad_name
                  else _read_one(path, host, validator))
        if report is not None:
            reports.append(report)
    return reports


def _fields(text: str, keys: tuple[str, ...]) -> dict[str, str]:
    """``key: value`` lines (the first of each key counts; other lines are ignored)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in keys and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    return fields


def _setup_error(path: Path, host: str) -> SetupError:
    try:
        text = _read_text(path, _MAX_SETUP_ERROR_BYTES)
    except (OSError, _Invalid) as exc:
        return SetupError(host, "?", f"setup failed; its record {path.name} is unreadable "
                          f"({exc})", None)
    fields = _fields(text, ("host", "task", "error"))
    error = fields.get("error") or text.strip() or "setup failed (the role recorded no message)"
    cause, fix = error, None
    at = error.rfind("(fix: ")
    if at > 0 and error.endswith(")"):
        cause, fix = error[:at].rstrip(), error[at + 6:-1].strip()
    if cause.startswith("kerasup: error: "):
        cause = cause[len("kerasup: error: "):]
    return SetupError(host, fields.get("task") or "?", cause, fix)


def load_setup_errors(directory: Path) -> list[SetupError]:
    """Every ``<host>.setup-error.txt`` the role recorded in ``directory``."""
    errors = []
    for path, name in _entries(directory, SETUP_ERROR_SUFFIX, set()):
        host, bad_name = _host_of(name, SETUP_ERROR_SUFFIX)
        errors.append(SetupError(host, "?", f"setup failed; {bad_name}", None) if bad_name
                      else _setup_error(path, host))
    return errors


def load_play_records(directory: Path) -> dict[str, PlayRecord]:
    """Every readable ``<host>.play.txt`` in ``directory``, by host (file stem); one that
    cannot be read counts as absent (the fleet then falls back to the inventory's names)."""
    records = {}
    for path, name in _entries(directory, PLAY_RECORD_SUFFIX, set()):
        host, bad_name = _host_of(name, PLAY_RECORD_SUFFIX)
        try:
            text = "" if bad_name else _read_text(path, _MAX_SETUP_ERROR_BYTES)
        except (OSError, _Invalid):
            continue
        fields = _fields(text, ("node", "report_started", "first_after_install"))
        if fields.get("node"):
            records[host] = PlayRecord(_clean(fields["node"]), fields.get("report_started", ""),
                                       fields.get("first_after_install") == "yes")
    return records
