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
from tests.conftest import build_once

REPO = Path(__file__).resolve().parents[2]
MNIST = REPO.parent / "shared" / "data" / "mnist-t10k"
if not MNIST.is_dir():
    MNIST = Path("/work/shared/data/mnist-t10k")
# Downloads land here once (about 900 MB for linux-64 + win-64 on Python 3.12).
WHEEL_CACHE = Path(os.environ.get("KERASUP_TEST_WHEEL_CACHE",
                                  Path.home() / ".cache" / "kerasup-test-wheels"))
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


# Built once per test run and shared by the workers (tests/conftest.py build_once): four
# modules use the linux bundle, and pytest-xdist may run them on different workers.
@pytest.fixture(scope="session")
def linux_bundle(tmp_path_factory: pytest.TempPathFactory) -> BundleResult:
    return build_once(tmp_path_factory, "linux-bundle", lambda d: make_bundle(BundleRequest(
        out=d / "kerasup-cpu-linux-64.tar.gz", targets=(LINUX,), data=MNIST,
        cache=WHEEL_CACHE)))


@pytest.fixture(scope="session")
def win_bundle(tmp_path_factory: pytest.TempPathFactory) -> BundleResult:
    return build_once(tmp_path_factory, "win-bundle", lambda d: make_bundle(BundleRequest(
        out=d / "kerasup-cpu-win-64", targets=(WIN,), cache=WHEEL_CACHE)))
