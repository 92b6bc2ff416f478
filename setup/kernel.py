"""What a running notebook kernel needs around an in-place install: which installed
distributions it has already imported (so a restart is asked for only when one of them
changed), which of the lock's packages are the kernel's own (kept as the runtime has them),
and which preinstalled TensorFlow distributions clash with the lock's.

Standard library and the contract only (``packaging`` is used lazily, where the kernel
has it; never pip's private copy of it).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from envs.contract.piplock import canonical_name, parse_requirements, without

__all__ = ["KERNEL_ROOTS", "TENSORFLOW_DISTRIBUTIONS", "Snapshot", "changes", "lock_without",
           "locked_names", "restart_reasons", "take_snapshot", "tensorflow_conflicts"]

# The packages a notebook runtime runs its kernel and front end with. Colab pins them
# (google.colab is built against its IPython, ipykernel, Jupyter server and notebook
# runner), so there the lock is installed without them and without what only they need;
# elsewhere the whole lock goes in.
# pip is the runtime's own installer too: the lock's pip is for environments kerasup makes.
KERNEL_ROOTS = frozenset({"ipykernel", "jupyterlab", "nbclient", "nbformat", "pip"})
# Distributions that all install the same `tensorflow` package: only one may be present.
TENSORFLOW_DISTRIBUTIONS = frozenset({
    "tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel", "tensorflow-macos",
    "tf-nightly", "tf-nightly-cpu",
})


@dataclass(frozen=True)
class Snapshot:
    """Installed distribution versions, and which of them this kernel has already imported."""

    versions: dict[str, str]
    # canonical distribution name -> the imported modules it provides (e.g. "numpy": ["numpy"])
    imported: dict[str, list[str]] = field(default_factory=dict)


def _import_roots(dist: importlib.metadata.Distribution) -> set[str]:
    """The importable names a distribution installs: `numpy`, or `google.protobuf` under a
    namespace package."""
    files = dist.files or []
    paths = {f.as_posix() for f in files}
    roots: set[str] = set()
    for f in files:
        parts = f.parts
        if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith(
                (".dist-info", ".data", ".egg-info")):
            continue
        if len(parts) == 1:
            if parts[0].endswith((".py", ".so", ".pyd")):
                roots.add(parts[0].split(".", 1)[0])
            continue
        if f"{parts[0]}/__init__.py" in paths or len(parts) == 2:
            roots.add(parts[0])
        else:  # a namespace package (no __init__.py): its subpackage is what is imported
            roots.add(f"{parts[0]}.{parts[1].split('.', 1)[0]}")
    return roots


def take_snapshot(modules: Iterable[str] | None = None) -> Snapshot:
    """Versions of every installed distribution, and the imported ones among `modules`
    (default: this kernel's sys.modules)."""
    importlib.invalidate_caches()
    versions: dict[str, str] = {}
    dists: dict[str, importlib.metadata.Distribution] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and canonical_name(name) not in versions:  # the first on sys.path is the one used
            versions[canonical_name(name)] = dist.version
            dists[canonical_name(name)] = dist
    loaded = set(sys.modules if modules is None else modules)
    tops = {m.partition(".")[0] for m in loaded}
    owners = importlib.metadata.packages_distributions()
    candidates = {canonical_name(o) for top in tops for o in owners.get(top, [])}
    imported: dict[str, list[str]] = {}
    for owner in sorted(candidates & set(dists)):
        hits = sorted(root for root in _import_roots(dists[owner]) if root in loaded)
        if hits:
            imported[owner] = hits
    return Snapshot(versions, imported)


def restart_reasons(before: Snapshot, after: Snapshot) -> list[str]:
    """One line per distribution that changed although this kernel had imported it.

    Empty means the new versions are picked up without a restart.
    """
    reasons = []
    for name, mods in sorted(before.imported.items()):
        old, new = before.versions.get(name), after.versions.get(name)
        if old != new:
            change = f"{old} -> {new}" if new else f"{old} -> removed"
            reasons.append(f"{name} {change} (imported here as {', '.join(mods)})")
    return reasons


def changes(before: Snapshot, after: Snapshot) -> dict[str, tuple[str | None, str | None]]:
    names = set(before.versions) | set(after.versions)
    return {n: (before.versions.get(n), after.versions.get(n)) for n in sorted(names)
            if before.versions.get(n) != after.versions.get(n)}


def locked_names(lock: Path) -> set[str] | None:
    """Distributions `lock` installs on this interpreter (markers evaluated here), or None
    where `packaging` (every Jupyter kernel has it: ipykernel needs it) is not importable
    to evaluate them."""
    try:
        from packaging.markers import Marker
    except ImportError:
        return None
    entries = parse_requirements(lock.read_text(encoding="utf-8"), str(lock))
    return {e.name for e in entries if not e.marker or Marker(e.marker).evaluate()}


def lock_without(text: str, roots: Iterable[str]) -> tuple[str, list[str]]:
    """A pip lock's text without `roots` and the entries only they need; and the names left
    out, sorted (:func:`envs.contract.piplock.without`)."""
    return without(text, roots)


def tensorflow_conflicts(locked: Iterable[str], installed: Iterable[str]) -> list[str]:
    """Installed TensorFlow distributions the lock does not name (e.g. Colab's `tensorflow`
    where the CPU lock has `tensorflow-cpu`): they share files, so they go first."""
    locked_tf = {canonical_name(n) for n in locked} & TENSORFLOW_DISTRIBUTIONS
    if not locked_tf:
        return []
    return sorted({canonical_name(n) for n in installed} & TENSORFLOW_DISTRIBUTIONS - locked_tf)


