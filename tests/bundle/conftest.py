"""Fixtures for the bundle tests: the persistent verified wheel cache (PyPI once, then
offline), and real bundles built from the committed CPU lock."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from setup.installer.bundle.build import BundleRequest, BundleResult, make_bundle
from setup.installer.bundle.select import BundleTarget
from tests.conftest import BUNDLE_MNIST, BUNDLE_WHEEL_CACHE, build_once

REPO = Path(__file__).resolve().parents[2]
MNIST, WHEEL_CACHE = BUNDLE_MNIST, BUNDLE_WHEEL_CACHE  # the bundle tests' names for them
LINUX = BundleTarget("linux-64", "3.12")
WIN = BundleTarget("win-64", "3.12")


def python_for(minor: str) -> str | None:
    """A CPython ``minor`` interpreter on this machine (pyenv or PATH), else None."""
    for candidate in (f"python{minor}",):
        found = shutil.which(candidate)
        if found:
            real = subprocess.run([found, "-c", "import sys; print(sys.executable)"],
                                  capture_output=True, text=True, check=False)
            if real.returncode == 0 and real.stdout.strip():
                return real.stdout.strip()
    pyenv = Path.home() / ".pyenv" / "versions"
    for root in sorted(pyenv.glob(f"{minor}.*"), reverse=True):
        exe = root / "bin" / f"python{minor}"
        if exe.is_file():
            return str(exe)
    return None


def link_copy(src: Path, dest: Path) -> Path:
    """A copy of a bundle whose files are hard links (cheap); tests replace, never edit, a
    file in it, so the original stays intact."""
    shutil.copytree(src, dest, copy_function=os.link)
    return dest


def replace_file(path: Path, data: bytes) -> None:
    """Give ``path`` new content without touching the inode it may share."""
    path.unlink()
    path.write_bytes(data)


# linux_bundle: tests/conftest.py (the SSH lab's bundle host uses it too).


@pytest.fixture(scope="session")
def win_bundle(tmp_path_factory: pytest.TempPathFactory) -> BundleResult:
    return build_once(tmp_path_factory, "win-bundle", lambda d: make_bundle(BundleRequest(
        out=d / "kerasup-cpu-win-64", targets=(WIN,), cache=WHEEL_CACHE)))
