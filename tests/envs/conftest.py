"""Fixtures for the envs/ tests: a real local conda channel of tiny packages, built with
conda-package-handling and indexed with rattler, and copies of the variants' specs."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from envs.lock.spec import ENVS_DIR

# The conda-forge metadata snapshot shipped beside the repository (absent on some clones).
SNAPSHOT = Path(__file__).resolve().parents[2].parent / "shared" / "conda-forge-snapshot"


def host_subdir() -> str:
    """This machine's conda platform."""
    import rattler

    return str(rattler.Subdir.current())


def other_subdir() -> str:
    """A conda platform that is not this machine's (to lock for a foreign platform)."""
    return "win-64" if host_subdir() != "win-64" else "linux-64"


def build_conda_package(channel: Path, subdir: str, name: str, version: str,
                        depends: list[str], files: dict[str, str], build: str = "0") -> Path:
    """Write a real .conda package holding `files` into `channel/subdir`."""
    work = channel.parent / f"build-{name}-{subdir}"
    shutil.rmtree(work, ignore_errors=True)
    info = work / "info"
    info.mkdir(parents=True)
    paths = []
    for rel, text in files.items():
        target = work / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        data = target.read_bytes()
        paths.append({"_path": rel, "path_type": "hardlink",
                      "sha256": hashlib.sha256(data).hexdigest(), "size_in_bytes": len(data)})
    index = {"name": name, "version": version, "build": build, "build_number": 0,
             "depends": depends, "license": "MIT", "subdir": subdir,
             "timestamp": 1700000000000}
    if subdir == "noarch":
        index["noarch"] = "generic"
    (info / "index.json").write_text(json.dumps(index))
    (info / "paths.json").write_text(json.dumps({"paths": paths, "paths_version": 1}))
    (info / "files").write_text("".join(f"{rel}\n" for rel in files))
    from conda_package_handling import api

    out = channel / subdir
    out.mkdir(parents=True, exist_ok=True)
    file_list = ["info/index.json", "info/paths.json", "info/files", *files]
    api.create(str(work), file_list, f"{name}-{version}-{build}.conda", out_folder=str(out))
    shutil.rmtree(work)
    return out / f"{name}-{version}-{build}.conda"


@dataclass(frozen=True)
class LocalChannel:
    """A local conda channel and the platforms it has packages for."""

    path: Path
    subdirs: tuple[str, ...]


@pytest.fixture(scope="session")
def local_channel(tmp_path_factory: pytest.TempPathFactory) -> LocalChannel:
    """A conda channel with tiny python, pip and hello packages for two platforms."""
    import rattler.index

    channel = tmp_path_factory.mktemp("channel") / "channel"
    (channel / "noarch").mkdir(parents=True)
    subdirs = (host_subdir(), other_subdir())
    for subdir in subdirs:
        is_win = subdir.startswith("win")
        system = ["__win"] if is_win else (["__glibc >=2.17", "__unix"]
                                           if subdir.startswith("linux") else ["__unix"])
        build_conda_package(channel, subdir, "python", "3.12.4", system,
                            {"share/kerasup-test/python.txt": f"python for {subdir}\n"})
        build_conda_package(channel, subdir, "hello", "1.0", [*system, "python >=3.12,<3.13"],
                            {"share/hello/hello.txt": f"hello from {subdir}\n"})
    build_conda_package(channel, "noarch", "pip", "24.0", ["python >=3.8"],
                        {"share/kerasup-test/pip.txt": "pip\n"})
    # Needs a newer glibc than any lock target assumes: a solve must refuse it.
    build_conda_package(channel, "noarch", "needs-new-glibc", "1.0", ["__glibc >=2.99"],
                        {"share/kerasup-test/glibc.txt": "new\n"})
    asyncio.run(rattler.index.index_fs(channel, write_zst=False, write_shards=False))
    return LocalChannel(channel, subdirs)


@pytest.fixture(scope="session")
def conda_forge_snapshot() -> Path:
    """The shared conda-forge metadata snapshot, or skip where this clone lacks it."""
    if not (SNAPSHOT / "noarch" / "repodata.json").is_file():
        pytest.skip(f"conda-forge snapshot not found at {SNAPSHOT}")
    return SNAPSHOT


@pytest.fixture
def envs_copy(tmp_path: Path) -> Path:
    """A scratch copy of envs/<variant>/ (specs and committed locks) and of the recorded
    index snapshot, to edit."""
    root = tmp_path / "envs"
    for folder in ("cpu", "gpu", "index-snapshot"):
        shutil.copytree(ENVS_DIR / folder, root / folder)
    return root
