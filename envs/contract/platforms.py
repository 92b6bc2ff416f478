"""Conda platform names, the one OS/architecture normaliser, and the variant x platform
combinations kerasup refuses, each with its reason and its fix.

Every other table of platforms (the lock step's wheel tags, the installer's paths) is keyed by
the names defined here, and tests hold them to it.
"""

from __future__ import annotations

import platform as _platform
import sys
from dataclasses import dataclass

__all__ = [
    "GLIBC_FLOOR",
    "MACOS_FLOOR",
    "PLATFORMS",
    "Platform",
    "Refusal",
    "current_platform",
    "normalise",
    "refusal",
    "wheel_platform_ok",
]

# The oldest system a locked wheel must run on: one floor for the lock step (its manylinux
# and macOS tags, conda's __glibc/__osx) and for the bundle builder (which wheels it carries).
GLIBC_FLOOR: tuple[int, int] = (2, 28)
MACOS_FLOOR: tuple[int, int] = (12, 0)
# The wheel-tag architecture of each platform a wheel can be chosen for.
_WHEEL_ARCH = {"linux-64": "x86_64", "linux-aarch64": "aarch64", "osx-arm64": "arm64",
               "win-64": "amd64", "win-arm64": "arm64"}
_LEGACY_MANYLINUX = {"manylinux1": 5, "manylinux2010": 12, "manylinux2014": 17}


@dataclass(frozen=True)
class Platform:
    """A conda platform (subdir) as an operating system and CPU architecture.

    ``os`` is ``sys.platform``'s family ("linux", "darwin", "win32"); ``machine`` is the
    normalised architecture ("x86_64", "aarch64" on Linux, "arm64" on macOS and Windows).
    """

    name: str
    os: str
    machine: str

    @property
    def is_windows(self) -> bool:
        return self.os == "win32"


# Every platform name kerasup understands; which of them a variant is locked for is the
# lock's own header (envs.contract.lockheader), and which it refuses is _REFUSALS below.
PLATFORMS: dict[str, Platform] = {p.name: p for p in (
    Platform("linux-64", "linux", "x86_64"),
    Platform("linux-aarch64", "linux", "aarch64"),
    Platform("linux-ppc64le", "linux", "ppc64le"),
    Platform("osx-64", "darwin", "x86_64"),
    Platform("osx-arm64", "darwin", "arm64"),
    Platform("win-64", "win32", "x86_64"),
    Platform("win-arm64", "win32", "arm64"),
)}

_OS_ALIASES = {"linux": "linux", "darwin": "darwin", "macos": "darwin", "win32": "win32",
               "windows": "win32", "cygwin": "win32", "msys": "win32"}
_MACHINE_ALIASES = {"amd64": "x86_64", "x86_64": "x86_64", "x64": "x86_64",
                    "aarch64": "aarch64", "arm64": "aarch64", "armv8l": "aarch64",
                    "ppc64le": "ppc64le"}


def normalise(system: str, machine: str) -> str:
    """The conda platform name for an OS and architecture as Python reports them.

    ``system`` may be ``sys.platform`` ("linux", "win32") or ``platform.system()`` ("Linux",
    "Windows", "Darwin"); ``machine`` is ``platform.machine()`` ("AMD64", "x86_64", "arm64").
    Unknown combinations come back as ``<os>-<machine>``, which no lock covers.
    """
    os_name = _OS_ALIASES.get(system.lower(), system.lower())
    if os_name.startswith("linux"):
        os_name = "linux"
    arch = _MACHINE_ALIASES.get(machine.lower(), machine.lower())
    if os_name != "linux" and arch == "aarch64":
        arch = "arm64"  # Apple and Microsoft call 64-bit Arm "arm64"
    for plat in PLATFORMS.values():
        if (plat.os, plat.machine) == (os_name, arch):
            return plat.name
    prefix = {"darwin": "osx", "win32": "win"}.get(os_name, os_name)
    return f"{prefix}-{arch}"


def current_platform() -> str:
    """This machine's conda platform name."""
    return normalise(sys.platform, _platform.machine())


@dataclass(frozen=True)
class Refusal:
    """Why kerasup makes no environment of a variant on a platform, and what to do instead."""

    reason: str
    fix: str


_REFUSALS: dict[tuple[str | None, str], Refusal] = {
    (None, "osx-64"): Refusal(
        "Intel Macs (osx-64) are not supported: TensorFlow publishes no macOS x86_64 wheels "
        "after 2.16",
        "use an Apple silicon Mac (osx-arm64), Linux, WSL2 or Colab"),
    (None, "win-arm64"): Refusal(
        "Windows on Arm (win-arm64) is not supported: TensorFlow publishes no Windows Arm "
        "wheels",
        "use WSL2 (linux-aarch64) or Colab"),
    (None, "linux-ppc64le"): Refusal(
        "Linux on POWER (linux-ppc64le) is not supported: TensorFlow publishes no ppc64le "
        "wheels on PyPI",
        "use a Linux x86_64 or aarch64 machine, or Colab"),
    ("gpu", "win-64"): Refusal(
        "TensorFlow has had no native-Windows GPU support since 2.10, so kerasup never installs "
        "a GPU build on Windows",
        "run setup/ubuntu.sh --variant gpu inside WSL2 (setup\\windows.ps1 -Variant gpu prints "
        "the commands), or use --variant cpu"),
    ("gpu", "osx-arm64"): Refusal(
        "the gpu variant needs CUDA, which macOS does not have",
        "use --variant cpu on a Mac"),
    ("gpu", "linux-aarch64"): Refusal(
        "tensorflow[and-cuda] is built for Linux x86_64 only",
        "use --variant cpu on linux-aarch64"),
}


def refusal(variant: str, platform: str) -> Refusal | None:
    """Why ``variant`` is refused on ``platform``, or None when kerasup does not refuse it."""
    return _REFUSALS.get((variant, platform)) or _REFUSALS.get((None, platform))


def wheel_platform_ok(platform: str, tag: str) -> bool:
    """Whether a machine of ``platform`` at the floors above installs a wheel whose platform
    tag is ``tag`` (``any``, ``manylinux_2_28_x86_64``, ``macosx_12_0_arm64`` ...)."""
    if tag == "any":
        return True
    arch = _WHEEL_ARCH.get(platform)
    info = PLATFORMS.get(platform)
    if arch is None or info is None:
        return False
    if info.os == "darwin" and tag.endswith("_universal2"):
        arch = "universal2"  # fat binaries for both macOS architectures
    if not tag.endswith("_" + arch):
        return False
    head = tag[:-len(arch) - 1]
    if info.os == "win32":
        return head == "win"
    if info.os == "darwin":
        parts = head.split("_")
        return (len(parts) == 3 and parts[0] == "macosx" and parts[1].isdigit()
                and parts[2].isdigit() and (int(parts[1]), int(parts[2])) <= MACOS_FLOOR)
    if head in _LEGACY_MANYLINUX:
        return (2, _LEGACY_MANYLINUX[head]) <= GLIBC_FLOOR
    parts = head.split("_")
    return (len(parts) == 3 and parts[0] == "manylinux" and parts[1] == "2"
            and parts[2].isdigit() and (2, int(parts[2])) <= GLIBC_FLOOR)
