"""The checks made before anything changes: variant x platform, what the lock covers, the
prefix, disk, proxy and the NVIDIA driver.

What a lock supports comes from its own ``# kerasup-`` header (:mod:`envs.contract.lockheader`);
which combinations are refused, and why, from :mod:`envs.contract.platforms`.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from envs.contract import facts, flags, lockheader, nvidia, places, platforms
from envs.contract.errors import CannotProceed, UsageError
from envs.contract.layout import CONDA_LOCK, PIP_LOCK, Layout
from setup.installer.netdiag import mask_url

try:
    import pwd
except ImportError:  # Windows
    pwd = None  # type: ignore[assignment]

__all__ = ["Disk", "check_disk", "check_lock_covers", "check_place", "check_python",
           "check_variant", "driver_check", "driver_report", "prefix_kind",
           "prefix_owner",
           "proxy_report", "select_lock", "size_report"]


def check_variant(variant: str) -> facts.Variant:
    try:
        return facts.variant(variant)
    except KeyError:
        raise UsageError(f"unknown variant {variant!r}",
                         fix=f"choose one of {', '.join(facts.VARIANTS)}") from None


def check_python(python: str | None) -> None:
    if python is not None and python not in facts.PYTHONS:
        raise UsageError(f"unsupported Python {python!r}",
                         fix=f"choose one of {', '.join(facts.PYTHONS)}")


def select_lock(repo: Path, variant: str, platform: str, *, conda: bool) -> Path:
    """The lock to install ``variant`` from; refused combinations first (their own reason)."""
    refused = platforms.refusal(variant, platform)
    if refused:
        raise UsageError(refused.reason, fix=refused.fix)
    lock = Layout.lock(repo, variant, CONDA_LOCK if conda else PIP_LOCK)
    if not lock.is_file():
        raise CannotProceed(f"lock {lock} not found", fix="generate it with `nox -s lock`")
    return lock


def check_lock_covers(lock: Path, *, variant: str, platform: str,
                      python: str | None) -> lockheader.LockCoverage:
    """The lock's header must name ``platform`` (and ``python`` when given)."""
    covered = lockheader.coverage(lock)
    if covered is None:
        raise CannotProceed(f"{lock} has no kerasup header (# kerasup-pythons/-platforms), so "
                            "what it covers is unknown",
                            fix="regenerate it with `nox -s lock`")
    if platform not in covered.platforms:
        raise UsageError(f"the {variant} lock does not support {platform}: it covers "
                         f"{covered.describe()}",
                         fix="use a platform it covers, or another --variant")
    if python is not None and python not in covered.pythons:
        raise UsageError(f"the {variant} lock does not cover Python {python}: it covers "
                         f"{covered.describe()}", fix="choose another --python")
    return covered


def _owner(path: Path) -> str:
    try:
        return f" (owned by {pwd.getpwuid(path.stat().st_uid).pw_name})" if pwd else ""
    except (KeyError, OSError):
        return ""


def check_place(prefix: Path) -> None:
    """UsageError when this account cannot write at ``prefix`` or its file system cannot run
    programs (``noexec``): one line with the fix, before anything is installed."""
    blocked = places.unwritable(prefix)
    if blocked is not None:
        raise UsageError(f"prefix {prefix}: {places.account()} cannot write in {blocked}"
                         f"{_owner(blocked)}",
                         fix="choose a folder you own, e.g. --prefix ~/kerasup-env, or run as "
                             "the account that owns it")
    mount = places.noexec_mount(prefix)
    if mount is not None:
        raise UsageError(f"prefix {prefix} is on {mount}, which is mounted noexec: an "
                         "environment there cannot run its programs or load its libraries",
                         fix=f"choose a prefix on another file system (e.g. --prefix "
                             f"~/kerasup-env), or remount it: sudo mount -o remount,exec {mount}")


