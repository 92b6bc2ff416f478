"""Fixtures shared by every test area: the repository layout and a real locked CPU environment."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

from envs.lock.errors import LockError
from envs.lock.pip_lock import uv_bin as lock_uv_bin

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
MNIST_T10K = SHARED / "data" / "mnist-t10k"
CPU_LOCK = REPO / "envs" / "cpu" / "requirements.txt"
# Test environments are cached between runs, keyed by Python version and lock contents.
TEST_ENV_CACHE = Path(os.environ.get("KERASUP_TEST_ENV_CACHE", REPO / ".cache" / "test-envs"))


def uv_bin() -> str:
    """The uv executable pinned by the dependency groups (the lock step's own lookup)."""
    try:
        return lock_uv_bin()
    except LockError as exc:
        pytest.fail(str(exc))


@dataclass(frozen=True)
class LockedEnv:
    """A virtual environment holding one of the toolkit's locks, for running code in it."""

    prefix: Path

    @property
    def python(self) -> Path:
        scripts = "Scripts" if os.name == "nt" else "bin"
        exe = "python.exe" if os.name == "nt" else "python"
        return self.prefix / scripts / exe

    def run(
        self, *args: str | os.PathLike[str], env: dict[str, str] | None = None,
        cwd: Path | None = None, timeout: float = 600, check: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run `python ARGS` inside the environment and capture its output."""
        full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
        return subprocess.run(
            [str(self.python), *map(str, args)], env=full_env, cwd=cwd, text=True,
            capture_output=True, timeout=timeout, check=check,
        )


def build_locked_env(prefix: Path, lock: Path, python: str = sys.executable) -> LockedEnv:
    """Create `prefix` from a hashed pip lock with uv, atomically (build aside, then rename)."""
    tmp = prefix.with_name(prefix.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run([uv_bin(), "venv", "--quiet", "--relocatable", "--python", python, str(tmp)],
                   check=True, env=env)
    locked = LockedEnv(tmp)
    subprocess.run([uv_bin(), "pip", "sync", "--quiet", "--require-hashes", "--python",
                    str(locked.python), str(lock)], check=True, env=env)
    # Make the toolkit importable (`python -m verify`) the way setup/bootstrap.py does.
    purelib = subprocess.run(
        [str(locked.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "kerasup.pth").write_text(f"{REPO}\n")
    shutil.rmtree(prefix, ignore_errors=True)
    tmp.rename(prefix)
    return LockedEnv(prefix)


@pytest.fixture(scope="session")
def cpu_env() -> LockedEnv:
    """The CPU lock installed for the running Python, built once and cached across runs."""
    digest = hashlib.sha256(CPU_LOCK.read_bytes()).hexdigest()[:12]
    tag = f"cpu-py{sysconfig.get_python_version()}-{digest}"
    prefix = TEST_ENV_CACHE / tag
    if not (prefix / "pyvenv.cfg").is_file():
        TEST_ENV_CACHE.mkdir(parents=True, exist_ok=True)
        build_locked_env(prefix, CPU_LOCK)
    return LockedEnv(prefix)


@pytest.fixture(scope="session")
def mnist_t10k() -> Path:
    """The real MNIST test set (IDX files) from ../shared, or skip where it is absent."""
    if not (MNIST_T10K / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"real MNIST digits not found at {MNIST_T10K}")
    return MNIST_T10K
