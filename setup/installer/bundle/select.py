"""Which wheels of a lock a set of targets (conda platform x CPython minor) needs.

A package is needed when its lock marker holds for the target; of its wheels, every one whose
tags the target's CPython accepts at the contract's floors (envs.contract.platforms: glibc
2.28, macOS 12, the lock step's own) is kept (several manylinux levels may be, so the bundle
works on the oldest glibc the lock allows and uv still picks the best one on the host).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from envs.contract.errors import UsageError
from envs.contract.platforms import wheel_platform_ok
from envs.contract.pylock import LockedPackage, LockedWheel
from setup.installer.bundle.markers import evaluate, target_environment

__all__ = ["BUNDLE_PLATFORMS", "BundleTarget", "parse_target", "select_wheels", "wheel_fits"]

# The platforms a bundle can be made for; which wheels each accepts (platform tags at the
# contract's glibc and macOS floors) is envs.contract.platforms.wheel_platform_ok.
BUNDLE_PLATFORMS: tuple[str, ...] = ("linux-64", "linux-aarch64", "osx-arm64", "win-64")
_PYTHON = re.compile(r"^3\.(\d+)$")


@dataclass(frozen=True, order=True)
class BundleTarget:
    """A machine a bundle is for: conda platform ("linux-64") and CPython minor ("3.12")."""

    platform: str
    python: str

    @property
    def label(self) -> str:
        return f"{self.platform}/py{self.python}"


def parse_target(platform: str, python: str) -> BundleTarget:
    """A validated target; unknown platforms or Pythons are usage errors naming the choices."""
    if platform not in BUNDLE_PLATFORMS:
        raise UsageError(f"cannot make a bundle for platform {platform!r}",
                         f"choose --platform from {', '.join(BUNDLE_PLATFORMS)}")
    if not _PYTHON.match(python):
        raise UsageError(f"--python {python!r} is not a CPython minor version",
                         "write e.g. --python 3.12")
    return BundleTarget(platform, python)


def _interpreter_tags(python: str) -> tuple[set[str], set[str], int]:
    minor = int(python.split(".")[1])
    return ({f"cp3{minor}", f"py3{minor}", "py3", "py2.py3"}, {f"cp3{minor}", "abi3", "none"},
            minor)


def _python_fits(py_tags: str, abi_tags: str, python: str) -> bool:
    accepted_py, accepted_abi, minor = _interpreter_tags(python)
    for py in py_tags.split("."):
        for abi in abi_tags.split("."):
            if abi == "abi3":
                # abi3 wheels are built for a minimum CPython and work on every later one.
                found = re.match(r"^cp3(\d+)$", py)
                if found and int(found.group(1)) <= minor:
                    return True
            elif (py in accepted_py or py == "py2.py3") and abi in accepted_abi:
                return True
    return False


def wheel_fits(filename: str, target: BundleTarget) -> bool:
    """Whether the target's CPython would install the wheel ``filename``."""
    parts = filename[:-len(".whl")].split("-") if filename.endswith(".whl") else []
    if len(parts) not in (5, 6):
        return False
    py_tags, abi_tags, plat_tags = parts[-3:]
    if "py2" in py_tags and "py3" in py_tags:
        py_tags = "py3"
    if not _python_fits(py_tags, abi_tags, target.python):
        return False
    return any(wheel_platform_ok(target.platform, tag) for tag in plat_tags.split("."))


def _for_target(packages: Iterable[LockedPackage], target: BundleTarget) -> list[LockedWheel]:
    env = target_environment(target.platform, target.python)
    chosen: list[LockedWheel] = []
    for pkg in packages:
        if not evaluate(pkg.marker, env):
            continue
        fitting = [w for w in pkg.wheels if wheel_fits(w.filename, target)]
        if not fitting:
            raise UsageError(
                f"the lock has no wheel of {pkg.name} {pkg.version} for {target.label}",
                "choose another --platform/--python, or relock with `nox -s lock`")
        chosen.extend(fitting)
    return chosen


def select_wheels(packages: Iterable[LockedPackage], targets: Iterable[BundleTarget]
                  ) -> list[LockedWheel]:
    """Every wheel the targets need, once each, sorted by file name (stable manifests)."""
    pkgs = list(packages)
    by_name: dict[str, LockedWheel] = {}
    for target in targets:
        for wheel in _for_target(pkgs, target):
            by_name.setdefault(wheel.filename, wheel)
    return [by_name[name] for name in sorted(by_name)]