def prefix_kind(prefix: Path) -> str:
    """"new" (absent or empty), "venv" or "conda"; UsageError for anything else, or for a
    place this account cannot use (:func:`check_place`)."""
    try:  # a file first (root may not "write" a file); below a folder it cannot enter: ...
        not_a_dir = prefix.is_symlink() or (prefix.exists() and not prefix.is_dir())
    except OSError:
        not_a_dir = False  # ... check_place names that folder
    if not_a_dir:
        raise UsageError(f"prefix {prefix} exists and is not a directory",
                         fix="choose another --prefix")
    check_place(prefix)
    if not prefix.is_dir():
        return "new"
    if (prefix / "pyvenv.cfg").is_file():
        return "venv"
    if (prefix / "conda-meta").is_dir():
        return "conda"
    if Layout(prefix).owned() or not any(prefix.iterdir()):
        return "new"  # empty, or a kerasup install that stopped before its venv existed
    raise UsageError(f"prefix {prefix} is a non-empty directory that is not an environment; "
                     "kerasup will not write into it",
                     fix="choose another --prefix or empty it")


def prefix_owner(prefix: Path, kind: str, *, conda: bool, replace_foreign: bool) -> str:
    """"new", "kerasup" (ours: may be rebuilt) or "foreign" (allowed to be moved aside).

    A foreign environment is never synced over, cleared or deleted: with --replace-foreign
    it is moved aside to ``<prefix>.old-<time>`` and a new one is made."""
    if kind == "new":
        return "new"
    if Layout(prefix).owned():
        if kind == "conda" and not conda:
            raise UsageError(f"prefix {prefix} holds a conda environment",
                             fix="add --conda, or choose another --prefix")
        if kind == "venv" and conda:
            raise UsageError(f"prefix {prefix} holds a virtual environment, not a conda one",
                             fix="drop --conda, or choose another --prefix")
        return "kerasup"
    if not replace_foreign:
        what = "a conda environment" if kind == "conda" else "a virtual environment"
        raise UsageError(
            f"prefix {prefix} holds {what} that kerasup did not make; installing there would "
            "affect everything in that directory (its packages, scripts and any files in it)",
            fix="choose another --prefix, or add --replace-foreign to move it aside to "
                f"{prefix.name}.old-<time> and make a new one (--yes does not do this)")
    return "foreign"


@dataclass(frozen=True)
class Disk:
    """Free space where the environment goes, and what the variant needs."""

    free_gb: float
    need_gb: float

    def describe(self, prefix: Path) -> str:
        return f"{self.free_gb:.1f} GB free at {prefix} (needs about {self.need_gb:g} GB)"


def check_disk(prefix: Path, variant: str, environ: Mapping[str, str]) -> Disk:
    """CannotProceed when too little is free; KERASUP_MIN_FREE_GB overrides the need."""
    need = flags.env_number(environ, "KERASUP_MIN_FREE_GB", facts.variant(variant).min_free_gb)
    probe = prefix
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    disk = Disk(shutil.disk_usage(probe).free / 1e9, need)
    if disk.free_gb < need:
        raise CannotProceed(f"too little disk: {disk.describe(prefix)} for the {variant} "
                            "environment",
                            fix="free some space or choose another --prefix "
                                "(KERASUP_MIN_FREE_GB overrides the need)")
    return disk


def proxy_report(environ: Mapping[str, str]) -> str:
    """Which proxy variables are set, credentials hidden."""
    parts = []
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        value = environ.get(name) or environ.get(name.lower())
        if value:
            parts.append(f"{name}={mask_url(value)}")
    return ", ".join(parts) if parts else "none set (direct connection)"


NO_DRIVER = ("no NVIDIA driver answered (nvidia-smi not found or failed): the GPU build "
             "installs, but verify's gpu check fails and TensorFlow runs on the CPU until a "
             "driver is installed (https://docs.nvidia.com/cuda/wsl-user-guide/ on WSL2)")


def driver_check(variant: str, environ: Mapping[str, str]) -> tuple[str | None, bool]:
    """For a variant that needs the NVIDIA driver: (what answered or a warning, whether
    none did); (None, False) for the others."""
    if not facts.variant(variant).needs_nvidia_driver:
        return None, False
    found, why = nvidia.query_driver_why(environ)
    if found:
        return f"NVIDIA driver: {found.describe()}", False
    return f"warning: {why or NO_DRIVER}", True


def driver_report(variant: str, environ: Mapping[str, str]) -> str | None:
    """For a variant that needs the NVIDIA driver: what answered, or a warning; else None."""
    return driver_check(variant, environ)[0]


def size_report(variant: str) -> str:
    """What installing the variant costs, said before anything is downloaded."""
    v = facts.variant(variant)
    return (f"about {v.download_mb:,} MB to download (less with a warm uv cache), about "
            f"{v.installed_gb:g} GB on disk once installed")
