"""The toolkit that runs on a target machine: the one definition of what travels.

An offline bundle carries it (``toolkit/``), a bundle install leaves a copy of it in the
environment (``share/kerasup/toolkit``, what the site hook points at), and the Ansible role
packs it for each host (``setup/ansible/.../pack_toolkit.py``). It is the runtime packages
only: the installer and its entry points, verify, the contract and the locks. Never the
tests, the lock step, the Ansible role (an admin's inventory and reports live there), the
benchmarks or anything a run leaves behind (caches, bytecode). Standard library only.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

__all__ = ["INCLUDE", "copy", "files", "wanted"]

# Top-level files and folders that travel (POSIX paths relative to the repository root).
INCLUDE = ("pyproject.toml", "LICENSE", "README.md", "envs", "setup", "verify")
# Below those: what never travels.
_EXCLUDE_PREFIXES = ("setup/ansible/", "envs/lock/")
_EXCLUDE_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", "tests"}
_EXCLUDE_SUFFIXES = (".pyc", ".pyo")


def wanted(rel: str) -> bool:
    """True when the repository-relative POSIX path ``rel`` is part of the payload."""
    path = PurePosixPath(rel)
    if not path.parts or path.parts[0] not in INCLUDE or path.is_absolute() or ".." in path.parts:
        return False
    if _EXCLUDE_PARTS & set(path.parts) or rel.endswith(_EXCLUDE_SUFFIXES):
        return False
    return not (rel + "/").startswith(_EXCLUDE_PREFIXES)


def files(root: Path) -> list[str]:
    """The payload's regular files under the checkout (or toolkit copy) ``root``, sorted;
    links are never followed or carried."""
    found: list[str] = []
    for top in INCLUDE:
        base = root / top
        if base.is_symlink():
            continue
        if base.is_file():
            found.append(top)
            continue
        found += _walk(base, root)
    return sorted(rel for rel in found if wanted(rel))


def _walk(base: Path, root: Path) -> Iterable[str]:
    """Regular files below ``base`` (os.walk never descends into a linked folder)."""
    for folder, _dirs, names in os.walk(base):
        for name in names:
            path = Path(folder, name)
            if path.is_file() and not path.is_symlink():
                yield path.relative_to(root).as_posix()


def copy(root: Path, dest: Path) -> int:
    """Copy the payload of ``root`` into the new directory ``dest`` (modes kept); the number
    of files. ``dest`` must not exist: the caller owns and clears it."""
    dest.mkdir(parents=True)
    rels = files(root)
    for rel in rels:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target, follow_symlinks=False)
    return len(rels)
