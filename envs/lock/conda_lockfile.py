"""Assemble a variant's conda-lock.yml (conda-lock's unified format, version 1) from the conda
solve of each platform plus, for each platform, the one wheel of every pip package that fits,
taken from the variant's pylock.toml. Written through conda-lock's own models and writer.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.markers import Marker

from envs.contract.piplock import PinnedRequirement
from envs.contract.pylock import Pylock
from envs.lock.conda_solve import CondaSource, SolvedPackage
from envs.lock.errors import LockError
from envs.lock.platforms import Target, best_wheel

__all__ = ["build_lockfile", "conda_entries", "pip_entries", "render"]

if TYPE_CHECKING:  # conda-lock is imported lazily: it is slow to import
    from conda_lock.lockfile.v2prelim.models import LockedDependency, Lockfile


def conda_entries(packages: Sequence[SolvedPackage], subdir: str) -> list[LockedDependency]:
    """conda-lock entries for one platform's solved conda packages."""
    from conda_lock.lockfile.v2prelim.models import HashModel, LockedDependency

    entries = []
    for pkg in packages:
        deps: dict[str, list[str]] = {}
        for dep in pkg.depends:
            name, _, constraint = dep.strip().partition(" ")
            deps.setdefault(name, [])
            if constraint.strip():
                deps[name].append(constraint.strip())
        entries.append(LockedDependency(
            name=pkg.name, version=pkg.version, manager="conda", platform=subdir,
            dependencies={n: ",".join(c) for n, c in deps.items()}, url=pkg.url,
            hash=HashModel(md5=pkg.md5, sha256=pkg.sha256), categories={"main"},
            build=pkg.build))
    return entries


def python_version(packages: Sequence[SolvedPackage], subdir: str) -> str:
    """The full version of the python the conda solve picked."""
    for pkg in packages:
        if pkg.name == "python":
            return pkg.version
    raise LockError(f"the conda solve for {subdir} holds no python, so pip wheels cannot be "
                    "chosen: add `- python=3.12` to environment.yml")


def pip_entries(pylock: Pylock, requirements: Mapping[str, Sequence[PinnedRequirement]],
                target: Target, python: str) -> list[LockedDependency]:
    """conda-lock pip entries for `target` with CPython `python`: for each locked package
    whose marker applies there, the one wheel pip would pick, with its URL and sha256."""
    from conda_lock.lockfile.v2prelim.models import HashModel, LockedDependency

    env = target.marker_environment(python)
    chosen: dict[str, tuple[str, str, str]] = {}
    for pkg in pylock.packages:
        if pkg.marker is not None and not Marker(pkg.marker).evaluate(env):
            continue
        name = pkg.name
        urls = [w.url for w in pkg.wheels]
        url = best_wheel(urls, target, python)
        if url is None:
            raise LockError(f"no wheel of {name} {pkg.version} fits CPython {python} on "
                            f"{target.subdir}; pin a version with such a wheel in "
                            "environment.yml and run `nox -s lock`")
        wheel = next(w for w in pkg.wheels if w.url == url)
        chosen[name] = (pkg.version, url, wheel.sha256)
    # requirements.txt's "# via" comments give the dependency graph pylock.toml omits.
    children: dict[str, set[str]] = {}
    for name, entries in requirements.items():
        for entry in entries:
            if name in chosen:
                for parent in entry.via:
                    children.setdefault(parent, set()).add(name)
    return [
        LockedDependency(
            name=name, version=version, manager="pip", platform=target.subdir,
            dependencies=dict.fromkeys(sorted(children.get(name, ())), "*"), url=url,
            hash=HashModel(sha256=sha256), categories={"main"})
        for name, (version, url, sha256) in sorted(chosen.items())
    ]


def build_lockfile(*, platforms: Sequence[str], packages: Sequence[LockedDependency],
                   source: CondaSource, content_hash: Mapping[str, str],
                   custom: Mapping[str, str]) -> Lockfile:
    """The conda-lock model of a lock over `platforms`."""
    from conda_lock.lockfile.v2prelim.models import Lockfile, LockMeta

    meta = LockMeta(content_hash=dict(content_hash), channels=[source.lock_channel],
                    platforms=list(platforms), sources=["environment.yml"],
                    custom_metadata={"kerasup_solved_against": source.solved_against,
                                     **custom})
    return Lockfile(package=list(packages), metadata=meta)


def render(lockfile: Lockfile) -> str:
    """The file text conda-lock's own writer produces for `lockfile`."""
    from conda_lock.lockfile import write_conda_lock_file

    # The writer names the file in its help text, so it writes under the final name.
    with tempfile.TemporaryDirectory(prefix="kerasup-conda-lock-") as tmp:
        path = Path(tmp) / "conda-lock.yml"
        write_conda_lock_file(lockfile, path, metadata_choices=None)
        return path.read_text(encoding="utf-8")
