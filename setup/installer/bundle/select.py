"""Which wheels of a lock a set of targets (conda platform x CPython minor) needs.

A package is needed when its lock marker holds in the target's marker environment (the
contract's platform table); of its wheels, every one the target's CPython installs at the
contract's floors (envs.contract.wheeltags, whose platform tags the lock step ranks too) is
kept (several manylinux levels may be, so the bundle works on the oldest glibc the lock
allows and uv still picks the best one on the host).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from envs.contract.errors import UsageError
from envs.contract.platforms import PLATFORMS, WHEEL_PLATFORMS
from envs.contract.pylock import LockedPackage, LockedWheel
from envs.contract.wheeltags import wheel_fits as _fits
from setup.installer.bundle.markers import evaluate

__all__ = ["BUNDLE_PLATFORMS", "BundleTarget", "parse_target", "select_wheels", "wheel_fits"]

# The platforms a bundle can be made for: those of the contract's table with wheel tags.
BUNDLE_PLATFORMS: tuple[str, ...] = WHEEL_PLATFORMS
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


def wheel_fits(filename: str, target: BundleTarget) -> bool:
    """Whether the target's CPython would install the wheel ``filename``."""
    return _fits(filename, target.platform, target.python)


def _for_target(packages: Iterable[LockedPackage], target: BundleTarget) -> list[LockedWheel]:
    env = PLATFORMS[target.platform].marker_environment(target.python)
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
