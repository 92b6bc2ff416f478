"""A bundle as the source of an install: what the planner needs from it (its manifest, its
wheels folder, its uv, its MNIST) and the uv commands and environment that install from it
with no index and no network. The installer's workflow does the rest, as for any install
(plan, prefix lock, install.log, record, verify). Standard library only.
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from envs.contract.errors import UsageError
from envs.contract.fileio import file_sha256
from setup.installer.bundle.check import BundleRefused, check_structure, open_bundle
from setup.installer.bundle.manifest import (
    MANIFEST,
    TOOLKIT_DIR,
    WHEELS_DIR,
    Manifest,
    read_manifest,
)

__all__ = ["BundleSource", "bundle_env", "open_source", "unpack_uv"]

# Variables that could point uv at an index, a config file or extra wheels: a bundle install
# must see only the bundle.
_DROP = ("UV_INDEX", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS",
         "UV_CONFIG_FILE", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS",
         "UV_PYTHON_DOWNLOADS", "UV_OFFLINE", "UV_NO_CONFIG")


def bundle_env(environ: Mapping[str, str], cache_dir: Path | None = None) -> dict[str, str]:
    """The environment for a bundle install's children: offline, no uv config, no index
    variables, no interpreter downloads; ``cache_dir`` (when given) as uv's cache."""
    env = {k: v for k, v in environ.items() if k not in _DROP}
    env.update({"UV_OFFLINE": "1", "UV_NO_CONFIG": "1", "UV_PYTHON_DOWNLOADS": "never",
                "UV_NO_PROGRESS": "1", "KERASUP_OFFLINE": "1"})
    if cache_dir is not None:
        env["UV_CACHE_DIR"] = str(cache_dir)
    return env


@dataclass(frozen=True)
class BundleSource:
    """An opened bundle whose structure was checked (its contents are checked by the
    install's ``check-bundle`` step). ``given`` is what the user named; ``root`` the bundle
    folder (an archive's is extracted into a temporary folder)."""

    given: Path
    root: Path
    manifest: Manifest
    manifest_sha256: str

    @property
    def wheels(self) -> Path:
        return self.root / WHEELS_DIR

    @property
    def data(self) -> Path | None:
        """The MNIST the bundle carries for verify, if any."""
        return self.root / self.manifest.data if self.manifest.data else None

    def pythons(self, platform: str) -> list[str]:
        """The Pythons the bundle was made for on ``platform``."""
        return sorted({py for p, py in self.manifest.targets if p == platform})

    def label(self) -> str:
        """The install record's ``source``."""
        return (f"bundle:{self.given.resolve()} (toolkit {self.manifest.toolkit_commit[:12]}, "
                f"targets {self.manifest.target_labels()}, {MANIFEST} sha256 "
                f"{self.manifest_sha256[:12]})")

    def describe(self) -> str:
        """The plan's one-line report."""
        return (f"{self.given}: the {self.manifest.variant} environment for "
                f"{self.manifest.target_labels()}, toolkit {self.manifest.toolkit_commit[:12]}, "
                f"{len(self.manifest.files)} files, {MANIFEST} sha256 {self.manifest_sha256}")

    def to_dict(self) -> dict[str, object]:
        return {"path": str(self.given), "directory": str(self.root),
                "manifest_sha256": self.manifest_sha256, "variant": self.manifest.variant,
                "targets": [{"platform": p, "python": py} for p, py in self.manifest.targets],
                "toolkit_commit": self.manifest.toolkit_commit,
                "files": len(self.manifest.files), "data": str(self.data) if self.data else None}

    def venv_command(self, uv: str, prefix: Path, python: str) -> tuple[str, ...]:
        """Create the environment for the interpreter ``python`` (no downloads)."""
        return (uv, "venv", "--offline", "--no-config", "--allow-existing",
                "--python-preference", "only-system", "--python", python, str(prefix))

    def sync_command(self, uv: str, env_python: str, lock: Path,
                     reinstall: tuple[str, ...] = ()) -> tuple[str, ...]:
        """``uv pip sync`` of the hashed ``lock`` from the bundle's wheels only."""
        extra = [arg for name in reinstall for arg in ("--reinstall-package", name)]
        return (uv, "pip", "sync", "--require-hashes", "--python", env_python, "--offline",
                "--no-config", "--no-index", "--find-links", str(self.wheels),
                "--only-binary", ":all:", *extra, str(lock))


def open_source(given: Path, workdir: Path, *, platform: str, python: str | None,
                repo: Path, expect_sha256: str | None = None) -> BundleSource:
    """Open ``given`` (a folder, or an archive extracted into ``workdir``) and run the cheap
    checks: the pin, the listing, the target when ``python`` is known, and the lock, which
    must be the running toolkit's (``repo``) byte for byte: a checkout installs only a bundle
    of its own lock, and its own toolkit goes into the environment."""
    root = open_bundle(given, workdir)
    rel = PurePosixPath(read_manifest(root).lock)
    expected = repo.joinpath(*rel.relative_to(TOOLKIT_DIR).parts) if rel.parts[:1] == (
        TOOLKIT_DIR,) else None
    if expected is None or not expected.is_file():
        raise BundleRefused(f"the bundle's lock {rel} is not a lock this toolkit ({repo}) has",
                            "run the bundle's own install.sh / install.ps1, or rebuild the "
                            "bundle from this checkout", str(rel))
    manifest = check_structure(root, platform, python, expected, expect_sha256)
    return BundleSource(given=given, root=root, manifest=manifest,
                        manifest_sha256=file_sha256(root / MANIFEST))


def unpack_uv(source: BundleSource, platform: str, target: Path) -> Path:
    """Write the uv executable of ``platform`` from the bundle's (checked) uv wheel to
    ``target`` (a path in kerasup's own folder of the environment)."""
    rel = source.manifest.uv.get(platform)
    if rel is None:
        raise UsageError(f"the bundle carries no uv for {platform}",
                         f"build one with --platform {platform}")
    exe = "uv.exe" if platform.startswith("win-") else "uv"
    with zipfile.ZipFile(source.root / rel) as wheel:
        member = next((n for n in wheel.namelist() if n.endswith(f".data/scripts/{exe}")), None)
        if member is None:
            raise UsageError(f"{rel} holds no {exe}", "rebuild the bundle with --make-bundle")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        tmp.unlink(missing_ok=True)
        with wheel.open(member) as src, tmp.open("xb") as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
    tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    tmp.replace(target)
    return target
