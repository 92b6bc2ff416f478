"""The one reader of kerasup's PEP 751 lock, ``pylock.toml`` (as ``uv export`` writes it).

Standard library only and Python 3.10+ (which has no ``tomllib``), so the installer's bundle
builder (a bare system Python), verify (inside the environment) and the lock step all read a
pylock the same way. It gives what only this lock has: every wheel's URL, size and sha256, and
the lock's ``environments``; markers are returned as text, for the caller to evaluate.

uv writes one fixed shape (top-level one-line keys, then ``[[packages]]`` tables with one-line
keys and inline wheel tables), so a line reader for that shape is enough; anything else is
refused with "regenerate the lock". A test holds it to ``tomllib`` on every committed lock.
``requirements.txt`` has its own one reader, :mod:`envs.contract.piplock`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from envs.contract.errors import LockError
from envs.contract.piplock import canonical_name

__all__ = ["LockedPackage", "LockedWheel", "Pylock", "parse_pylock", "read_pylock",
           "wheel_filename"]

_KEY_STRING = re.compile(r'^(name|version|marker) = ("(?:[^"\\]|\\.)*")\s*$')
_ENVIRONMENTS = re.compile(r'^environments = (\[.*\])\s*$')
_URL = re.compile(r'\burl = "([^"]+)"')
_SIZE = re.compile(r"\bsize = (\d+)")
_SHA = re.compile(r'\bsha256 = "([0-9a-f]{64})"')
_FIX = "regenerate the lock with `nox -s lock`"


def wheel_filename(url: str) -> str:
    """The file name at the end of a wheel URL (query and fragment dropped, %-escapes read)."""
    return unquote(PurePosixPath(urlsplit(url).path).name)


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
    """One ``[[packages]]`` entry: a pinned project (name canonical), its marker (text) and
    its wheels."""

    name: str
    version: str
    marker: str | None
    wheels: tuple[LockedWheel, ...]


@dataclass(frozen=True)
class Pylock:
    """A whole pylock.toml: its packages in file order and its ``environments`` markers
    (None when it declares none)."""

    packages: tuple[LockedPackage, ...]
    environments: tuple[str, ...] | None = None


def _bad(origin: str, why: str) -> LockError:
    return LockError(f"{origin} is not a valid pylock.toml: {why}", fix=_FIX)


def _wheel(line: str, name: str, version: str, origin: str) -> LockedWheel:
    url, sha = _URL.search(line), _SHA.search(line)
    if not url or not sha:
        raise _bad(origin, f"a wheel of {name} has no url or sha256")
    size = _SIZE.search(line)
    return LockedWheel(name, version, wheel_filename(url.group(1)), url.group(1),
                       int(size.group(1)) if size else None, sha.group(1))


def _string_list(text: str, origin: str) -> tuple[str, ...]:
    try:
        value = json.loads(text)  # a one-line TOML array of basic strings is JSON
    except ValueError:
        raise _bad(origin, "its environments are not a list of strings") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(origin, "its environments are not a list of strings")
    return tuple(value)


class _Reader:
    """Collects packages line by line; ``in_wheels`` is True inside a multi-line array."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.packages: list[LockedPackage] = []
        self.environments: tuple[str, ...] | None = None
        self.current: dict[str, str] | None = None
        self.wheels: list[LockedWheel] = []
        self.in_wheels = False

    def flush(self) -> None:
        if self.current is None:
            return
        if "name" not in self.current or "version" not in self.current:
            raise _bad(self.origin, "a [[packages]] entry lacks name or version")
        self.packages.append(LockedPackage(
            canonical_name(self.current["name"]), self.current["version"],
            self.current.get("marker"), tuple(self.wheels)))
        self.current, self.wheels = None, []

    def wheel(self, line: str) -> None:
        assert self.current is not None
        self.wheels.append(_wheel(line, canonical_name(self.current.get("name", "?")),
                                  self.current.get("version", "?"), self.origin))

    def top(self, stripped: str) -> None:
        """A line before the first [[packages]]: only ``environments`` is kept."""
        match = _ENVIRONMENTS.match(stripped)
        if match:
            self.environments = _string_list(match.group(1), self.origin)
        elif stripped.startswith("["):
            raise _bad(self.origin, f"unexpected table {stripped!r}")

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
            self.top(stripped)
            return
        match = _KEY_STRING.match(stripped)
        if match:
            self.current[match.group(1)] = json.loads(match.group(2))
        elif stripped == "wheels = [":
            self.in_wheels = True
        elif stripped.startswith("wheels = [{"):
            self.wheel(stripped)
        elif stripped.startswith("["):
            raise _bad(self.origin, f"unexpected table {stripped!r}")


def parse_pylock(text: str, origin: str = "pylock.toml") -> Pylock:
    """The packages (and environments) of a uv-written pylock.toml's text; LockError naming
    ``origin`` for anything else, or when it names no package."""
    reader = _Reader(origin)
    for line in text.splitlines():
        reader.feed(line)
    reader.flush()
    if not reader.packages:
        raise _bad(origin, "it names no packages")
    return Pylock(tuple(reader.packages), reader.environments)


def read_pylock(path: Path) -> Pylock:
    """Parse the pylock.toml at ``path``; an unreadable file is a LockError with the fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise LockError(f"cannot read {path}: {why}",
                        fix="run from a kerasup checkout, or regenerate with `nox -s lock`"
                        ) from None
    return parse_pylock(text, str(path))
