"""The one platform table: each conda platform kerasup knows, with its PEP 508 marker values,
its wheel-tag architecture, the one floor its wheels must run at (glibc 2.28, macOS 12) and the
pinned uv wheel a bundle carries for it; the one OS/architecture normaliser; and the variant x
platform combinations kerasup refuses, each with its reason and its fix.

The lock step (envs.lock.platforms: its targets, marker environments and wheel tags) and the
bundle builder (setup.installer.bundle: which wheels and which uv it carries) both read these
facts; the wheel-tag rules built on them are :mod:`envs.contract.wheeltags`. Tests hold both
uses to this one table.
"""

from __future__ import annotations

import platform as _platform
import sys
from dataclasses import dataclass

__all__ = [
    "GLIBC_FLOOR",
    "MACOS_FLOOR",
    "PLATFORMS",
    "UV_VERSION",
    "WHEEL_PLATFORMS",
    "Platform",
    "Refusal",
    "UvWheel",
    "current_platform",
    "normalise",
    "refusal",
]

# The oldest system a locked wheel must run on: one floor for the lock step (its manylinux
# and macOS tags, conda's __glibc/__osx) and for the bundle builder (which wheels it carries).
GLIBC_FLOOR: tuple[int, int] = (2, 28)
MACOS_FLOOR: tuple[int, int] = (12, 0)
# The uv that installs every environment (setup/tools-requirements.txt pins the same; a test
# holds them together) and that a bundle carries for each of its platforms.
UV_VERSION = "0.13.9"
# platform.system() and os.name as PEP 508 markers see them, per sys.platform family.
_SYSTEM = {"linux": ("Linux", "posix"), "darwin": ("Darwin", "posix"), "win32": ("Windows", "nt")}


@dataclass(frozen=True)
class UvWheel:
    """The pinned uv's wheel for one platform on PyPI (each sha256 is one of
    setup/tools-requirements.txt's hashes; a test holds them to it)."""

    path: str  # under https://files.pythonhosted.org/packages/
    tags: str  # the file name's platform tags
    size: int
    sha256: str

    @property
    def filename(self) -> str:
        return f"uv-{UV_VERSION}-py3-none-{self.tags}.whl"

    @property
    def url(self) -> str:
        return f"https://files.pythonhosted.org/packages/{self.path}/{self.filename}"


@dataclass(frozen=True)
class Platform:
    """A conda platform (subdir) as an operating system and CPU architecture.

    ``os`` is ``sys.platform``'s family ("linux", "darwin", "win32"); ``machine`` is the
    normalised architecture ("x86_64", "aarch64" on Linux, "arm64" on macOS and Windows).
    For a platform wheels are chosen for: ``marker_machine`` is ``platform_machine`` as PEP 508
    markers see it ("AMD64" on Windows), ``wheel_arch`` the wheel tags' architecture
    ("amd64" on Windows) and ``uv`` the uv wheel a bundle carries.
    """

    name: str
    os: str
    machine: str
    marker_machine: str | None = None
    wheel_arch: str | None = None
    uv: UvWheel | None = None

    @property
    def is_windows(self) -> bool:
        return self.os == "win32"

    def marker_environment(self, python: str) -> dict[str, str]:
        """PEP 508 marker values of CPython ``python`` ("3.12" or "3.12.13") here."""
        if self.marker_machine is None:
            raise KeyError(f"no marker environment for platform {self.name!r}")
        parts = python.split(".")
        full = python if len(parts) >= 3 else f"{python}.0"
        system, os_name = _SYSTEM[self.os]
        return {
            "implementation_name": "cpython",
            "implementation_version": full,
            "os_name": os_name,
            "platform_machine": self.marker_machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": system,
            "platform_version": "",
            "python_full_version": full,
            "python_version": ".".join(parts[:2]),
            "sys_platform": self.os,
        }


# Every platform name kerasup understands; which of them a variant is locked for is the
# lock's own header (envs.contract.lockheader), and which it refuses is _REFUSALS below.
PLATFORMS: dict[str, Platform] = {p.name: p for p in (
    Platform("linux-64", "linux", "x86_64", "x86_64", "x86_64", UvWheel(
        "3d/aa/26d64642d808de4a652579ef950d7cd2d37f080a8babf9c67c6b75fc4c3f",
        "manylinux_2_17_x86_64.manylinux2014_x86_64", 17606939,
        "d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19")),
    Platform("linux-aarch64", "linux", "aarch64", "aarch64", "aarch64", UvWheel(
        "57/15/94b6cd62ac3ff6550288328e8035288875197cbc183f51554b266a69877b",
        "manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64", 18026789,
        "5435c5ce14a56431208ca0996416d310f1598e8c2c8ba707688985a16bb82dbe")),
    Platform("linux-ppc64le", "linux", "ppc64le"),
    Platform("osx-64", "darwin", "x86_64"),
    Platform("osx-arm64", "darwin", "arm64", "arm64", "arm64", UvWheel(
        "f3/a7/a8d7b074798c7fb3b26b37584b8fe2e29df2ccdc24ce7902caab2a53edbf",
        "macosx_11_0_arm64", 14660755,
        "66c512266d633bef48384a1f53003f41f2a8e7b36fe6e7fbfd3e0fd52d96fa63")),
    Platform("win-64", "win32", "x86_64", "AMD64", "amd64", UvWheel(
        "dd/ef/ceeabf3631117f7354787d9fb1ffe943899e59ed4b887a696ed547e47e76",
        "win_amd64", 15662317,
        "6a44b2ed8111d2f60d2b92627c5dccda3f7ed7570b18ce115e569cd68c28246b")),
    Platform("win-arm64", "win32", "arm64"),
)}
# The platforms wheels can be chosen for: the lock step's targets and a bundle's platforms.
WHEEL_PLATFORMS: tuple[str, ...] = tuple(p.name for p in PLATFORMS.values() if p.wheel_arch)

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
