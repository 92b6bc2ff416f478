"""What a running notebook kernel needs around an in-place install: which installed
distributions it has already imported (so a restart is asked for only when one of them
changed), which of the lock's packages are the kernel's own (kept as the runtime has them),
and which preinstalled TensorFlow distributions clash with the lock's.

Standard library only (``packaging`` is used lazily, where the kernel has it).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["KERNEL_ROOTS", "TENSORFLOW_DISTRIBUTIONS", "Snapshot", "changes", "lock_without",
           "locked_names", "restart_reasons", "take_snapshot", "tensorflow_conflicts"]

# The packages a notebook runtime runs its kernel and front end with. Colab pins them
# (google.colab is built against its IPython, ipykernel, Jupyter server and notebook
# runner), so there the lock is installed without them and without what only they need;
# elsewhere the whole lock goes in.
KERNEL_ROOTS = frozenset({"ipykernel", "jupyterlab", "nbclient", "nbformat"})
# Distributions that all install the same `tensorflow` package: only one may be present.
TENSORFLOW_DISTRIBUTIONS = frozenset({
    "tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel", "tensorflow-macos",
    "tf-nightly", "tf-nightly-cpu",
})


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


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
        if name and _canonical(name) not in versions:  # the first on sys.path is the one used
            versions[_canonical(name)] = dist.version
            dists[_canonical(name)] = dist
    loaded = set(sys.modules if modules is None else modules)
    tops = {m.partition(".")[0] for m in loaded}
    owners = importlib.metadata.packages_distributions()
    candidates = {_canonical(o) for top in tops for o in owners.get(top, [])}
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
    where neither `packaging` (every Jupyter kernel has it: ipykernel needs it) nor pip's
    copy of it is importable to evaluate them."""
    try:
        from packaging.markers import Marker
    except ImportError:
        try:
            from pip._vendor.packaging.markers import Marker  # type: ignore[no-redef]
        except ImportError:
            return None
    names: set[str] = set()
    for line in lock.read_text(encoding="utf-8").splitlines():
        if not line or line[0].isspace() or line.startswith(("#", "-")):
            continue
        spec, _, marker = line.rstrip(" \\").partition(";")
        if not marker.strip() or Marker(marker.strip()).evaluate():
            names.add(_canonical(re.split(r"[=<>!~\[ ]", spec.strip(), maxsplit=1)[0]))
    return names


def lock_without(text: str, roots: Iterable[str]) -> tuple[str, list[str]]:
    """A pip lock's text without `roots` and the entries only they need (the lock's
    "# via" notes say who needs what); and the names left out, sorted."""
    header: list[str] = []
    blocks: list[tuple[str, list[str], set[str]]] = []  # (name, lines, needed by)
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            name = _canonical(re.split(r"[=<>!~\[ ;]", line.strip(), maxsplit=1)[0])
            blocks.append((name, [line], set()))
        elif blocks:
            blocks[-1][1].append(line)
            note = line.strip().removeprefix("#").strip().removeprefix("via").strip()
            if line.strip().startswith("#") and note:
                blocks[-1][2].add(_canonical(note.split()[0]))
        else:
            header.append(line)
    dropped = {_canonical(r) for r in roots}
    while True:
        more = {name for name, _, via in blocks
                if name not in dropped and via and via <= dropped}
        if not more:
            break
        dropped |= more
    kept = [line for name, lines, _ in blocks if name not in dropped for line in lines]
    left_out = sorted(name for name, _, _ in blocks if name in dropped)
    return "\n".join([*header, *kept]) + "\n", left_out


def tensorflow_conflicts(locked: Iterable[str], installed: Iterable[str]) -> list[str]:
    """Installed TensorFlow distributions the lock does not name (e.g. Colab's `tensorflow`
    where the CPU lock has `tensorflow-cpu`): they share files, so they go first."""
    locked_tf = {_canonical(n) for n in locked} & TENSORFLOW_DISTRIBUTIONS
    if not locked_tf:
        return []
    return sorted({_canonical(n) for n in installed} & TENSORFLOW_DISTRIBUTIONS - locked_tf)


