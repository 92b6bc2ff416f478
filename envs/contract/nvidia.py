"""Find the NVIDIA driver through ``nvidia-smi``, as setup and verify both need to.

WSL2 puts the Windows driver's ``nvidia-smi`` in /usr/lib/wsl/lib, which is often not on
PATH; it is searched after PATH. (Verify asks NVML first, through nvidia-ml-py, and falls back
to this.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["WSL_LIB", "DriverQuery", "find_nvidia_smi", "query_driver"]

WSL_LIB = "/usr/lib/wsl/lib"


@dataclass(frozen=True)
class DriverQuery:
    """What ``nvidia-smi`` said: the first GPU's name and the driver version."""

    gpu: str
    driver_version: str

    def describe(self) -> str:
        return f"{self.gpu}, driver {self.driver_version}"


def find_nvidia_smi(environ: Mapping[str, str]) -> str | None:
    """``nvidia-smi`` on PATH, else WSL2's copy; None when there is none."""
    path = os.pathsep.join(p for p in (environ.get("PATH", ""), WSL_LIB) if p)
    return shutil.which("nvidia-smi", path=path)


def query_driver(environ: Mapping[str, str], timeout: float = 30) -> DriverQuery | None:
    """The driver as ``nvidia-smi`` reports it; None when none answers."""
    smi = find_nvidia_smi(environ)
    if not smi:
        return None
    try:
        out = subprocess.run([smi, "--query-gpu=name,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    first = out.stdout.strip().splitlines()[:1]
    if out.returncode != 0 or not first or "," not in first[0]:
        return None
    gpu, version = (part.strip() for part in first[0].rsplit(",", 1))
    return DriverQuery(gpu, version)
