"""What changed between two versions of a lock file, package by package: ``name old → new``.

Each lock format is read with its own reader (requirements.txt with envs.contract.piplock,
pylock.toml with envs.contract.pylock, conda-lock.yml and the SBOM as the YAML and JSON they
are) into one shape, package -> versions, and the two shapes are compared. When the versions
agree but the bytes differ (a hash, a marker, a wheel), the first differing line is named
instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import yaml
from packaging.version import InvalidVersion, Version

from envs.contract.errors import LockError
from envs.contract.piplock import parse_requirements
from envs.contract.pylock import parse_pylock

__all__ = ["Change", "compare", "describe", "versions_in"]

Versions = dict[str, tuple[str, ...]]


def _requirements(text: str) -> Versions:
    found: dict[str, set[str]] = {}
    for entry in parse_requirements(text, "requirements.txt"):
        found.setdefault(entry.name, set()).add(entry.version)
    return {name: tuple(sorted(v)) for name, v in found.items()}


def _pylock(text: str) -> Versions:
    found: dict[str, set[str]] = {}
    for package in parse_pylock(text, "pylock.toml").packages:
        found.setdefault(package.name, set()).add(package.version)
    return {name: tuple(sorted(v)) for name, v in found.items()}


def _conda_lock(text: str) -> Versions:
    found: dict[str, set[str]] = {}
    for package in (yaml.safe_load(text) or {}).get("package", []):
        key = f"{package['name']} ({package['manager']}, {package['platform']})"
        found.setdefault(key, set()).add(str(package["version"]))
    return {name: tuple(sorted(v)) for name, v in found.items()}


def _sbom(text: str) -> Versions:
    found: dict[str, set[str]] = {}
    for component in json.loads(text).get("components", []):
        found.setdefault(component.get("purl", component["name"]).split("@")[0],
                         set()).add(str(component.get("version", "")))
    return {name: tuple(sorted(v)) for name, v in found.items()}


_READERS: dict[str, Callable[[str], Versions]] = {
    "requirements.txt": _requirements, "pylock.toml": _pylock,
    "conda-lock.yml": _conda_lock, "sbom.cdx.json": _sbom}


def versions_in(filename: str, text: str) -> Versions:
    """Package -> versions held by the lock file `filename` (its format by its name)."""
    return _READERS[filename](text)


@dataclass(frozen=True)
class Change:
    """One package whose versions differ: `old`/`new` are empty when it was added/removed."""

    name: str
    old: tuple[str, ...]
    new: tuple[str, ...]

    @property
    def kind(self) -> str:
        """added, removed, upgraded (the newest version rose) or changed."""
        if not self.old or not self.new:
            return "added" if not self.old else "removed"
        try:
            rose = max(map(Version, self.new)) > max(map(Version, self.old))
        except InvalidVersion:
            rose = False
        return "upgraded" if rose else "changed"

    def line(self) -> str:
        old = ", ".join(self.old) or "(absent)"
        new = ", ".join(self.new) or "(absent)"
        return f"{self.name} {old} → {new}"


def compare(old: Mapping[str, tuple[str, ...]], new: Mapping[str, tuple[str, ...]]
            ) -> list[Change]:
    """The packages whose versions differ between two version maps, by name."""
    return [Change(name, tuple(old.get(name, ())), tuple(new.get(name, ())))
            for name in sorted(old.keys() | new.keys()) if old.get(name) != new.get(name)]


def describe(filename: str, old_text: str, new_text: str) -> list[str]:
    """Lines saying how `new_text` differs from `old_text` ([] when identical)."""
    if old_text == new_text:
        return []
    try:
        changes = compare(versions_in(filename, old_text), versions_in(filename, new_text))
    except (LockError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        changes, reason = [], f" (unreadable: {' '.join(str(exc).split())[:120]})"
    else:
        reason = ""
    if changes:
        return [change.line() for change in changes]
    old_lines, new_lines = old_text.splitlines(), new_text.splitlines()
    for number, (was, now) in enumerate(zip(old_lines, new_lines, strict=False), 1):
        if was != now:
            return [f"same versions, line {number} differs{reason}: {was.strip()[:100]!r} → "
                    f"{now.strip()[:100]!r}"]
    return [f"same versions, {len(old_lines)} → {len(new_lines)} lines{reason}"]
