"""The offline install flow, end to end but without the installer's verify step:
open (extract) the bundle, check it, unpack its uv, create the environment aside, sync it
from the bundle's wheels, copy the toolkit in, point kerasup.pth at it, and move the
environment into place, then write the install record naming the bundle. Nothing is
created before the checks pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from envs.contract import record
from envs.contract.errors import CannotProceed, UsageError
from envs.contract.layout import Layout
from envs.contract.platforms import current_platform
from envs.contract.record import InstallRecord
from setup.installer.bundle.check import check_bundle, open_bundle
from setup.installer.bundle.install import (
    bundle_env,
    bundle_source,
    bundle_sync_command,
    bundle_uv,
    bundle_venv_command,
)
from setup.installer.bundle.manifest import TOOLKIT_DIR, Manifest
from setup.installer.configure import write_site_hook

__all__ = ["OfflineInstall", "install_from_bundle", "python_minor"]


@dataclass(frozen=True)
class OfflineInstall:
    prefix: Path
    manifest: Manifest
    toolkit: Path  # the toolkit copy inside the environment (kerasup.pth points here)
    seconds: dict[str, float]


def python_minor(python: Path | str) -> str:
    """"3.12" for the interpreter ``python``."""
    out = subprocess.run([str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise UsageError(f"cannot run the Python {python}",
                         "install Python 3.11-3.13 from the OS (see the bundle's README.txt)")
    return out.stdout.strip()


def _run(cmd: list[str], env: Mapping[str, str], what: str) -> None:
    proc = subprocess.run(cmd, env=dict(env), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = " ".join(proc.stderr.split())[-500:]
        raise CannotProceed(f"uv could not {what}: {detail}",
                            "check the bundle with `python -m setup.installer.bundle check`")


def _purelib(python: Path) -> Path:
    out = subprocess.run([str(python), "-c",
                          "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def _build_aside(uv: Path, uv_env: Mapping[str, str], root: Path, manifest: Manifest,
                 partial: Path, python: Path | str) -> Path:
    """Create the environment in ``partial`` from the bundle's wheels; its interpreter."""
    _run(bundle_venv_command(uv, partial, python), uv_env, "create the environment")
    exe = partial / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    _run(bundle_sync_command(uv, root, root / manifest.lock, exe), uv_env,
         "install the bundle's wheels")
    shutil.copytree(root / TOOLKIT_DIR, Layout(partial).share / "toolkit")
    return exe


def install_from_bundle(bundle: Path, prefix: Path, python: Path | str = sys.executable,
                        environ: Mapping[str, str] | None = None,
                        expected_lock: Path | None = None) -> OfflineInstall:
    """Check ``bundle`` and create the environment ``prefix`` from it, offline."""
    env = dict(os.environ if environ is None else environ)
    prefix = prefix.resolve()
    if prefix.exists() and (not prefix.is_dir() or any(prefix.iterdir())):
        raise UsageError(f"{prefix} exists and is not empty", "choose a new --prefix")
    prefix.parent.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=".kerasup-bundle-", dir=prefix.parent) as tmp:
        work = Path(tmp)
        root = open_bundle(bundle, work / "bundle")
        minor = python_minor(python)
        manifest = check_bundle(root, current_platform(), minor, expected_lock)
        seconds["check"] = time.monotonic() - start
        uv = bundle_uv(root, manifest, current_platform(), work / "uv")
        # uv's own cache (UV_CACHE_DIR or its default) is kept: removing gigabytes of
        # unpacked wheels would cost more than the install, and a re-install reuses them.
        uv_env = bundle_env(env)
        # Built aside in a folder of our own (created exclusively, unique name), then moved
        # into place: nothing at a predictable name is ever removed or written through.
        partial = Path(tempfile.mkdtemp(prefix=f".{prefix.name}.partial-", dir=prefix.parent))
        mask = os.umask(0)
        os.umask(mask)
        partial.chmod(0o777 & ~mask)  # mkdtemp makes 0700; a lab's environment is shared
        mark = time.monotonic()
        try:
            exe = _build_aside(uv, uv_env, root, manifest, partial, python)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)  # ours: made by mkdtemp above
            raise
        seconds["uv"] = time.monotonic() - mark
        # The installer's site hook: only verify and envs of the toolkit copy are importable.
        write_site_hook(_purelib(exe), Layout(prefix).share / "toolkit")
        if prefix.exists():
            prefix.rmdir()
        partial.replace(prefix)
    # The install record names the bundle; written last, as the installer does.
    toolkit = Layout(prefix).share / "toolkit"
    record.write(prefix, InstallRecord.for_lock(
        variant=manifest.variant, python=minor, platform=current_platform(),
        lock=toolkit / Path(manifest.lock).relative_to(TOOLKIT_DIR), method="uv",
        toolkit_root=toolkit, source=bundle_source(bundle, manifest)))
    seconds["total"] = time.monotonic() - start
    return OfflineInstall(prefix, manifest, toolkit, seconds)
