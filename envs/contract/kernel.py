"""The Jupyter kernel setup registers for an environment: its name and display name.

Setup writes it (``<env python> -m ipykernel install``), verify's ``jupyter_kernel`` check
looks it up and names the same command as its fix, so both derive the name here, once.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

__all__ = ["PREFIX", "display_name", "kernel_name", "name_problem", "register_argv"]

# jupyter_client.kernelspec's own rule (_kernel_name_pat), which it applies after lowering
# the name: ipykernel installs ``--name MyKernel`` as the folder ``mykernel``.
_JUPYTER_NAME = re.compile(r"[a-z0-9._\-]+", re.IGNORECASE)

PREFIX = "kerasup-"  # every kernel kerasup registers is called kerasup-<variant>[-<hash>]


def kernel_name(variant: str, prefix: str | os.PathLike[str], *, default: bool) -> str:
    """``kerasup-<variant>`` for the default environment (``.venv`` in the checkout), else
    ``kerasup-<variant>-<8 hex of the prefix's real path>`` so two environments never take
    each other's kernel."""
    if default:
        return f"{PREFIX}{variant}"
    digest = hashlib.sha256(os.path.realpath(prefix).encode("utf-8", "surrogateescape"))
    return f"{PREFIX}{variant}-{digest.hexdigest()[:8]}"


def display_name(python: str, variant: str, *, default: bool,
                 prefix: str | os.PathLike[str] = "") -> str:
    """What Jupyter's launcher shows: ``Python 3.12 (kerasup cpu)`` (plus the folder's name
    for an environment outside the default place)."""
    where = "" if default else f", {Path(os.path.realpath(prefix)).name}"
    return f"Python {python} (kerasup {variant}{where})"


def register_argv(env_python: str, name: str, display: str, *,
                  kernel_prefix: str | None = None) -> list[str]:
    """The command that (re)registers the kernel: per user, or under ``kernel_prefix``
    (``<dir>/share/jupyter/kernels``, what a system-wide install uses). ipykernel replaces
    a kernelspec of the same name, so a second run never adds a duplicate."""
    where = ["--prefix", kernel_prefix] if kernel_prefix else ["--user"]
    return [env_python, "-m", "ipykernel", "install", *where, "--name", name,
            "--display-name", display]


def name_problem(name: str) -> str | None:
    """Why Jupyter cannot use ``name`` as a kernel's folder name; None when it can.

    Jupyter's pattern, less ``.`` and ``..``: its pattern lets them through, and installing a
    kernelspec first deletes ``kernels/<name>``, which for those is the kernels folder itself
    or Jupyter's whole data folder."""
    if not _JUPYTER_NAME.fullmatch(name):
        return "a kernel name is ASCII letters, digits and . _ - (Jupyter's rule)"
    if name in (".", ".."):
        return "names the kernels folder or its parent, not a kernel"
    return None
