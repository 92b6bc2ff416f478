"""Read the two pip locks of a variant with the standard library (Python 3.10 has no tomllib).

``pylock.toml`` is read for what only it has: every wheel's URL, size and sha256. uv writes it
in a fixed shape (``[[packages]]`` tables with one-line keys and inline wheel tables), so a
line reader for that shape is enough; anything else is refused with "regenerate the lock".
``requirements.txt`` (what ``uv pip sync --require-hashes`` enforces) is read by the
contract's reader, envs.contract.piplock; a test holds every pylock wheel to its hashes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from envs.contract.errors import UsageError
from envs.contract.piplock import canonical_name

__all__ = ["LockedPackage", "LockedWheel", "parse_pylock", "read_pylock", "wheel_filename"]

_KEY_STRING = re.compile(r'^(name|version|marker) = ("(?:[^"\\]|\\.)*")\s*$')
_URL = re.compile(r'\burl = "([^"]+)"')
_SIZE = re.compile(r"\bsize = (\d+)")
_SHA = re.compile(r'\bsha256 = "([0-9a-f]{64})"')


def wheel_filename(url: str) -> str:
    """The file name at the end of a wheel URL (query and fragment dropped)."""
    return url.split("#", 1)[0].split("?", 1)[0].rsplit("/", 1)[-1]


@dataclass(frozen=True)
class LockedWheel:
    """One wheel the lock names: where it came from and what it must hash to."""

    name: str
    version: str
    filename: str
    url: str
    size: int | None
    sha256: str


@dataclass(frozen=True)
class LockedPackage:
    """One ``[[packages]]`` entry: a pinned project, its marker and its wheels."""

    name: str
    version: str
    marker: str | None
    wheels: tuple[LockedWheel, ...]


def _wheel(line: str, name: str, version: str, origin: str) -> LockedWheel:
    url, sha = _URL.search(line), _SHA.search(line)
    if not url or not sha:
        raise UsageError(f"{origin}: a wheel of {name} has no url or sha256",
                         "regenerate the lock with `nox -s lock`")
    size = _SIZE.search(line)
    return LockedWheel(name, version, wheel_filename(url.group(1)), url.group(1),
                       int(size.group(1)) if size else None, sha.group(1))


class _Reader:
    """Collects packages line by line; ``in_wheels`` is True inside a multi-line array."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.packages: list[LockedPackage] = []
        self.current: dict[str, str] | None = None
        self.wheels: list[LockedWheel] = []
        self.in_wheels = False

    def flush(self) -> None:
        if self.current is None:
            return
        if "name" not in self.current or "version" not in self.current:
            raise UsageError(f"{self.origin}: a [[packages]] entry lacks name or version",
                             "regenerate the lock with `nox -s lock`")
        self.packages.append(LockedPackage(
            canonical_name(self.current["name"]), self.current["version"],
            self.current.get("marker"), tuple(self.wheels)))
        self.current, self.wheels = None, []

    def wheel(self, line: str) -> None:
        assert self.current is not None
        self.wheels.append(_wheel(line, canonical_name(self.current.get("name", "?")),
                                  self.current.get("version", "?"), self.origin))

    def feed(self, line: str) -> None:
        stripped = line.strip()
        if self.in_wheels:
            if stripped == "]":
                self.in_wheels = False
            elif stripped.startswith("{"):
                self.wheel(stripped)
            return
        if stripped == "[[packages]]":
            self.flush()
            self.current = {}
            return
        if self.current is None:
            return
        match = _KEY_STRING.match(stripped)
        if match:
            self.current[match.group(1)] = json.loads(match.group(2))
        elif stripped == "wheels = [":
            self.in_wheels = True
        elif stripped.startswith("wheels = [{"):
            self.wheel(stripped)
        elif stripped.startswith("[") and not stripped.startswith("[[packages]]"):
            raise UsageError(f"{self.origin}: unexpected table {stripped!r}",
                             "regenerate the lock with `nox -s lock`")


def parse_pylock(text: str, origin: str) -> list[LockedPackage]:
    """The packages of a uv-written pylock.toml."""
    reader = _Reader(origin)
    for line in text.splitlines():
        reader.feed(line)
    reader.flush()
    if not reader.packages:
        raise UsageError(f"{origin} names no packages", "regenerate the lock with `nox -s lock`")
    return reader.packages


def read_pylock(path: Path) -> list[LockedPackage]:
    """Parse ``path`` (a pylock.toml); a missing file is a usage error with the fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}",
                         "run from a kerasup checkout, or regenerate with `nox -s lock`") from None
    return parse_pylock(text, str(path))
