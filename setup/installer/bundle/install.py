"""Installing from a bundle with uv, touching no index and no network: the commands and the
environment the uv backend runs (it owns prefixes, records and verify; this owns the uv
invocation). Standard library only.
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Mapping
from pathlib import Path

from envs.contract.errors import UsageError
from setup.installer.bundle.manifest import WHEELS_DIR, Manifest

__all__ = ["bundle_env", "bundle_source", "bundle_sync_command", "bundle_uv",
           "bundle_venv_command"]

# Variables that could point uv at an index, a config file or extra wheels: a bundle install
# must see only the bundle.
_DROP = ("UV_INDEX", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS",
         "UV_CONFIG_FILE", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS",
         "UV_PYTHON_DOWNLOADS", "UV_OFFLINE", "UV_NO_CONFIG")


def bundle_env(environ: Mapping[str, str], cache_dir: Path | None = None) -> dict[str, str]:
    """The environment for uv during a bundle install: offline, no config, no index variables,
    no interpreter downloads; ``cache_dir`` (when given) as uv's cache."""
    env = {k: v for k, v in environ.items() if k not in _DROP}
    env.update({"UV_OFFLINE": "1", "UV_NO_CONFIG": "1", "UV_PYTHON_DOWNLOADS": "never",
                "UV_NO_PROGRESS": "1"})
    if cache_dir is not None:
        env["UV_CACHE_DIR"] = str(cache_dir)
    return env


def bundle_venv_command(uv: Path | str, prefix: Path, python: Path | str) -> list[str]:
    """Create the environment for the interpreter ``python`` (no downloads); relocatable, so
    it can be built aside and moved to its prefix."""
    return [str(uv), "venv", "--offline", "--no-config", "--relocatable", "--allow-existing",
            "--python-preference", "only-system",
            "--python", str(python), str(prefix)]


def bundle_sync_command(uv: Path | str, bundle_dir: Path, lock: Path, python: Path | str
                        ) -> list[str]:
    """``uv pip sync`` of the hashed ``lock`` from the bundle's wheels only, into the
    environment whose interpreter is ``python``."""
    return [str(uv), "pip", "sync", "--offline", "--no-config", "--no-index",
            "--find-links", str(bundle_dir / WHEELS_DIR), "--require-hashes",
            "--only-binary", ":all:", "--python", str(python), str(lock)]


def bundle_uv(bundle_dir: Path, manifest: Manifest, platform: str, dest: Path) -> Path:
    """Unpack the uv executable of ``platform`` from the bundle's (checked) uv wheel into
    ``dest``; returns its path."""
    rel = manifest.uv.get(platform)
    if rel is None:
        raise UsageError(f"the bundle carries no uv for {platform}",
                         f"build one with --platform {platform}")
    exe = "uv.exe" if platform.startswith("win-") else "uv"
    with zipfile.ZipFile(bundle_dir / rel) as wheel:
        member = next((n for n in wheel.namelist()
                       if n.endswith(f".data/scripts/{exe}")), None)
        if member is None:
            raise UsageError(f"{rel} holds no {exe}", "rebuild the bundle with --make-bundle")
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / exe
        tmp = target.with_name(exe + ".part")
        tmp.write_bytes(wheel.read(member))
    tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    tmp.replace(target)
    return target


def bundle_source(bundle: Path, manifest: Manifest) -> str:
    """The install record's ``source`` for an install from ``bundle``."""
    return (f"bundle:{bundle.resolve()} (toolkit {manifest.toolkit_commit[:12]}, targets "
            f"{manifest.target_labels()})")
