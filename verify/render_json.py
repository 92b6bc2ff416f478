"""The machine report: JSON following ``report.schema.json`` (a versioned contract)."""

from __future__ import annotations

import json
from pathlib import Path

from envs.contract.fileio import write_atomic
from verify.result import Report

__all__ = ["SCHEMA_PATH", "to_json", "write_json"]

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


def to_json(report: Report) -> str:
    """The report as JSON text that always encodes as UTF-8.

    Under a C locale, paths and environment values reach Python with undecodable bytes as
    lone surrogates (``surrogateescape``); they are turned back into the characters their
    bytes spell, or U+FFFD where the bytes are not UTF-8.
    """
    text = json.dumps(report.to_dict(), indent=2, default=str, ensure_ascii=False) + "\n"
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def write_json(report: Report, path: Path) -> None:
    """Write the report atomically (a reader sees the old report or this one, never half a
    file); OSError (a full disk, a read-only place) leaves the old one as it was."""
    write_atomic(path, to_json(report))
