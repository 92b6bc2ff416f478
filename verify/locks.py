"""Read a lock (pip requirements.txt, conda-lock.yml, pylock.toml) and compare it with what
is installed; also the dependency check ``pip check`` does, without needing pip.

One reader per format, each shared: requirements.txt through :mod:`envs.contract.piplock`
and pylock.toml through :mod:`envs.contract.pylock` (setup, the bundle builder and the lock
step read them with those too); conda-lock.yml through :func:`_yaml_doc` below. What a lock
covers comes from its ``# kerasup-*`` header (:mod:`envs.contract.lockheader`). Needs
``packaging`` and, for conda-lock.yml, ``pyyaml``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envs.contract.errors import LockError
from envs.contract.lockheader import KEY_PLATFORMS, KEY_PYTHONS, read_header
from envs.contract.piplock import parse_requirements
from envs.contract.pylock import Pylock
from envs.contract.pylock import parse_pylock as read_pylock_text
from verify.distributions import Installed, installed

__all__ = [
    "RELEVANT",
    "Comparison",
    "Coverage",
    "LockEntry",
    "LockError",
    "applicable",
    "broken_requirements",
    "compare",
    "installed_versions",
    "load_lock",
    "lock_coverage",
    "lock_kind",
    "parse_conda_lock",
    "parse_pylock",
    "parse_requirements_lock",
]

# Installed-but-not-locked distributions worth reporting: they change what Keras or
# TensorFlow do (a second TensorFlow, another backend, the `pip install graphviz` trap...).
RELEVANT = re.compile(
    r"^(tensorflow.*|tf-.*|tf-keras|tb-nightly|keras.*|jax|jaxlib|torch|torchvision|theano|"
    r"cntk|graphviz|pydot.*|pydotplus|nvidia-.*|numpy|h5py|ml-dtypes|protobuf|"
    r"tensorboard.*|intel-tensorflow|tensorflow-.*)$")
_LOCK_FIX = ("pass a lock kerasup made: --lock envs/<variant>/requirements.txt (or its "
             "pylock.toml / conda-lock.yml)")


@dataclass(frozen=True)
class LockEntry:
    """One locked distribution (name canonicalized)."""

    name: str
    version: str
    marker: str | None = None
    manager: str = "pip"  # conda-lock entries: "conda" or "pip"


@functools.lru_cache(maxsize=1024)
def _marker(text: str) -> Marker:
    """``Marker(text)``, parsed once per text: a lock repeats a few markers on many lines,
    and packaging's parser costs ~0.3 ms a marker (0.15 s of verify's run, twice per lock,
    before the cache). InvalidMarker is raised, not cached."""
    return Marker(text)


@functools.lru_cache(maxsize=1024)
def _holds(text: str, env: tuple[tuple[str, str], ...] | None) -> bool:
    return _marker(text).evaluate(dict(env) if env else None)


def _marker_text(marker: str | None) -> str | None:
    """The marker as packaging writes it; an invalid one is kept for :func:`applicable`."""
    if marker is None:
        return None
    try:
        return str(_marker(marker))
    except InvalidMarker:
        return marker


def parse_requirements_lock(text: str, source: str = "requirements.txt") -> list[LockEntry]:
    """The entries of a pip ``requirements.txt`` lock (read by the contract's one parser)."""
    return [LockEntry(e.name, e.version, _marker_text(e.marker))
            for e in parse_requirements(text, source)]


def _yaml_doc(text: str, source: str) -> dict[str, Any]:
    """A conda-lock.yml's top-level mapping (the one place verify parses its YAML)."""
    import yaml

    # libyaml's loader where PyYAML has it (the locked wheels do): the same safe subset, about
    # eight times faster on the 370 KB locks than the pure-Python one.
    loader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    try:
        doc = yaml.load(text, Loader=loader)
    except (yaml.YAMLError, RecursionError) as exc:
        raise LockError(f"{source}: not valid YAML ({' '.join(str(exc).split())[:200]})",
                        fix=_LOCK_FIX) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("package"), list):
        raise LockError(f"{source}: not a conda-lock file (no 'package' list)", fix=_LOCK_FIX)
    if doc.get("version") not in (1, None):
        raise LockError(f"{source}: conda-lock format version {doc.get('version')} is not "
                        "supported (version 1 is)", fix=_LOCK_FIX)
    return doc


