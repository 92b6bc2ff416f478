"""Solve a variant's conda part for one target platform with py-rattler.

Sources: the live conda-forge channel, a conda-forge snapshot directory (metadata only; the lock
then names conda-forge's own download URLs), or any local channel directory (tests). Virtual
packages come from the target table, so a lock for any platform can be made on any platform.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from envs.contract.errors import LockError
from envs.contract.flags import offline
from envs.lock.platforms import Target

__all__ = [
    "CONDA_FORGE_URL",
    "CondaSource",
    "SolvedPackage",
    "conda_forge_reachable",
    "live_conda_forge",
    "local_channel",
    "snapshot_channel",
    "solve",
]

CONDA_FORGE_URL = "https://conda.anaconda.org/conda-forge"


@dataclass(frozen=True)
class CondaSource:
    """Where the solver reads repodata, and how the lock names the packages it picked."""

    url: str  # what rattler reads: a channel name or a file:// URL
    lock_channel: str  # the channel written to the lock's metadata.channels
    solved_against: str  # recorded in the lock's metadata: which channel or snapshot
    # Base URL the lock's package URLs are rewritten to (snapshots hold no files).
    publish_as: str | None = None


@dataclass(frozen=True)
class SolvedPackage:
    """One conda package the solver picked for a platform."""

    name: str
    version: str
    build: str
    subdir: str
    url: str
    md5: str
    sha256: str | None
    depends: tuple[str, ...]
    license: str | None = None  # the record's own licence field (SPDX on conda-forge)


def live_conda_forge() -> CondaSource:
    """The live conda-forge channel."""
    return CondaSource("conda-forge", "conda-forge", f"conda-forge live ({CONDA_FORGE_URL})")


def _check_channel_dir(directory: Path, flag: str) -> Path:
    root = directory.expanduser().resolve()
    if not (root / "noarch" / "repodata.json").is_file():
        raise LockError(f"{flag} {directory}: not a conda channel (no noarch/repodata.json); "
                        "point it at a directory holding <subdir>/repodata.json files")
    return root


def snapshot_channel(directory: Path) -> CondaSource:
    """A local snapshot of conda-forge metadata; the lock names conda-forge's URLs."""
    root = _check_channel_dir(directory, "--conda-snapshot")
    digest = hashlib.sha256()
    for repodata in sorted(root.glob("*/repodata.json")):
        digest.update(f"{repodata.parent.name}\0".encode())
        digest.update(repodata.read_bytes())
    return CondaSource(root.as_uri(), "conda-forge",
                       f"conda-forge snapshot {root.name} (repodata sha256 "
                       f"{digest.hexdigest()[:16]})", publish_as=CONDA_FORGE_URL)


def local_channel(directory: Path) -> CondaSource:
    """A local channel directory whose files the lock names directly (file:// URLs)."""
    root = _check_channel_dir(directory, "channel")
    return CondaSource(root.as_uri(), root.as_uri(), f"local channel {root.as_uri()}")


def conda_forge_reachable(timeout: float = 10.0) -> bool:
    """Whether conda-forge answers now; False without asking when KERASUP_OFFLINE=1."""
    if offline(os.environ):
        return False
    request = urllib.request.Request(f"{CONDA_FORGE_URL}/noarch/repodata.json", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _virtual_packages(target: Target, variant: str) -> list[object]:
    from rattler import GenericVirtualPackage, PackageName, Version
    from rattler.package import BuildString

    packages: list[object] = []
    for name, spec in target.virtual_packages_for(variant).items():
        version, _, build = spec.partition(" ")
        packages.append(GenericVirtualPackage(PackageName(name), Version(version),
                                              BuildString(build or "0")))
    return packages


def solve(specs: Sequence[str], target: Target, variant: str, source: CondaSource,
          cache_dir: Path | None = None) -> list[SolvedPackage]:
    """Solve conda `specs` for `target`, returning the picked packages sorted by name."""
    import rattler
    from rattler.exceptions import GatewayError, SolverError

    gateway = rattler.Gateway(cache_dir=cache_dir) if cache_dir else rattler.Gateway()

    async def run() -> list[rattler.RepoDataRecord]:
        return await rattler.solve(
            sources=[rattler.Channel(source.url)], specs=list(specs), gateway=gateway,
            platforms=[target.subdir, "noarch"],
            virtual_packages=_virtual_packages(target, variant))  # type: ignore[arg-type]

    try:
        records = asyncio.run(run())
    except SolverError as exc:
        detail = " ".join(str(exc).split())[:500]
        raise LockError(f"conda solve of {', '.join(specs)} for {target.subdir} against "
                        f"{source.solved_against} failed: {detail}") from None
    except GatewayError as exc:
        detail = " ".join(str(exc).split())[:300]
        raise LockError(f"could not read channel {source.url} for {target.subdir}: {detail}"
                        ) from None
    solved = []
    for rec in records:
        if rec.md5 is None:
            raise LockError(f"{rec.file_name} in {source.url} has no md5 in its repodata; "
                            "conda-lock needs one, re-index the channel")
        url = (f"{source.publish_as}/{rec.subdir}/{rec.file_name}" if source.publish_as
               else rec.url)
        solved.append(SolvedPackage(
            name=rec.name.normalized, version=str(rec.version), build=str(rec.build),
            subdir=rec.subdir, url=url, md5=rec.md5.hex(),
            sha256=rec.sha256.hex() if rec.sha256 else None, depends=tuple(rec.depends),
            license=rec.license or None))
    return sorted(solved, key=lambda p: p.name)
