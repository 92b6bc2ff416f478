"""The files a bundle carries for the people who use it: one install entry point per target
OS (each runs the installer of the bundle's own toolkit copy with ``--from-bundle``: the
same workflow as any install, from a checkout or not) and
a README for whoever carries the bundle to the lab on a USB stick."""

from __future__ import annotations

from collections.abc import Sequence

from envs.contract.facts import PYTHONS

__all__ = ["INSTALL_PS1", "INSTALL_SH", "readme"]

INSTALL_SH = """#!/bin/sh
# kerasup offline bundle: install from this folder with no network at all.
# Usage: sh install.sh [--prefix DIR] [--yes] [--expect-sha256 HEX]   (setup/ubuntu.sh's options)
#
# What this trusts: the toolkit in this folder. It runs toolkit/setup/ubuntu.sh, the same
# installer as a checkout's, which checks every file against MANIFEST.json first. To trust
# the bundle by its content rather than by its own say-so, pin it: --expect-sha256 with the
# MANIFEST.json sha256 that --make-bundle printed (or compare `sha256sum MANIFEST.json` with
# it before running this), or install from a trusted kerasup checkout instead:
#   ./setup/ubuntu.sh --from-bundle THIS_FOLDER --expect-sha256 HEX
# which also refuses a bundle whose lock is not the checkout's, and puts the checkout's
# toolkit in the environment.
#
# Each command ends in " #": a copy that gained Windows line endings (CRLF) still runs far
# enough to say so in one line.
cr=$(printf '\\r') #
if grep -q "$cr" "$0" 2>/dev/null; then #
    why="this bundle was copied with Windows line endings (CRLF), which changed its files" #
    echo "kerasup: error: $why (fix: copy it again in binary mode: the .tar.gz or .zip)" >&2 #
    exit 2 #
fi #
set -eu #
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd) #
export PYTHONDONTWRITEBYTECODE=1 # leave the bundle as it was built (it may be read-only)
exec bash "$here/toolkit/setup/ubuntu.sh" --from-bundle "$here" "$@" #
"""

INSTALL_PS1 = """# kerasup offline bundle: install from this folder with no network at all.
# Usage: powershell -ExecutionPolicy Bypass -File install.ps1 [-Prefix DIR] [-Yes]
$ErrorActionPreference = 'Stop'
$here = Split-Path -Parent $MyInvocation.MyCommand.Path
& (Join-Path $here 'toolkit\\setup\\windows.ps1') -FromBundle $here @args
exit $LASTEXITCODE
"""

_PYTHON_HINT = {
    "linux-64": "sudo apt-get install python3 python3-venv graphviz",
    "linux-aarch64": "sudo apt-get install python3 python3-venv graphviz",
    "osx-arm64": "brew install python@3.12 graphviz",
    "win-64": "winget install Python.Python.3.12 Graphviz.Graphviz",
}


def readme(variant: str, targets: Sequence[tuple[str, str]], commit: str,
           has_data: bool) -> str:
    """README.txt for the person carrying the bundle."""
    lines = [
        f"kerasup offline bundle: the {variant} environment, toolkit commit {commit}",
        "",
        "Made for: " + ", ".join(f"{p} with Python {py}" for p, py in targets) + ".",
        "",
        "Install (no network needed; every file is checked against MANIFEST.json first):",
        "  Linux / macOS:  sh install.sh [--prefix DIR] [--yes]   (sh: USB sticks drop the x bit)",
        "  Windows:        powershell -ExecutionPolicy Bypass -File install.ps1",
        "",
        f"The target machine needs a supported Python ({PYTHONS[0]} to {PYTHONS[-1]}) and "
        "graphviz from its own",
        "OS image; the bundle carries no Python interpreter, because the environment must",
        "link against the interpreter and system libraries of the machine it runs on, and a",
        "foreign interpreter would need its own security updates. Install them with:",
    ]
    lines += [f"  {p}: {_PYTHON_HINT.get(p, 'your OS package manager')}"
              for p in sorted({p for p, _ in targets})]
    lines += [
        "",
        "Do not add, remove or edit files here: the installer refuses a bundle whose files",
        "differ from MANIFEST.json, naming the file. Copy the whole folder (or the .tar.gz /",
        ".zip) and, if it is refused, copy it again or rebuild it with",
        "  ./setup/ubuntu.sh --make-bundle DIR --platform P --python X.Y",
        "",
        "Contents: wheels/ (the locked packages, hashes in toolkit/envs/*/requirements.txt),",
        "uv/ (the pinned installer tool), toolkit/ (kerasup itself), sbom.cdx.json (CycloneDX",
        "list of the packages)" + (", mnist/ (digits for the verify step)." if has_data else "."),
        "",
    ]
    return "\n".join(lines)
