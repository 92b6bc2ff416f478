"""The ``# kerasup-KEY: value`` header at the top of the pip locks (requirements.txt and
pylock.toml): what a lock was made from and what it covers.

The lock step writes it (:func:`format_header`); the installer, verify and the tests read it
(:func:`read_header`, :func:`coverage`) instead of re-deriving coverage from
``environment.yml``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "HEADER_PREFIX",
    "KEY_EXCLUDE_NEWER",
    "KEY_INPUTS",
    "KEY_PLATFORMS",
    "KEY_PYTHONS",
    "KEY_RESOLVER",
    "LockCoverage",
    "coverage",
    "format_header",
    "read_header",
]

HEADER_PREFIX = "# kerasup-"
KEY_INPUTS = "inputs-sha256"
KEY_EXCLUDE_NEWER = "exclude-newer"
KEY_PYTHONS = "pythons"
KEY_PLATFORMS = "platforms"
KEY_RESOLVER = "resolver"
_LINE = re.compile(r"^# kerasup-([a-z0-9-]+):[ \t]*(.*?)[ \t]*$")
_MAX_HEADER_LINES = 64  # the header sits at the top; a lock's body is never scanned


def read_header(text: str) -> dict[str, str]:
    """The ``# kerasup-KEY: VALUE`` fields at the top of a lock ({} if there are none)."""
    fields: dict[str, str] = {}
    for line in text.splitlines()[:_MAX_HEADER_LINES]:
        match = _LINE.match(line)
        if match:
            fields.setdefault(match.group(1), match.group(2))
        elif line.strip() and not line.startswith("#"):
            break
    return fields


def format_header(fields: Mapping[str, str]) -> str:
    """Header lines for ``fields``, in the given order, each ending in a newline."""
    return "".join(f"{HEADER_PREFIX}{key}: {value}\n" for key, value in fields.items())


@dataclass(frozen=True)
class LockCoverage:
    """The Pythons ("3.12") and conda platforms a lock says it covers."""

    pythons: tuple[str, ...]
    platforms: tuple[str, ...]

    def describe(self) -> str:
        return (f"Python {', '.join(self.pythons) or '(none)'} on "
                f"{', '.join(self.platforms) or '(none)'}")


def coverage(lock: Path) -> LockCoverage | None:
    """What ``lock`` declares it covers; None when it has no kerasup header (or is unreadable
    or not text), so callers can say "this is not a kerasup lock"."""
    try:
        with lock.open(encoding="utf-8") as fh:
            head = "".join(line for _, line in zip(range(_MAX_HEADER_LINES), fh, strict=False))
    except (OSError, UnicodeDecodeError):
        return None
    fields = read_header(head)
    if KEY_PYTHONS not in fields or KEY_PLATFORMS not in fields:
        return None
    return LockCoverage(tuple(fields[KEY_PYTHONS].split()), tuple(fields[KEY_PLATFORMS].split()))
