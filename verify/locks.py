"""Read a lock (pip requirements.txt, conda-lock.yml, pylock.toml) and compare it with what
is installed; also the dependency check ``pip check`` does, without needing pip.

Needs only the standard library, ``packaging`` and (for conda-lock.yml) ``pyyaml``.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

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


class LockError(Exception):
    """The lock cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class LockEntry:
    """One locked distribution (name canonicalized)."""

    name: str
    version: str
    marker: str | None = None
    manager: str = "pip"  # conda-lock entries: "conda" or "pip"


def parse_requirements_lock(text: str, source: str = "requirements.txt") -> list[LockEntry]:
    """``name==version ; marker`` lines with ``--hash`` options, ``\\`` continuations and
    comments, as ``uv pip compile --generate-hashes`` or pip-tools write them."""
    entries: list[LockEntry] = []
    logical = re.sub(r"\\\r?\n", " ", text)
    for lineno, raw in enumerate(logical.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line or line.startswith("-"):
            continue
        line = re.sub(r"\s--hash[=\s]\S+", "", line).strip()
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise LockError(f"{source}: line {lineno}: not a requirement ({exc})") from exc
        pins = [s for s in req.specifier if s.operator in ("==", "===")]
        if len(pins) != 1:
            raise LockError(f"{source}: {req.name} is not pinned with == (a lock pins every "
                            "package)")
        entries.append(LockEntry(canonicalize_name(req.name), pins[0].version,
                                 str(req.marker) if req.marker else None))
    if not entries:
        raise LockError(f"{source}: no pinned requirements found")
    return entries


def parse_conda_lock(text: str, platform: str, source: str = "conda-lock.yml") -> list[LockEntry]:
    """The entries of a conda-lock v1 file for one conda platform (``linux-64``...)."""
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LockError(f"{source}: not valid YAML ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("package"), list):
        raise LockError(f"{source}: not a conda-lock file (no 'package' list)")
    if doc.get("version") not in (1, None):
        raise LockError(f"{source}: conda-lock format version {doc.get('version')} is not "
                        "supported (version 1 is)")
    platforms = (doc.get("metadata") or {}).get("platforms") or []
    if platforms and platform not in platforms:
        raise LockError(f"{source}: no entries for {platform} (it locks "
                        f"{', '.join(map(str, platforms))})")
    entries = []
    for pkg in doc["package"]:
        if not isinstance(pkg, dict) or pkg.get("platform") != platform:
            continue
        entries.append(LockEntry(canonicalize_name(str(pkg["name"])), str(pkg["version"]),
                                 None, str(pkg.get("manager", "conda"))))
    if not entries:
        raise LockError(f"{source}: no entries for {platform}")
    return entries


def parse_pylock(text: str, source: str = "pylock.toml") -> list[LockEntry]:
    """The packages of a PEP 751 ``pylock.toml``."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LockError(f"{source}: not valid TOML ({exc})") from exc
    pkgs = doc.get("packages")
    if not isinstance(pkgs, list) or not pkgs:
        raise LockError(f"{source}: no [[packages]] table")
    return [LockEntry(canonicalize_name(str(p["name"])), str(p.get("version", "")),
                      p.get("marker")) for p in pkgs if isinstance(p, dict) and "name" in p]


def lock_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".yml", ".yaml")):
        return "conda-lock"
    if name.endswith(".toml"):
        return "pylock"
    return "requirements"


def load_lock(path: Path, platform: str) -> tuple[str, list[LockEntry]]:
    """The kind of lock and its entries (for conda-lock, this platform's)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LockError(f"{path}: unreadable ({exc})") from exc
    kind = lock_kind(path)
    if kind == "conda-lock":
        return kind, parse_conda_lock(text, platform, str(path))
    if kind == "pylock":
        return kind, parse_pylock(text, str(path))
    return kind, parse_requirements_lock(text, str(path))


@dataclass
class Coverage:
    """Which Pythons and platforms a lock says it covers (None: it does not say)."""

    pythons: list[str] | None = None  # "3.12" ...
    python_spec: str | None = None  # ">=3.11, <3.14"
    platforms: list[str] | None = None  # conda names
    environments: list[str] | None = None  # pylock marker list
    source: str = ""


def _header(text: str, key: str) -> list[str] | None:
    m = re.search(rf"^#\s*{re.escape(key)}:\s*(.+)$", text, re.MULTILINE)
    return m.group(1).split() if m else None


def lock_coverage(path: Path, platform: str) -> Coverage:
    """What the lock declares: the ``# kerasup-pythons:``/``# kerasup-platforms:`` header of
    our pip locks, pylock's ``requires-python``/``environments``, conda-lock's platforms and
    its conda ``python`` package."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LockError(f"{path}: unreadable ({exc})") from exc
    cov = Coverage(_header(text, "kerasup-pythons"), None, _header(text, "kerasup-platforms"),
                   None, f"{path.name} header")
    kind = lock_kind(path)
    if kind == "pylock":
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise LockError(f"{path}: not valid TOML ({exc})") from exc
        cov.python_spec = doc.get("requires-python")
        envs = doc.get("environments")
        cov.environments = [str(e) for e in envs] if isinstance(envs, list) else None
        cov.source = f"{path.name} (requires-python, environments)"
    elif kind == "conda-lock":
        import yaml

        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise LockError(f"{path}: not valid YAML ({exc})") from exc
        doc = doc if isinstance(doc, dict) else {}
        meta = doc.get("metadata")
        plats = meta.get("platforms") if isinstance(meta, dict) else None
        cov.platforms = [str(p) for p in plats] if isinstance(plats, list) else None
        pythons = [str(p.get("version")) for p in doc.get("package") or []
                   if isinstance(p, dict) and p.get("name") == "python"
                   and p.get("manager", "conda") == "conda" and p.get("platform") == platform]
        if pythons:
            cov.pythons = sorted({".".join(v.split(".")[:2]) for v in pythons})
        cov.source = f"{path.name} (metadata.platforms, conda python)"
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
                if not Marker(e.marker).evaluate(dict(env) if env else None):
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


def installed_versions() -> dict[str, str]:
    """Installed distributions on ``sys.path``, canonical name -> version (first wins)."""
    out: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata.get("Name")  # type: ignore[attr-defined]
        if name:
            out.setdefault(canonicalize_name(name), dist.version)
    return out


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
            kind: str = "requirements", python_version: str | None = None) -> Comparison:
    """Missing, mismatched and unexpected-but-relevant distributions.

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
        if name not in locked and RELEVANT.match(name):
            cmp.unexpected.append((name, have))
    return cmp


def broken_requirements(env: Mapping[str, str] | None = None) -> list[str]:
    """What ``pip check`` reports: requirements of installed distributions that are missing
    or at a version outside the range they ask for (markers evaluated, extras ignored)."""
    installed = installed_versions()
    seen: set[str] = set()
    out: list[str] = []
    for dist in importlib.metadata.distributions():
        name = dist.metadata.get("Name")  # type: ignore[attr-defined]
        if not name or canonicalize_name(name) in seen:
            continue
        seen.add(canonicalize_name(name))
        for raw in dist.requires or []:
            try:
                req = Requirement(raw)
            except InvalidRequirement:
                continue
            if req.marker is not None:
                try:
                    if not req.marker.evaluate({**(env or {}), "extra": ""}):
                        continue
                except InvalidMarker:
                    continue
            have = installed.get(canonicalize_name(req.name))
            if have is None:
                out.append(f"{name} {dist.version} requires {req.name}, which is not "
                           "installed.")
            elif req.specifier and not req.specifier.contains(have, prereleases=True):
                out.append(f"{name} {dist.version} has requirement {req}, but you have "
                           f"{req.name} {have}.")
    return sorted(out)
