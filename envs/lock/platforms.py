"""The lock targets: each conda platform (subdir) a variant may be locked for, with the virtual
packages its conda solve assumes. Its PEP 508 marker environment and the wheel platform tags it
accepts are the contract's platform table (envs.contract.platforms, envs.contract.wheeltags),
which the bundle builder reads too; here ``packaging.tags`` ranks wheels over them.

Baselines (the contract's floors): Linux targets assume glibc 2.28 (manylinux_2_28 and older
wheels; RHEL/Rocky 8, Debian 10, Ubuntu 18.10 and newer) and macOS targets assume macOS 12.0
on Apple silicon.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from envs.contract.errors import LockError
from envs.contract.facts import GPU_VARIANT, VARIANTS
from envs.contract.platforms import GLIBC_FLOOR, MACOS_FLOOR, PLATFORMS, WHEEL_PLATFORMS, refusal
from envs.contract.pylock import wheel_filename
from envs.contract.wheeltags import platform_tags

__all__ = [
    "CUDA_VERSION",
    "GLIBC",
    "MACOS",
    "TARGETS",
    "Target",
    "best_wheel",
    "targets_for",
]

GLIBC: tuple[int, int] = GLIBC_FLOOR  # the contract's one floor (bundles use it too)
MACOS: tuple[int, int] = MACOS_FLOOR
# __cuda is the newest CUDA the driver supports; 12.0 (driver >= 525) is the floor for the
# CUDA 12 wheels tensorflow[and-cuda] installs, thanks to CUDA's minor-version compatibility.
CUDA_VERSION = "12.0"


@dataclass(frozen=True)
class Target:
    """One conda platform as a lock target."""

    subdir: str
    sys_platform: str
    platform_machine: str
    platform_system: str
    os_name: str
    wheel_platforms: tuple[str, ...]
    # conda-lock's virtual-packages.yaml form: name -> "version" or "version build".
    virtual_packages: Mapping[str, str] = field(default_factory=dict)

    def virtual_packages_for(self, variant: str) -> dict[str, str]:
        """The virtual packages a solve for `variant` on this platform assumes."""
        packages = dict(self.virtual_packages)
        if variant == GPU_VARIANT and self.sys_platform == "linux":
            packages["__cuda"] = CUDA_VERSION
        return packages

    def marker_environment(self, python: str) -> dict[str, str]:
        """PEP 508 marker values of CPython `python` (e.g. "3.12" or "3.12.13") here."""
        return PLATFORMS[self.subdir].marker_environment(python)

    def uv_environment(self) -> str:
        """This platform as a marker for uv's `environments` / `required-environments`."""
        return (f"sys_platform == '{self.sys_platform}' and platform_machine == "
                f"'{self.platform_machine}' and implementation_name == 'cpython'")

    def wheel_tags(self, python: str) -> list[Tag]:
        """Wheel tags CPython `python` accepts on this platform, most specific first."""
        version = tuple(int(p) for p in python.split(".")[:2])
        interpreter = f"cp{version[0]}{version[1]}"
        return [*cpython_tags(version, abis=[interpreter], platforms=self.wheel_platforms),
                *compatible_tags(version, interpreter=interpreter,
                                 platforms=self.wheel_platforms)]


_LINUX = {"__unix": "0", "__linux": "5.10", "__glibc": f"{GLIBC[0]}.{GLIBC[1]}"}
_VIRTUAL_PACKAGES: dict[str, dict[str, str]] = {
    "linux-64": {**_LINUX, "__archspec": "1 x86_64"},
    "linux-aarch64": {**_LINUX, "__archspec": "1 aarch64"},
    "osx-arm64": {"__unix": "0", "__osx": f"{MACOS[0]}.{MACOS[1]}", "__archspec": "1 arm64"},
    "win-64": {"__win": "0", "__archspec": "1 x86_64"},
}


def _target(name: str) -> Target:
    """The lock target of the contract's platform ``name``, every fact taken from its table."""
    env = PLATFORMS[name].marker_environment("3")
    return Target(name, env["sys_platform"], env["platform_machine"], env["platform_system"],
                  env["os_name"], platform_tags(name), _VIRTUAL_PACKAGES[name])


# The contract's platforms with wheel tags (a test holds the keys to it); which variant x
# platform combinations are refused is the contract's refusal(), not a table here.
TARGETS: dict[str, Target] = {name: _target(name) for name in WHEEL_PLATFORMS}


def targets_for(variant: str, platforms: Iterable[str]) -> list[Target]:
    """The targets for `platforms` of `variant`, refusing unsupported combinations."""
    if variant not in VARIANTS:
        raise LockError(f"unknown variant {variant!r}: use one of {', '.join(VARIANTS)}")
    targets: list[Target] = []
    for platform in platforms:
        refused = refusal(variant, platform)
        if refused:
            raise LockError(f"{variant} variant cannot be locked for {platform}: "
                            f"{refused.reason} ({refused.fix})",
                            fix=f"remove {platform} from envs/{variant}/environment.yml "
                                "platforms:")
        if platform not in TARGETS:
            raise LockError(f"unknown platform {platform!r} in envs/{variant}/environment.yml: "
                            f"use some of {', '.join(TARGETS)}")
        targets.append(TARGETS[platform])
    return targets


def best_wheel(urls: Sequence[str], target: Target, python: str) -> str | None:
    """The URL of the wheel pip would pick for CPython `python` on `target`, or None."""
    rank = {tag: i for i, tag in enumerate(target.wheel_tags(python))}
    best: tuple[int, str] | None = None
    for url in urls:
        try:
            tags = parse_wheel_filename(wheel_filename(url))[3]
        except InvalidWheelFilename:
            continue
        score = min((rank[t] for t in tags if t in rank), default=None)
        if score is not None and (best is None or score < best[0]):
            best = (score, url)
    return best[1] if best else None
