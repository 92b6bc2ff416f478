"""The Jupyter kernel setup registers for the environment (the ``register-kernel`` action).

The name and the command come from :mod:`envs.contract.kernel` (verify's ``jupyter_kernel``
check uses the same); this module decides where the kernelspec lands and whether it is
already right, so an up-to-date environment stays an honest no-op.

``ipykernel install`` deletes ``kernels/<name>`` before writing it, so the plan refuses, before
anything is installed: a name Jupyter does not accept (``.`` and ``..`` included), a kernel of
that name that kerasup did not register (its ``argv[0]`` is neither this environment's Python
nor one in an environment kerasup made), and a kernels folder this account cannot write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath

from envs.contract import kernel, places
from envs.contract.errors import UsageError
from envs.contract.layout import Layout
from setup.installer.target import Target

__all__ = ["KernelPlan", "kernel_plan", "kernels_dir", "refuse_unwritable"]


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


def _spec_python(directory: Path) -> str | None:
    try:
        spec = json.loads((directory / "kernel.json").read_text(encoding="utf-8"))
        argv = spec.get("argv") if isinstance(spec, dict) else None
    except (OSError, ValueError):
        return None
    return argv[0] if isinstance(argv, list) and argv and isinstance(argv[0], str) else None


def _made_by_kerasup(directory: Path, env_python: PurePath) -> bool:
    """The kernelspec at ``directory`` runs this environment's Python, or the Python of an
    environment kerasup made (its marker or install record): kerasup registered it."""
    if directory.is_symlink() or not directory.is_dir():
        return False
    python = _spec_python(directory)
    if python is None:
        return False
    if python == str(env_python):
        return True
    exe = Path(python)
    return any(Layout(p).owned() for p in exe.parents[:2])


def _refuse_foreign(directory: Path, env_python: PurePath, name: str) -> None:
    if not (directory.exists() or directory.is_symlink()):
        return
    if _made_by_kerasup(directory, env_python):
        return
    raise UsageError(f"a Jupyter kernel named {name!r} that kerasup did not register is already "
                     f"at {directory}; registering would replace it",
                     fix="choose another name with --kernel-name NAME, or move that folder "
                         "away yourself, then run again")


def refuse_unwritable(kernels: Path, kernel_prefix: Path | None) -> None:
    """UsageError when this account cannot create ``kernels`` (or write in it)."""
    blocked = places.unwritable(kernels)
    if blocked is None:
        return
    where = f"--kernel-prefix {kernel_prefix}: " if kernel_prefix else ""
    fix = ("run setup as the account that owns it (e.g. with sudo) for a system-wide kernel, "
           "or drop --kernel-prefix to register the kernel for this user only"
           if kernel_prefix else "make that folder writable (or set JUPYTER_DATA_DIR), or "
           "add --no-kernel")
    raise UsageError(f"{where}{places.account()} cannot create {kernels} ({blocked} is not "
                     "writable by this account)", fix=fix)


def kernel_plan(*, variant: str, python: str, prefix: Path, default: bool,
                env_python: PurePath, target: Target, environ: Mapping[str, str],
                name: str | None = None, kernel_prefix: Path | None = None) -> KernelPlan:
    """What registering the environment's kernel means here (``name`` overrides the
    derived ``kerasup-<variant>[-<hash>]``)."""
    name = (name or kernel.kernel_name(variant, prefix, default=default)).lower()
    problem = kernel.name_problem(name)
    if problem:
        raise UsageError(f"--kernel-name {name!r}: {problem}",
                         fix="choose a name such as kerasup-lab, or drop --kernel-name")
    display = kernel.display_name(python, variant, default=default, prefix=prefix)
    kernels = kernels_dir(target, environ, kernel_prefix)
    directory = kernels / name
    command = kernel.register_argv(str(env_python), name, display,
                                   kernel_prefix=str(kernel_prefix) if kernel_prefix else None)
    current = _is_current(directory / "kernel.json", env_python, display)
    if not current:
        _refuse_foreign(directory, env_python, name)
        refuse_unwritable(kernels, kernel_prefix)
    return KernelPlan(name, display, directory, tuple(command), current)
