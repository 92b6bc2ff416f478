"""The Jupyter kernel setup registers for the environment (the ``register-kernel`` action).

The name and the command come from :mod:`envs.contract.kernel` (verify's ``jupyter_kernel``
check uses the same); this module decides where the kernelspec lands and whether it is
already right, so an up-to-date environment stays an honest no-op.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath

from envs.contract import kernel
from setup.installer.target import Target

__all__ = ["KernelPlan", "kernel_plan", "kernels_dir"]


def kernels_dir(target: Target, environ: Mapping[str, str],
                kernel_prefix: Path | None = None) -> Path:
    """Where ``ipykernel install`` puts kernelspecs: ``<prefix>/share/jupyter/kernels`` for
    ``--kernel-prefix``; per user Jupyter's own data dir (JUPYTER_DATA_DIR first)."""
    if kernel_prefix is not None:
        return kernel_prefix / "share" / "jupyter" / "kernels"
    if environ.get("JUPYTER_DATA_DIR"):
        return Path(environ["JUPYTER_DATA_DIR"]) / "kernels"
    home = Path(environ.get("HOME") or environ.get("USERPROFILE") or Path.home())
    if target.is_windows:
        return Path(environ.get("APPDATA") or home / "AppData" / "Roaming") / "jupyter" / \
            "kernels"
    if target.os == "osx":
        return home / "Library" / "Jupyter" / "kernels"
    data = environ.get("XDG_DATA_HOME") or str(home / ".local" / "share")
    return Path(data) / "jupyter" / "kernels"


@dataclass(frozen=True)
class KernelPlan:
    """The kernel to register: its name, display name, folder, command; ``current`` when
    that folder already holds this kernelspec (nothing to do)."""

    name: str
    display_name: str
    directory: Path
    command: tuple[str, ...]
    current: bool


def _is_current(spec_file: Path, env_python: PurePath, display: str) -> bool:
    try:
        spec = json.loads(spec_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    argv = spec.get("argv") if isinstance(spec, dict) else None
    return bool(argv) and argv[0] == str(env_python) and spec.get("display_name") == display


def kernel_plan(*, variant: str, python: str, prefix: Path, default: bool,
                env_python: PurePath, target: Target, environ: Mapping[str, str],
                name: str | None = None, kernel_prefix: Path | None = None) -> KernelPlan:
    """What registering the environment's kernel means here (``name`` overrides the
    derived ``kerasup-<variant>[-<hash>]``)."""
    name = name or kernel.kernel_name(variant, prefix, default=default)
    display = kernel.display_name(python, variant, default=default, prefix=prefix)
    directory = kernels_dir(target, environ, kernel_prefix) / name
    command = kernel.register_argv(str(env_python), name, display,
                                   kernel_prefix=str(kernel_prefix) if kernel_prefix else None)
    return KernelPlan(name, display, directory, tuple(command),
                      _is_current(directory / "kernel.json", env_python, display))
