"""The machine report: JSON following ``report.schema.json`` (a versioned contract).

Rendering only; :mod:`verify.reports` writes it (atomically, together with the JUnit XML).
"""

from __future__ import annotations

import json
from pathlib import Path

from verify.result import Report

__all__ = ["SCHEMA_PATH", "to_json"]

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


def to_json(report: Report) -> str:
    """The report as JSON text that always encodes as UTF-8.

    Under a C locale, paths and environment values reach Python with undecodable bytes as
    lone surrogates (``surrogateescape``); they are turned back into the characters their
    bytes spell, or U+FFFD where the bytes are not UTF-8.
    """
    text = json.dumps(report.to_dict(), indent=2, default=str, ensure_ascii=False) + "\n"
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")

