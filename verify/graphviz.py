"""Graphviz's ``dot``: on PATH, installed but off PATH, or not installed, each with its fix.

``keras.utils.plot_model`` runs ``dot`` from PATH. A common state on lab machines is Graphviz
installed where PATH does not reach (the Windows installer's folder, Homebrew's prefix, this
environment's own ``bin``): then the fix is to add that folder to PATH, not to install it
again. Public: the model_graph check and ``examples/mnist_dense.py`` both use it.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from pathlib import Path

__all__ = ["TRAP", "dot_advice", "find_dot_off_path", "install_fix", "path_fix"]

TRAP = ("`pip install graphviz` installs only a Python wrapper, not the Graphviz `dot` program "
        "Keras runs; pydot (Python) and dot (a system program on PATH) are both needed")


def _candidates(system: str) -> list[Path]:
    """Folders Graphviz installs ``dot`` into that are often missing from PATH."""
    env_bin = Path(sys.prefix) / ("Library/bin" if system == "Windows" else "bin")
    if system == "Windows":
        roots = [os.environ.get(v) for v in ("ProgramFiles", "ProgramFiles(x86)",
                                             "LOCALAPPDATA")]
        return [env_bin, *(Path(r) / "Graphviz" / "bin" for r in roots if r)]
    return [env_bin, Path("/opt/homebrew/bin"), Path("/usr/local/bin"), Path("/usr/bin"),
            Path("/opt/local/bin"), Path("/snap/bin")]


def find_dot_off_path(system: str | None = None) -> Path | None:
    """A ``dot`` executable in a usual folder when none is on PATH; else None."""
    system = system or platform.system()
    if shutil.which("dot"):
        return None
    for folder in _candidates(system):
        found = shutil.which("dot", path=str(folder))
        if found:
            return Path(found)
    return None


def path_fix(dot: Path, system: str | None = None) -> str:
    """How to put ``dot``'s folder on PATH (for this shell and for good)."""
    system = system or platform.system()
    folder = dot.parent
    if system == "Windows":
        return (f'PowerShell: $env:Path += ";{folder}"   (for good: add {folder} to Path in '
                "System Properties > Environment Variables, then open a new terminal)")
    return (f'export PATH="{folder}:$PATH"   (for good: add that line to ~/.bashrc, '
            "~/.zshrc or ~/.profile)")


def install_fix(system: str | None = None, conda: bool | None = None) -> str:
    """The per-OS way to install Graphviz so that ``dot`` is on PATH."""
    system = system or platform.system()
    conda = (Path(sys.prefix) / "conda-meta").is_dir() if conda is None else conda
    lines = []
    if conda:
        lines.append("conda/micromamba env: conda install -c conda-forge graphviz")
    if system == "Windows":
        lines += ["winget install --id Graphviz.Graphviz   (or: choco install graphviz)",
                  r"then add C:\Program Files\Graphviz\bin to PATH and open a new terminal"]
    elif system == "Darwin":
        lines.append("brew install graphviz")
    else:
        lines.append("sudo apt-get install graphviz   (Fedora: sudo dnf install graphviz)")
    return "\n".join(lines)


def dot_advice(system: str | None = None) -> str | None:
    """None when ``dot`` is on PATH; else one line: where it is and how to add it to PATH,
    or how to install it."""
    if shutil.which("dot"):
        return None
    found = find_dot_off_path(system)
    if found is not None:
        return (f"Graphviz's dot is installed at {found} but that folder is not on PATH; "
                f"add it: {path_fix(found, system)}")
    return ("Graphviz's dot is not installed (not on PATH); install it: "
            + "; ".join(install_fix(system).splitlines()))
