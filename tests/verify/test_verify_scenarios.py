"""``python -m verify`` in the real CPU environment, with the environment broken for real.

Each scenario runs only the checks it needs (``--only``): the keras.json, packages and
python_platform branches never import TensorFlow, so they take about a second each. One full
quick run (every check, the real digits) is shared by the tests that assert on its output.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from envs.contract.facts import PYTHONS
from envs.contract.platforms import current_platform
from envs.contract.record import InstallRecord, write
from tests.graphviz_probe import expected_graph_status, nested_ortho_crashes
from verify.checks import CHECK_NAMES
from verify.graphviz import conda_graphviz

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "verify" / "report.schema.json").read_text())
# What makes a small hand-written lock a kerasup lock: its coverage header.
HEADER = (f"# kerasup-pythons: {' '.join(PYTHONS)}\n"
          f"# kerasup-platforms: {current_platform()}\n")


def _statuses(run) -> dict[str, str]:
    return {c["name"]: c["status"] for c in run.report["checks"]}


# -- the whole suite ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def quick_run(module_run_verify, mnist_t10k: Path, tmp_path_factory: pytest.TempPathFactory):
    """The quick run of every check on the real digits, with --junit and --out: (run, junit)."""
    folder = tmp_path_factory.mktemp("quick")
    junit = folder / "junit.xml"
    # Wall time is a benchmark figure (nox -s bench), not an assertion here.
    run = module_run_verify("--data", str(mnist_t10k), "--junit", str(junit), "--out",
                            str(folder / "graph"))
    return run, junit


def test_quick_run_passes_every_check_and_reports_for_machines(
        quick_run, run_verify, cpu_env, mnist_t10k: Path) -> None:
    run, junit = quick_run
    graph_status = expected_graph_status()  # warn where Graphviz crashes on nested models
    assert run.rc == 0, run.output
    # The isolated HOME has no Jupyter kernel for the env: that check warns, the rest pass.
    assert _statuses(run) == {**dict.fromkeys(CHECK_NAMES, "pass"), "jupyter_kernel": "warn",
                              "model_graph": graph_status}
    jsonschema.validate(run.report, SCHEMA,
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert run.report["ok"] is True
    assert run.report["machine"]["variant"] == "cpu"
    # The versions block: what the environment has, as its own metadata says (not the lock).
    have = json.loads(cpu_env.run("-c", "import importlib.metadata as m, json; print(json.dumps("
                                  "{n: m.version(n) for n in ('keras', 'tensorflow-cpu')}))"
                                  ).stdout)
    versions = run.report["versions"]
    assert (versions["keras"], versions["tensorflow"]) == (have["keras"], have["tensorflow-cpu"])
    assert versions["keras_backend"] == "tensorflow"
    assert versions["tensorflow_git_version"].startswith("v")
    assert versions["graphviz"] == run.check("model_graph")["details"]["dot_version"]
    assert f"Keras {have['keras']}" in run.proc.stdout.splitlines()[1]
    assert f"TensorFlow {have['tensorflow-cpu']}" in run.proc.stdout.splitlines()[1]
    mnist = run.check("mnist")["details"]
    assert mnist["is_mnist"] is True and mnist["test_accuracy"] >= 0.90
    assert mnist["samples_per_second"] > 0
    graph = run.check("model_graph")["details"]["files"]
    assert {Path(f["path"]).name for f in graph.values()} == {"model.png", "model.svg"}
    # Human output: one line per check, a summary, no colour off a terminal, no TF noise.
    label = {"jupyter_kernel": "WARN", "model_graph": graph_status.upper()}
    for name in CHECK_NAMES:
        assert f"{label.get(name, 'PASS')}  {name}" in run.proc.stdout
    warned = 1 + (graph_status == "warn")
    assert (f"{len(CHECK_NAMES)} of {len(CHECK_NAMES)} checks ran: "
            f"{len(CHECK_NAMES) - warned} passed, {warned} with warnings") in run.proc.stdout
    assert "\033[" not in run.proc.stdout
    for noise in ("oneDNN", "cpu_feature_guard", "absl::InitializeLog"):
        assert noise not in run.output
    # JUnit: well-formed, one testcase per check, nothing failed.
    root = ET.parse(junit).getroot()
    cases = list(root.iter("testcase"))
    assert sorted(c.get("name") for c in cases) == sorted(f"test_{n}" for n in CHECK_NAMES)
    failed = [c.get("name") for c in cases if list(c.iter("failure"))]
    assert failed == []
    assert not list(root.iter("error"))
    # Seeded: a second training run agrees exactly.
    again = run_verify("--only", "mnist", "--data", str(mnist_t10k))
    assert again.check("mnist")["details"]["test_accuracy"] == mnist["test_accuracy"]


def test_default_run_offline_passes_on_the_stand_in(run_verify) -> None:
    """No --data, offline: MNIST is the stand-in (the quick run above is the run of every
    check; this one runs the two whose default differs: the data and the graph's folder)."""
    run = run_verify("--only", "mnist", "model_graph")
    graph_status = expected_graph_status()
    assert run.rc == 0, run.output
    assert _statuses(run) == {**dict.fromkeys(CHECK_NAMES, "skip"), "mnist": "pass",
                              "model_graph": graph_status}
    mnist = run.check("mnist")
    assert "NOT MNIST" in mnist["summary"] and mnist["details"]["bar"] == "quick mode"
    # The stand-in's reason is on the check's own line, plainly, without --verbose.
    assert "NOT MNIST, because: download skipped (KERASUP_OFFLINE is set)" in run.proc.stdout
    # Without --out the graph is drawn in a temporary folder that is gone afterwards.
    assert not Path(run.check("model_graph")["details"]["out"]).exists()


def test_list_and_usage_error_in_the_env(run_verify, cpu_env) -> None:
    listing = cpu_env.run("-m", "verify", "--list")
    assert listing.returncode == 0 and listing.stdout.count("\n") == len(CHECK_NAMES)
    assert run_verify("--only", "nope").rc == 2


# -- keras.json -----------------------------------------------------------------------------

def _keras_json(verify_home: dict[str, str]) -> Path:
    return Path(verify_home["KERAS_HOME"]) / "keras.json"


def test_malformed_keras_json_fails_and_nothing_is_written(run_verify, verify_home) -> None:
    path = _keras_json(verify_home)
    path.write_text('{"backend": "tensorflow",,}')
    run = run_verify("--only", "keras_json")
    check = run.check("keras_json")
    assert run.rc == 1 and check["status"] == "fail"
    assert ": not valid JSON (line 1 column" in check["summary"]
    assert "Keras silently ignores it" in check["summary"]
    assert "python -m verify --only keras_json --fix" in check["fix"]
    assert "fix: python -m verify --only keras_json --fix" in run.proc.stdout
    assert path.read_text() == '{"backend": "tensorflow",,}'
    assert sorted(p.name for p in path.parent.iterdir()) == ["keras.json"]


def test_theano_backend_fails_and_keras_users_point_at_it(run_verify, verify_home) -> None:
    _keras_json(verify_home).write_text('{"backend": "theano"}')
    run = run_verify("--only", "keras_json", "model_graph")
    check = run.check("keras_json")
    assert check["status"] == "fail" and "'theano', a legacy Keras 2 backend" in \
        check["summary"]
    assert check["details"]["backend_source"].endswith("keras.json")
    graph = run.check("model_graph")  # it imports keras: fails cleanly, naming the cause
    assert graph["status"] == "fail"
    assert graph["summary"] == "import keras failed: ValueError: Unable to import backend : theano"
    assert "python -m verify --only keras_json --fix" in graph["fix"]


def test_keras_backend_overrides_the_file(run_verify, verify_home) -> None:
    _keras_json(verify_home).write_text('{"backend": "tensorflow"}')
    run = run_verify("--only", "keras_json", env={"KERAS_BACKEND": "torch"})
    check = run.check("keras_json")
    assert check["status"] == "fail"
    assert check["details"]["backend"] == "torch"
    assert check["details"]["backend_source"] == "KERAS_BACKEND environment variable"
    assert check["fix"].startswith("unset KERAS_BACKEND")
    # A good variable over a bad file works here but warns for every other shell.
    _keras_json(verify_home).write_text('{"backend": "theano"}')
    run = run_verify("--only", "keras_json", env={"KERAS_BACKEND": "tensorflow"})
    assert run.rc == 0 and run.check("keras_json")["status"] == "warn"


def test_fix_keeps_a_backup_and_the_users_keys(run_verify, verify_home) -> None:
    path = _keras_json(verify_home)
    original = json.dumps({"backend": "theano", "floatx": "float64", "epsilon": 0,
                           "image_data_format": "channels_first", "my_setting": 42})
    path.write_text(original)
    run = run_verify("--only", "keras_json", "--fix")
    check = run.check("keras_json")
    assert run.rc == 0 and check["status"] == "pass", run.output
    backups = sorted(path.parent.glob("keras.json.bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == original
    assert check["details"]["backup"] == str(backups[0])
    assert json.loads(path.read_text()) == {
        "backend": "tensorflow", "floatx": "float64", "epsilon": 1e-07,
        "image_data_format": "channels_first", "my_setting": 42}
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        ["keras.json", backups[0].name])  # no temp file left behind


# -- packages -------------------------------------------------------------------------------

def _installed_version(cpu_env, name: str) -> str:
    return cpu_env.run("-c", f"import importlib.metadata as m; print(m.version({name!r}))",
                       check=True).stdout.strip()


@pytest.mark.parametrize("kind", ["requirements", "conda-lock"])
def test_package_at_another_version_than_the_lock(run_verify, cpu_env, tmp_path: Path,
                                                  kind: str) -> None:
    rich = _installed_version(cpu_env, "rich")
    packaging = _installed_version(cpu_env, "packaging")
    other = "14.0.0" if rich != "14.0.0" else "13.9.4"
    if kind == "requirements":
        lock = tmp_path / "tiny-requirements.txt"
        lock.write_text(HEADER + f"rich=={other} \\\n    --hash=sha256:{'0' * 64}\n"
                        f"packaging=={packaging}\n")
    else:
        lock = tmp_path / "conda-lock.yml"
        here = current_platform()
        lock.write_text(
            "version: 1\nmetadata:\n  platforms: [" + here + "]\npackage:\n"
            f"- {{name: rich, version: {other}, manager: pip, platform: {here}}}\n"
            f"- {{name: packaging, version: '{packaging}', manager: pip, "
            f"platform: {here}}}\n"
            f"- {{name: graphviz, version: 12.2.1, manager: conda, "
            f"platform: {here}}}\n")
    run = run_verify("--only", "packages", "--lock", str(lock))
    check = run.check("packages")
    assert run.rc == 1 and check["status"] == "fail"
    assert f"rich {rich} (lock: {other})" in check["summary"]
    assert f"rich=={other}" in check["fix"]
    rows = {r["package"]: r for r in check["details"]["table"]}
    assert rows["rich"] == {"package": "rich", "locked": other, "installed": rich,
                            "problem": "mismatch"}
    assert rows["tensorflow-cpu"]["problem"] == "unexpected"  # relevant, not in this lock
    assert "packaging" not in rows and "graphviz" not in rows
    assert check["details"]["broken_requirements"] == []
    table_row = [ln.split() for ln in run.proc.stdout.splitlines() if ln.split()[:1] == ["rich"]]
    assert table_row == [["rich", other, rich, "mismatch"]]  # the human table
    assert run.report["machine"]["lock"] == str(lock)
    assert run.report["machine"]["lock_source"] == "--lock"


# -- model graph ----------------------------------------------------------------------------

def test_a_nested_model_is_drawn_as_keras_draws_it(quick_run) -> None:
    """Keras' own nested test model with plot_model's defaults (expand_nested=True, ortho
    edges): drawn where Graphviz can; where it crashes (2.42/2.43), the check warns (never
    passes silently) with the Graphviz version, its assertion, the workaround that works here
    and the newer Graphviz. (Asserted on the quick run's model_graph check, drawn to --out.)"""
    run, _ = quick_run
    check = run.check("model_graph")
    details = check["details"]
    if not nested_ortho_crashes():
        assert run.rc == 0 and check["status"] == "pass", run.output
        assert b"<svg" in Path(details["files"]["nested_svg"]["path"]).read_bytes()[:4096]
        return
    assert run.rc == 0 and check["status"] == "warn", run.output
    assert details["dot_version"] in check["summary"] and "crashed" in check["summary"]
    assert "expand_nested=True" in check["summary"] and "Assertion" in check["summary"]
    assert details["spline_workaround_works"] is True
    assert 'expand_nested=True, splines="spline")' in check["fix"]
    assert f"conda-forge's Graphviz {conda_graphviz('cpu', REPO)}" in check["fix"]
    # the flat model is still drawn, in both formats
    assert {Path(f["path"]).name for f in details["files"].values()} == {"model.png",
                                                                         "model.svg"}
    assert "WARN  model_graph" in run.proc.stdout and "fix: draw with curved edges" in \
        run.proc.stdout

def test_dot_missing_from_path(run_verify, tmp_path: Path) -> None:
    """dot installed (here: the machine's real /usr/bin/dot) but PATH not reaching it: the
    fix says where it is and how to add it to PATH, not to install it again."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    run = run_verify("--only", "model_graph", env={"PATH": str(empty)})
    check = run.check("model_graph")
    assert run.rc == 1 and check["status"] == "fail"
    installed = shutil.which("dot")
    if installed:
        assert check["details"]["dot_off_path"] == installed
        assert f"installed at {installed}" in check["summary"]
        assert check["fix"].startswith(f'export PATH="{Path(installed).parent}:$PATH"')
        assert "apt-get" not in check["fix"]
    else:
        assert "Graphviz's dot is not on PATH" in check["summary"]
        assert "`pip install graphviz` installs only a Python wrapper" in check["summary"]
        assert "apt-get install graphviz" in check["fix"]


def test_unwritable_output_directory(run_verify, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    run = run_verify("--only", "model_graph", "--out", str(blocker / "graphs"))
    check = run.check("model_graph")
    assert run.rc == 1 and check["status"] == "fail"
    assert f"cannot write to the output directory {blocker / 'graphs'}" in check["summary"]
    assert "--out DIR" in check["fix"]
    if os.geteuid() != 0:  # root writes through permission bits, so only try this as a user
        ro = tmp_path / "read-only"
        ro.mkdir(mode=0o500)
        check = run_verify("--only", "model_graph", "--out", str(ro)).check("model_graph")
        assert check["status"] == "fail" and "cannot write" in check["summary"]


def _clone_env(cpu_env, prefix: Path, *uninstall: str) -> Path:
    """A second venv from the same lock (uv links from its cache: seconds), less `uninstall`."""
    from tests.conftest import CPU_LOCK, build_locked_env, uv_bin

    python = build_locked_env(prefix, CPU_LOCK, python=str(cpu_env.python)).python
    if uninstall:
        subprocess.run([uv_bin(), "pip", "uninstall", "--quiet", "--python", str(python),
                        *uninstall], check=True, env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"})
    return python


@pytest.fixture(scope="module")
def env_without_pydot(cpu_env, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Without wheel too: nothing imports it, but the locked astunparse requires it.
    python = _clone_env(cpu_env, tmp_path_factory.mktemp("no-pydot") / "venv", "pydot", "wheel")
    # And a distribution installed outside the lock whose own requirement is broken, as
    # Colab's preinstalled packages can be: real metadata, as an installer leaves it.
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"], check=True,
                             capture_output=True, text=True).stdout.strip()
    dist_info = Path(purelib) / "preinstalled_tool-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: preinstalled-tool\n"
                                        "Version: 1.0\nRequires-Dist: numpy<1\n")
    (dist_info / "RECORD").write_text("")
    return python


def test_pydot_missing(run_verify, env_without_pydot: Path) -> None:
    run = run_verify("--only", "model_graph", "packages", python=env_without_pydot)
    graph, packages = run.check("model_graph"), run.check("packages")
    assert run.rc == 1
    assert graph["status"] == "fail" and "pydot is not importable" in graph["summary"]
    assert "pydot" in graph["fix"] and "install" in graph["fix"]
    assert packages["status"] == "fail" and "missing: pydot==" in packages["summary"]
    broken = packages["details"]["broken_requirements"]
    assert any(b.startswith("astunparse ") and "wheel" in b for b in broken)
    assert any(b.startswith("preinstalled-tool 1.0 has requirement numpy<1") for b in broken)
    # The locked package's broken requirement fails the check; the outsider's only warns.
    assert "broken requirement: astunparse" in run.output
    assert "1 broken requirement(s) of packages the lock does not manage" in run.output


# -- GPU and MNIST (these import TensorFlow) ------------------------------------------------

def test_gpu_variant_without_a_gpu_fails_with_the_no_driver_diagnosis(run_verify) -> None:
    run = run_verify("--only", "gpu", "--variant", "gpu")
    check = run.check("gpu")
    assert run.rc == 1 and check["status"] == "fail"
    assert check["summary"].startswith("no NVIDIA driver")
    assert check["details"]["breaks_at"] == "driver"
    assert check["details"]["expect_gpu"] is True
    assert "ubuntu-drivers install" in check["fix"] and "--variant cpu" in check["fix"]
    assert run.report["machine"]["variant_source"] == "--variant"


def test_corrupted_mnist_cache_is_skipped_with_a_warning(run_verify, verify_home) -> None:
    cache = Path(verify_home["KERAS_HOME"]) / "datasets" / "mnist.npz"
    cache.parent.mkdir()
    cache.write_bytes(b"PK\x03\x04 this is not the MNIST archive" * 100)
    run = run_verify("--only", "mnist")
    check = run.check("mnist")
    assert run.rc == 0 and check["status"] == "warn", run.output
    assert f"the Keras MNIST cache {cache} is corrupted" in check["summary"]
    assert f"rm '{cache}'" in check["fix"]
    assert check["details"]["is_mnist"] is False  # trained on the stand-in instead
    assert cache.read_bytes().startswith(b"PK")  # reported, not deleted


def test_bad_data_path_fails_with_the_loaders_message(run_verify, tmp_path: Path) -> None:
    run = run_verify("--only", "mnist", "--data", str(tmp_path / "nowhere"))
    check = run.check("mnist")
    assert check["status"] == "fail" and "no such file or directory" in check["summary"]
    assert "--data" in check["fix"]


def test_interrupt_exits_130(cpu_env, verify_home, tmp_path: Path) -> None:
    env = {**os.environ, **verify_home}
    proc = subprocess.Popen([str(cpu_env.python), "-m", "verify", "--only", "mnist"],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("kerasup verify ")  # printed before the checks
    time.sleep(2.5)  # importing TensorFlow (seconds) or training
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in out + err


def test_interrupt_while_tensorflow_imports_in_the_background(cpu_env, verify_home,
                                                              tmp_path: Path) -> None:
    """Ctrl-C while verify.preload's thread is importing TensorFlow: exit 130 at once. (Python's
    own shutdown deadlocked on the import lock that thread held.)"""
    proc = subprocess.Popen([str(cpu_env.python), "-m", "verify", "--no-color"],
                            env={**os.environ, **verify_home}, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    header = proc.stdout.readline()  # printed just before the import starts
    assert header.startswith("kerasup verify "), header
    time.sleep(0.5)  # the import takes seconds: it is under way
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("verify hung after the interrupt") from None
    assert proc.returncode == 130, out + err
    assert "interrupted: no report written" in err and "Traceback" not in out + err


def test_install_record_sets_variant_and_lock(run_verify, cpu_env, tmp_path: Path) -> None:
    python = _clone_env(cpu_env, tmp_path / "recorded")
    rich = _installed_version(cpu_env, "rich")
    lock = tmp_path / "recorded-lock.txt"
    tf = _installed_version(cpu_env, "tensorflow-cpu")
    lock.write_text(HEADER + f"rich=={rich}\nnumpy==0.0.1\n"
                    f"tensorflow-cpu=={tf} ; sys_platform == 'linux'\n")
    record = write(tmp_path / "recorded", InstallRecord.for_lock(
        variant="cpu", python="3.10", platform=current_platform(), lock=lock, method="uv",
        toolkit_root=REPO))
    run = run_verify("--only", "python_platform", "packages", python=python)
    machine = run.report["machine"]
    assert machine["variant_source"] == machine["lock_source"] == f"install record {record}"
    assert machine["lock"] == str(lock) and machine["install_record"] == str(record)
    platform_check, packages = run.check("python_platform"), run.check("packages")
    assert platform_check["status"] == "warn"
    assert "the install record says Python 3.10" in platform_check["summary"]
    assert packages["status"] == "fail" and "numpy" in packages["summary"]


def test_tensorflows_real_startup_log_holds_no_problem(cpu_env) -> None:
    code = ("import json; from dataclasses import asdict; "
            "from verify.gpu import probe_runtime_subprocess; "
            "info, log = probe_runtime_subprocess(); print(json.dumps(asdict(info)))")
    proc = cpu_env.run("-c", code, check=True)
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["gpus"] == [] and info["error"] is None
    assert info["log_problems"] == [] and info["missing_libraries"] == []
    assert info["harmless_log_lines"] >= 1  # TensorFlow did log, and it was all harmless


def test_a_lock_that_does_not_cover_this_machine(run_verify, tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"  # what it covers is its header, nothing else
    lock.write_text("# kerasup-pythons: 3.11 3.12 3.13\n# kerasup-platforms: osx-arm64\n"
                    "tensorflow==2.21.0 ; sys_platform == 'darwin'\nkeras==3.15.1\n")
    run = run_verify("--only", "python_platform", "--lock", str(lock))
    check = run.check("python_platform")
    assert run.rc == 1 and check["status"] == "fail"
    problems = check["details"]["problems"]
    assert any("does not cover" in p and "it covers osx-arm64" in p for p in problems)
    assert any("locks no TensorFlow for CPython" in p for p in problems)
    assert "covers osx-arm64" in check["fix"]


def test_the_users_pytest_setup_does_not_leak_in(run_verify, tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text("raise RuntimeError('user conftest loaded')\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --no-such-option -x\n")
    run = run_verify("--only", "keras_json", env={"PYTEST_ADDOPTS": "--also-bogus"})
    assert run.rc == 0, run.output
    assert run.check("keras_json")["status"] == "pass"


def test_a_python_the_conda_lock_does_not_cover(run_verify, cpu_env) -> None:
    conda_lock = REPO / "envs" / "cpu" / "conda-lock.yml"
    if not conda_lock.is_file():
        pytest.skip("envs/cpu/conda-lock.yml not generated")
    here = cpu_env.run("-c", "import sys; print('%d.%d' % sys.version_info[:2])",
                       check=True).stdout.strip()
    # python_platform alone first: packages is asked only where the lock leaves this Python out.
    check = run_verify("--only", "python_platform", "--lock", str(conda_lock)).check(
        "python_platform")
    locked = check["details"]["lock_pythons"]
    if here in locked:
        assert check["status"] == "pass"
        return
    assert check["status"] == "fail"
    assert f"Python {here} is not covered by conda-lock.yml" in check["summary"]
    assert "setup" in check["fix"]
    packages = run_verify("--only", "packages", "--lock", str(conda_lock)).check("packages")
    assert packages["status"] == "fail"
    assert "this environment's Python is not the lock's" in packages["fix"]
