"""Copied into an environment's site-packages as ``_kerasup_path.py`` by setup.

``kerasup.pth`` holds one line, ``import _kerasup_path; _kerasup_path.install('<root>')``.
:func:`install` appends a meta-path finder that resolves only the toolkit's run-time
packages (:data:`NAMES`) from the kerasup checkout, so ``import verify`` and
``python -m verify`` work from any directory while the checkout's other top-level names
(``setup``, ``tests``, ``examples``, ``benchmarks``, ``noxfile``) stay unimportable. This is
the technique of setuptools' editable installs; it needs nothing but the standard library.
"""

from __future__ import annotations

import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = ["NAMES", "ToolkitFinder", "install"]

NAMES = ("verify", "envs")


class ToolkitFinder:
    """Finds the top-level packages in :data:`NAMES` under one directory, nothing else.

    A meta-path finder needs only ``find_spec``; not subclassing importlib.abc's keeps that
    module's ~35 ms import (importlib.resources and more) out of every Python started in the
    environment, since the .pth file runs this at start-up."""

    def __init__(self, root: str) -> None:
        self.root = root

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in NAMES:
            return None  # submodules are found through the package's own __path__
        return importlib.machinery.PathFinder.find_spec(fullname, [self.root])

    def __repr__(self) -> str:
        return f"ToolkitFinder({self.root!r})"


def install(root: str) -> None:
    """Add the finder for ``root`` once (a .pth line may be run more than once)."""
    if not any(isinstance(f, ToolkitFinder) and f.root == root for f in sys.meta_path):
        sys.meta_path.append(ToolkitFinder(root))