def _conda_platforms(doc: Mapping[str, Any]) -> list[str] | None:
    meta = doc.get("metadata")
    plats = meta.get("platforms") if isinstance(meta, dict) else None
    return [str(p) for p in plats] if isinstance(plats, list) else None


def _conda_entries(doc: Mapping[str, Any], platform: str, source: str) -> list[LockEntry]:
    platforms = _conda_platforms(doc) or []
    if platforms and platform not in platforms:
        raise LockError(f"{source}: no entries for {platform} (it locks "
                        f"{', '.join(platforms)})", fix=_LOCK_FIX)
    entries = [LockEntry(canonicalize_name(str(pkg["name"])), str(pkg.get("version", "")),
                         None, str(pkg.get("manager", "conda")))
               for pkg in doc["package"]
               if isinstance(pkg, dict) and pkg.get("platform") == platform and "name" in pkg]
    if not entries:
        raise LockError(f"{source}: no entries for {platform}", fix=_LOCK_FIX)
    return entries


def parse_conda_lock(text: str, platform: str, source: str = "conda-lock.yml") -> list[LockEntry]:
    """The entries of a conda-lock v1 file for one conda platform (``linux-64``...)."""
    return _conda_entries(_yaml_doc(text, source), platform, source)


def _pylock(text: str, source: str) -> Pylock:
    """A pylock.toml, read by the contract's one reader (its fix points at a kerasup lock)."""
    try:
        return read_pylock_text(text, source)
    except LockError as exc:
        raise LockError(exc.message, fix=_LOCK_FIX) from None


def parse_pylock(text: str, source: str = "pylock.toml") -> list[LockEntry]:
    """The packages of a PEP 751 ``pylock.toml``."""
    return [LockEntry(p.name, p.version, p.marker) for p in _pylock(text, source).packages]


def lock_kind(path: Path) -> str:
    """"conda-lock", "pylock" or "requirements", from the file name."""
    name = path.name.lower()
    if name.endswith((".yml", ".yaml")):
        return "conda-lock"
    if name.endswith(".toml"):
        return "pylock"
    return "requirements"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise LockError(f"{path}: unreadable ({why})", fix=_LOCK_FIX) from None


def load_lock(path: Path, platform: str) -> tuple[str, list[LockEntry]]:
    """The kind of lock and its entries (for conda-lock, this platform's)."""
    text = _read(path)
    kind = lock_kind(path)
    if kind == "conda-lock":
        return kind, parse_conda_lock(text, platform, str(path))
    if kind == "pylock":
        return kind, parse_pylock(text, str(path))
    return kind, parse_requirements_lock(text, str(path))


@dataclass
class Coverage:
    """Which Pythons and platforms a lock says it covers."""

    pythons: list[str] | None = None  # "3.12" ...
    platforms: list[str] | None = None  # conda names
    environments: list[str] | None = None  # pylock marker list
    source: str = ""


def lock_coverage(path: Path, platform: str) -> Coverage:
    """What the lock declares. The pip locks (requirements.txt, pylock.toml): their
    ``# kerasup-pythons:``/``# kerasup-platforms:`` header, read with
    :mod:`envs.contract.lockheader` as setup reads it (pylock adds its ``environments``);
    conda-lock.yml: its ``metadata.platforms`` and its conda ``python`` package.
    LockError for a file that is not a kerasup lock."""
    text = _read(path)
    kind = lock_kind(path)
    if kind == "conda-lock":
        doc = _yaml_doc(text, str(path))
        pythons = sorted({".".join(e.version.split(".")[:2])
                          for e in _conda_entries(doc, platform, str(path))
                          if e.name == "python" and e.manager == "conda"})
        return Coverage(pythons or None, _conda_platforms(doc), None,
                        f"{path.name} (metadata.platforms, conda python)")
    fields = read_header(text)
    if KEY_PYTHONS not in fields or KEY_PLATFORMS not in fields:
        raise LockError(f"{path} is not a kerasup lock (no # kerasup-{KEY_PYTHONS}/"
                        f"{KEY_PLATFORMS} header)", fix=_LOCK_FIX)
    cov = Coverage(fields[KEY_PYTHONS].split(), fields[KEY_PLATFORMS].split(), None,
                   f"{path.name} header")
    if kind == "pylock":
        envs = _pylock(text, str(path)).environments
        cov.environments = list(envs) if envs is not None else None
    return cov


