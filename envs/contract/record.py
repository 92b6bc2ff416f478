"""The install record, ``<prefix>/share/kerasup/install.json``: what setup installed there.

Setup writes it last, once everything else succeeded, so a prefix without one holds an
unfinished install. Verify reads it for the variant and the lock; setup compares it with
what it is asked to install to decide that there is nothing to do. Its JSON Schema is
``install-record.schema.json`` beside this file (tests validate against it).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envs.contract.fileio import file_sha256, write_atomic
from envs.contract.layout import Layout

__all__ = ["METHODS", "SCHEMA", "SCHEMA_VERSION", "InstallRecord", "read", "write"]

SCHEMA_VERSION = 1
SCHEMA = Path(__file__).with_name("install-record.schema.json")
METHODS = ("uv", "pip", "conda", "in-place")
_IGNORED_IN_MATCH = ("created", "source")


@dataclass(frozen=True)
class InstallRecord:
    """One environment as setup installed it."""

    variant: str
    python: str  # "3.12"
    platform: str  # conda platform name
    lock: str  # absolute path of the lock installed
    lock_sha256: str
    method: str  # one of METHODS
    toolkit_root: str  # the kerasup checkout (or bundle) that installed it
    created: str = ""  # UTC, ISO 8601
    source: str | None = None  # where the packages came from: an index URL or a bundle
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def for_lock(cls, *, variant: str, python: str, platform: str, lock: Path, method: str,
                 toolkit_root: Path, source: str | None = None) -> InstallRecord:
        """The record of installing ``lock`` now."""
        return cls(variant=variant, python=python, platform=platform, lock=str(lock.resolve()),
                   lock_sha256=file_sha256(lock), method=method,
                   toolkit_root=str(toolkit_root.resolve()),
                   created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), source=source)

    def to_json(self) -> str:
        data = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        return json.dumps({"schema_version": self.schema_version, **data}, indent=2) + "\n"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> InstallRecord:
        """A record from parsed JSON; ValueError naming the first missing or bad field."""
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"schema_version {data.get('schema_version')!r} is not "
                             f"{SCHEMA_VERSION}")
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            value = data.get(f.name)
            required = f.default is dataclasses.MISSING
            if value is None and not required:
                continue
            if not isinstance(value, int if f.name == "schema_version" else str):
                raise ValueError(f"field {f.name!r} is missing or not a "
                                 f"{'number' if f.name == 'schema_version' else 'string'}")
            kwargs[f.name] = value
        if kwargs["method"] not in METHODS:
            raise ValueError(f"method {kwargs['method']!r} is not one of {', '.join(METHODS)}")
        return cls(**kwargs)

    def matches(self, other: InstallRecord | None) -> bool:
        """True when ``other`` describes the same install (ignoring when and from where)."""
        if other is None:
            return False
        mine, theirs = dataclasses.asdict(self), dataclasses.asdict(other)
        return all(mine[k] == theirs[k] for k in mine if k not in _IGNORED_IN_MATCH)


def read(prefix: Path) -> tuple[InstallRecord | None, str | None]:
    """The record at ``prefix`` and, when one exists but cannot be used, why not."""
    path = Layout(prefix).install_record
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{path}: unreadable ({getattr(exc, 'strerror', None) or exc})"
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return None, f"{path}: not valid JSON ({exc})"
    if not isinstance(data, dict):
        return None, f"{path}: not a JSON object"
    try:
        return InstallRecord.from_mapping(data), None
    except ValueError as exc:
        return None, f"{path}: {exc}"


def write(prefix: Path, record: InstallRecord) -> Path:
    """Write the record atomically; returns its path."""
    path = Layout(prefix).install_record
    write_atomic(path, record.to_json())
    return path
