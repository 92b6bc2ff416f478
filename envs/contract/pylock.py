"""The one reader of kerasup's PEP 751 lock, ``pylock.toml`` (as ``uv export`` writes it).

Standard library only and Python 3.10+, so the installer's bundle builder (a bare system
Python), verify (inside the environment) and the lock step all read a pylock the same way. It
gives what only this lock has: every wheel's URL, size and sha256, and the lock's
``environments``; markers are returned as text, for the caller to evaluate.

Where the standard library has ``tomllib`` (3.11+) the text is parsed with it, so any valid
pylock.toml reads; Python 3.10 has none, and there a line reader for the one shape uv writes
(top-level one-line keys, then ``[[packages]]`` tables with one-line keys and inline wheel
tables) reads it, refusing anything else with "regenerate the lock". A test holds the two to
the same result on every committed lock. ``requirements.txt`` has its own one reader,
:mod:`envs.contract.piplock`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from envs.contract.errors import LockError
from envs.contract.piplock import canonical_name

try:
    import tomllib
except ImportError:  # Python 3.10: the installer's bare system Python
    tomllib = None  # type: ignore[assignment]

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


def _read_lines(text: str, origin: str) -> tuple[list[LockedPackage], tuple[str, ...] | None]:
    """The line reader (Python 3.10): uv's shape only."""
    reader = _Reader(origin)
    for line in text.splitlines():
        reader.feed(line)
    reader.flush()
    return reader.packages, reader.environments


def _toml_wheel(wheel: object, name: str, version: str, origin: str) -> LockedWheel:
    hashes = wheel.get("hashes") if isinstance(wheel, dict) else None
    url = wheel.get("url") if isinstance(wheel, dict) else None
    sha = hashes.get("sha256") if isinstance(hashes, dict) else None
    if not isinstance(url, str) or not isinstance(sha, str):
        raise _bad(origin, f"a wheel of {name} has no url or sha256")
    size = wheel.get("size") if isinstance(wheel, dict) else None
    return LockedWheel(name, version, wheel_filename(url), url,
                       size if isinstance(size, int) else None, sha)


def _toml_package(entry: object, origin: str) -> LockedPackage:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
            or not isinstance(entry.get("version"), str):
        raise _bad(origin, "a [[packages]] entry lacks name or version")
    name, version, marker = canonical_name(entry["name"]), entry["version"], entry.get("marker")
    wheels = entry.get("wheels", [])
    if not isinstance(wheels, list):
        raise _bad(origin, f"the wheels of {name} are not a list")
    return LockedPackage(name, version, marker if isinstance(marker, str) else None,
                         tuple(_toml_wheel(w, name, version, origin) for w in wheels))


def _read_toml(text: str, origin: str) -> tuple[list[LockedPackage], tuple[str, ...] | None]:
    """tomllib's reading (Python 3.11+): any valid pylock.toml."""
    assert tomllib is not None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _bad(origin, f"not TOML ({' '.join(str(exc).split())})") from None
    envs = doc.get("environments")
    if envs is not None and not (isinstance(envs, list) and all(isinstance(e, str)
                                                                for e in envs)):
        raise _bad(origin, "its environments are not a list of strings")
    packages = doc.get("packages", [])
    if not isinstance(packages, list):
        raise _bad(origin, "its packages are not a list of tables")
    return ([_toml_package(p, origin) for p in packages],
            tuple(envs) if envs is not None else None)


def parse_pylock(text: str, origin: str = "pylock.toml") -> Pylock:
    """The packages (and environments) of a pylock.toml's text; LockError naming ``origin``
    for anything else, or when it names no package."""
    packages, environments = (_read_lines if tomllib is None else _read_toml)(text, origin)
    if not packages:
        raise _bad(origin, "it names no packages")
    return Pylock(tuple(packages), environments)


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
