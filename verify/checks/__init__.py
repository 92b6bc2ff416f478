"""The checks: one module ``check_<name>.py`` per check, each with exactly one test function.

A module's docstring is the check's one-line description (``python -m verify --list``).
"""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["CHECK_NAMES", "TENSORFLOW_CHECKS", "check_path", "describe", "normalize_name"]

HERE = Path(__file__).resolve().parent

# Run order: cheap facts first, so a broken basic layer is reported before the heavy checks;
# the checks that need no TensorFlow run while verify.preload imports it. packages comes
# last: its survey runs in a child at a lower priority from the start of the run (see its
# prefetch), and on a busy machine waiting for it must not hold up the checks behind it.
CHECK_NAMES: tuple[str, ...] = (
    "python_platform", "keras_json", "jupyter_kernel", "gpu", "mnist", "model_graph", "packages",
)
# The checks that import TensorFlow and Keras (verify.preload starts that import at once).
TENSORFLOW_CHECKS: frozenset[str] = frozenset({"gpu", "mnist", "model_graph"})


def check_path(name: str) -> Path:
    """The module file that holds the check called ``name``."""
    return HERE / f"check_{name}.py"


def normalize_name(name: str) -> str:
    """Accept ``model-graph``, ``Model_Graph`` and ``check_model_graph`` for ``model_graph``."""
    name = name.strip().lower().replace("-", "_")
    return name.removeprefix("check_").removesuffix(".py")


def describe(name: str) -> str:
    """The first line of the check module's docstring, read without importing it."""
    doc = ast.get_docstring(ast.parse(check_path(name).read_text(encoding="utf-8"))) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""
