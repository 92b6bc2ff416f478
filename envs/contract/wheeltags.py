"""Which wheels a platform of the one table (:mod:`envs.contract.platforms`) installs, by
their tags: the platform tags at the one floor (glibc 2.28, macOS 12), best first, and whether
a wheel file fits a CPython there.

Standard library only: the bundle builder runs under the installer's bare system Python. The
lock step ranks wheels with ``packaging.tags`` over the same :func:`platform_tags`; tests hold
:func:`wheel_fits` to that ranking for every wheel of the committed locks.
"""

from __future__ import annotations

import re

from envs.contract.platforms import GLIBC_FLOOR, MACOS_FLOOR, PLATFORMS

__all__ = ["platform_tags", "wheel_fits"]

_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
_ABI3 = re.compile(r"^cp3(\d+)$")


def _manylinux(arch: str) -> list[str]:
    tags: list[str] = []
    for minor in range(GLIBC_FLOOR[1], 4, -1):
        tags.append(f"manylinux_2_{minor}_{arch}")
        if minor in _LEGACY_MANYLINUX:
            tags.append(f"{_LEGACY_MANYLINUX[minor]}_{arch}")
    return tags


def _macos(arch: str) -> list[str]:
    """As packaging.tags.mac_platforms(MACOS_FLOOR, arch) lists them (arm64 Macs: 11+)."""
    tags: list[str] = []
    for major in range(MACOS_FLOOR[0], 10, -1):
        tags += [f"macosx_{major}_0_{arch}", f"macosx_{major}_0_universal2"]
    return tags + [f"macosx_10_{minor}_universal2" for minor in range(16, 3, -1)]


def platform_tags(platform: str) -> tuple[str, ...]:
    """The wheel platform tags a machine of ``platform`` at the floors accepts, best first
    (KeyError for a platform no wheel is chosen for)."""
    info = PLATFORMS[platform]
    if info.wheel_arch is None:
        raise KeyError(f"no wheel tags for platform {platform!r}")
    if info.os == "linux":
        return tuple(_manylinux(info.wheel_arch))
    if info.os == "darwin":
        return tuple(_macos(info.wheel_arch))
    return (f"win_{info.wheel_arch}",)


def _python_fits(py_tags: str, abi_tags: str, python: str) -> bool:
    minor = int(python.split(".")[1])
    accepted_py = {f"cp3{minor}", f"py3{minor}", "py3"}
    accepted_abi = {f"cp3{minor}", "none"}
    for py in py_tags.split("."):
        for abi in abi_tags.split("."):
            if abi == "abi3":
                # abi3 wheels are built for a minimum CPython and work on every later one.
                found = _ABI3.match(py)
                if found and int(found.group(1)) <= minor:
                    return True
            elif py in accepted_py and abi in accepted_abi:
                return True
    return False


def wheel_fits(filename: str, platform: str, python: str) -> bool:
    """Whether CPython ``python`` ("3.12") on ``platform`` installs the wheel ``filename``."""
    parts = filename[:-len(".whl")].split("-") if filename.endswith(".whl") else []
    if len(parts) not in (5, 6):
        return False
    py_tags, abi_tags, plat_tags = parts[-3:]
    if not _python_fits(py_tags, abi_tags, python):
        return False
    accepted = platform_tags(platform)
    return any(tag == "any" or tag in accepted for tag in plat_tags.split("."))
