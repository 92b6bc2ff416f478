"""The machine report: JSON following ``report.schema.json`` (a versioned contract)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from verify.result import Report

__all__ = ["SCHEMA_PATH", "to_json", "write_json"]

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, default=str, ensure_ascii=False) + "\n"


def write_json(report: Report, path: Path) -> None:
    """Write the report atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(to_json(report))
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
