"""Before anything heavy is imported: is this Python a kerasup environment at all?

``python3 -m verify`` run with the system Python (no pytest, no TensorFlow) would otherwise
die with an ImportError traceback. Standard library and the contract only; it looks the
packages up without importing them.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import sys
from pathlib import Path

from envs.contract.errors import UsageError

__all__ = ["REQUIRED", "check_environment", "default_prefix"]

# What every check needs importable (found, not imported: TensorFlow takes seconds).
REQUIRED = ("pytest", "packaging", "yaml", "numpy", "tensorflow", "keras")


def default_prefix() -> Path:
    """Where setup puts the environment by default: ``.venv`` in the kerasup checkout."""
    return Path(__file__).resolve().parent.parent / ".venv"


def _scripts(prefix: Path) -> Path:
    return prefix / ("Scripts" if os.name == "nt" else "bin")


def _fix(prefix: Path) -> str:
    python = _scripts(prefix) / ("python.exe" if os.name == "nt" else "python")
    if not python.exists():
        return ("create the environment first: bash setup/ubuntu.sh (Windows: "
                f"setup\\windows.ps1), then: {python} -m verify")
    if os.name == "nt":
        activate = f"{_scripts(prefix) / 'Activate.ps1'}"
    else:
        activate = f"source {shlex.quote(str(_scripts(prefix) / 'activate'))}"
    return f"{python} -m verify   (or activate it: {activate}; then python -m verify)"


def check_environment(prefix: Path | None = None) -> None:
    """UsageError naming the environment to use when a package verify needs is missing."""
    missing = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
    if not missing:
        return
    raise UsageError(
        f"this Python ({sys.executable}) is not a kerasup environment: "
        f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed",
        fix=_fix(prefix or default_prefix()))
