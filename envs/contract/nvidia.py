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

from envs.contract.procs import bounded

__all__ = ["WSL_LIB", "DriverQuery", "find_nvidia_smi", "hung_reason", "query_driver",
           "query_driver_why"]

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


def hung_reason(smi: str, timeout: float) -> str:
    """What a ``nvidia-smi`` that does not answer means, and what to check."""
    return (f"nvidia-smi ({smi}) did not answer within {timeout:g} s: the NVIDIA driver or a "
            "GPU is hung (check: run nvidia-smi yourself and look at `dmesg` for NVRM/Xid "
            "lines; a reboot usually clears it)")


def query_driver_why(environ: Mapping[str, str], timeout: float = 30,
                     ) -> tuple[DriverQuery | None, str | None]:
    """The driver as ``nvidia-smi`` reports it, or None and why (None when there is no
    ``nvidia-smi`` at all); a hung one is ended after ``timeout`` seconds and named."""
    smi = find_nvidia_smi(environ)
    if not smi:
        return None, None
    try:
        out = bounded([smi, "--query-gpu=name,driver_version", "--format=csv,noheader"],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                      timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, hung_reason(smi, timeout)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"nvidia-smi ({smi}) could not run: {exc}"
    first = out.stdout.strip().splitlines()[:1]
    if out.returncode != 0 or not first or "," not in first[0]:
        return None, None
    gpu, version = (part.strip() for part in first[0].rsplit(",", 1))
    return DriverQuery(gpu, version), None


def query_driver(environ: Mapping[str, str], timeout: float = 30) -> DriverQuery | None:
    """The driver as ``nvidia-smi`` reports it; None when none answers."""
    return query_driver_why(environ, timeout)[0]