def applicable(entries: Iterable[LockEntry],
               env: Mapping[str, str] | None = None) -> tuple[dict[str, LockEntry], list[str]]:
    """The entries whose marker holds for this interpreter (or ``env``), by name; plus
    notes about markers that could not be evaluated or names locked twice."""
    chosen: dict[str, LockEntry] = {}
    notes: list[str] = []
    for e in entries:
        if e.marker:
            try:
                if not _holds(e.marker, tuple(sorted(env.items())) if env else None):
                    continue
            except InvalidMarker as exc:
                notes.append(f"{e.name}: marker {e.marker!r} invalid ({exc})")
                continue
        if e.name in chosen and chosen[e.name].version != e.version:
            notes.append(f"{e.name} is locked at both {chosen[e.name].version} and "
                         f"{e.version} for this interpreter; using the first")
            continue
        chosen.setdefault(e.name, e)
    return chosen, notes


def installed_versions(found: Mapping[str, Installed] | None = None) -> dict[str, str]:
    """Installed distributions on ``sys.path``, canonical name -> version (first wins)."""
    found = found if found is not None else installed()
    return {key: dist.version for key, dist in found.items()}


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


@dataclass
class Comparison:
    """Lock versus installed."""

    missing: list[tuple[str, str]] = field(default_factory=list)  # (name, locked)
    mismatched: list[tuple[str, str, str]] = field(default_factory=list)  # name, locked, inst
    unexpected: list[tuple[str, str]] = field(default_factory=list)  # (name, installed)
    matched: int = 0

    def rows(self) -> list[dict[str, str | None]]:
        """One row per finding, for the report's table."""
        return ([{"package": n, "locked": v, "installed": None, "problem": "missing"}
                 for n, v in self.missing]
                + [{"package": n, "locked": v, "installed": i, "problem": "mismatch"}
                   for n, v, i in self.mismatched]
                + [{"package": n, "locked": None, "installed": i, "problem": "unexpected"}
                   for n, i in self.unexpected])


def compare(locked: Mapping[str, LockEntry], installed: Mapping[str, str],
            kind: str = "requirements", python_version: str | None = None,
            every: bool = False) -> Comparison:
    """Missing, mismatched and unexpected-but-relevant distributions (`every`: every
    unexpected one, for an environment built from the lock alone).

    For conda-lock, conda packages are compared only where a Python distribution of the same
    name is installed (most conda packages are not Python distributions: graphviz, libzlib).
    """
    cmp = Comparison()
    for name, entry in sorted(locked.items()):
        have = installed.get(name)
        if have is None and kind == "conda-lock" and name == "python" and python_version:
            have = python_version  # the interpreter is conda's python package
        if have is None:
            if kind == "conda-lock" and entry.manager == "conda":
                continue
            cmp.missing.append((name, entry.version))
        elif not _same_version(have, entry.version):
            cmp.mismatched.append((name, entry.version, have))
        else:
            cmp.matched += 1
    for name, have in sorted(installed.items()):
        if name not in locked and (every or RELEVANT.match(name)):
            cmp.unexpected.append((name, have))
    return cmp


def broken_requirements(env: Mapping[str, str] | None = None,
                        found: Mapping[str, Installed] | None = None) -> list[str]:
    """What ``pip check`` reports: requirements of installed distributions that are missing
    or at a version outside the range they ask for (markers evaluated, extras ignored).
    ``found``: the installed distributions, when the caller has read them already."""
    found = found if found is not None else installed()
    out: list[str] = []
    for dist in found.values():
        for raw in dist.requires:
            problem = _unmet(dist, raw, found, env)
            if problem:
                out.append(problem)
    return sorted(out)


def _unmet(dist: Installed, raw: str, found: Mapping[str, Installed],
           env: Mapping[str, str] | None) -> str | None:
    try:
        req = Requirement(raw)
    except InvalidRequirement:
        return None
    if req.marker is not None:
        try:
            if not req.marker.evaluate({**(env or {}), "extra": ""}):
                return None
        except InvalidMarker:
            return None
    have = found.get(canonicalize_name(req.name))
    if have is None:
        return f"{dist.name} {dist.version} requires {req.name}, which is not installed."
    if req.specifier and not req.specifier.contains(have.version, prereleases=True):
        return (f"{dist.name} {dist.version} has requirement {req}, but you have "
                f"{req.name} {have.version}.")
    return None
