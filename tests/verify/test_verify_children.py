"""verify's TensorFlow-free preparation in child processes (verify.child): the digits
(verify.mnist_child) and the Jupyter kernelspecs (verify.kernel_specs) arrive as the
in-process loaders give them, failures read the same, and the children run at a lower CPU
priority. Real interpreters, real files, real kernelspecs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from verify.child import LOW_PRIORITY, run_module
from verify.kernel_specs import all_specs, all_specs_in_child
from verify.locks import LockEntry, applicable
from verify.mnist_child import DATA_ERROR, load_mnist_in_child
from verify.mnist_data import MnistData, MnistDataError, load_mnist

ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def _same(a: MnistData, b: MnistData) -> None:
    for name in ARRAYS:
        left, right = getattr(a, name), getattr(b, name)
        assert left.dtype == right.dtype == np.uint8 and np.array_equal(left, right), name
    assert (a.source, a.is_mnist, a.notes) == (b.source, b.is_mnist, b.notes)


def test_the_child_hands_over_the_real_digits_as_loaded_here(mnist_t10k: Path) -> None:
    child = subprocess.run([sys.executable, "-m", "verify.mnist_child", "--data",
                            str(mnist_t10k)], capture_output=True, timeout=300, check=False)
    assert child.returncode == 0, child.stderr.decode()
    meta = json.loads(child.stdout.split(b"\n", 1)[0])
    assert meta["is_mnist"] is True and meta["source"] == f"data:{mnist_t10k}"
    _same(load_mnist_in_child(mnist_t10k), load_mnist(mnist_t10k))


def test_the_stand_in_drawn_by_the_child_is_the_one_drawn_here(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KERASUP_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    found = load_mnist_in_child(None, stand_in_train=500)
    assert len(found.x_train) == 500 and not found.is_mnist
    assert any("KERASUP_OFFLINE" in note for note in found.notes)
    _same(found, load_mnist(None, stand_in_train=500))


def test_an_unusable_data_path_fails_in_the_child_as_it_does_here(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-digits"
    child = subprocess.run([sys.executable, "-m", "verify.mnist_child", "--data",
                            str(missing)], capture_output=True, timeout=300, check=False)
    assert child.returncode == DATA_ERROR and child.stdout == b""
    assert len(child.stderr.decode().strip().splitlines()) == 1
    with pytest.raises(MnistDataError) as here:
        load_mnist(missing)
    with pytest.raises(MnistDataError) as there:
        load_mnist_in_child(missing)
    assert str(there.value) == str(here.value)


def test_a_child_that_cannot_import_verify_falls_back_to_this_process(
        mnist_t10k: Path, tmp_path: Path) -> None:
    """Run isolated (-I) from a folder without verify, with verify only on the parent's
    sys.path: the child fails to start, and the digits are loaded in-process."""
    repo = Path(__file__).resolve().parents[2]
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "from verify.mnist_child import load_mnist_in_child; "
            "import verify.child as c; "
            "done = c.run_module('verify.mnist_child', timeout=60); "
            "found = load_mnist_in_child(sys.argv[2]); "
            "print(done.returncode, found.source, len(found.x_train))")
    proc = subprocess.run([sys.executable, "-I", "-c", code, str(repo), str(mnist_t10k)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    rc, source, count = proc.stdout.split()
    assert rc != "0" and source == f"data:{mnist_t10k}" and count == "8000"


def test_the_kernelspecs_listed_by_the_child_are_those_listed_here(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("jupyter_client")
    data = tmp_path / "jupyter"
    spec = data / "kernels" / "kerasup-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "kerasup test \u00e9", "language": "python"}), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(data))
    monkeypatch.setenv("JUPYTER_PATH", "")
    child = subprocess.run([sys.executable, "-m", "verify.kernel_specs"], capture_output=True,
                           timeout=120, check=False)
    assert child.returncode == 0, child.stderr.decode()
    listed = json.loads(child.stdout)["specs"]
    assert listed["kerasup-test"]["spec"]["display_name"] == "kerasup test \u00e9"
    assert listed["kerasup-test"]["resource_dir"] == str(spec)
    assert all_specs_in_child() == json.loads(json.dumps(all_specs()))


def test_kernelspecs_that_cannot_be_listed_fail_in_the_child_as_they_do_here(
        tmp_path: Path) -> None:
    """A Python without jupyter_client (a bare venv): the same error from the child."""
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=300)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    repo = Path(__file__).resolve().parents[2]
    code = ("import sys; sys.path.insert(0, sys.argv[1])\n"
            "from verify.kernel_specs import KernelSpecError, all_specs, all_specs_in_child\n"
            "for how in (all_specs, all_specs_in_child):\n"
            "    try: how()\n"
            "    except KernelSpecError as exc: print(exc)\n")
    proc = subprocess.run([str(python), "-c", code, str(repo)], cwd=repo, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    here, there = proc.stdout.strip().splitlines()
    assert here == there and here.startswith("ModuleNotFoundError: ")


def test_a_child_runs_at_the_priority_asked_and_a_stuck_one_is_given_up(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "kerasup_probe_child.py").write_text(
        "import os, sys, time\n"
        "if sys.argv[1:] == ['hang']:\n"
        "    time.sleep(60)\n"
        "print(os.nice(0))\n"
        "sys.exit(7)\n")
    monkeypatch.chdir(tmp_path)
    done = run_module("kerasup_probe_child", timeout=60, niceness=LOW_PRIORITY)
    assert done is not None and done.returncode == 7
    assert int(done.stdout) == min(os.nice(0) + LOW_PRIORITY, 19)
    same = run_module("kerasup_probe_child", timeout=60)
    assert same is not None and int(same.stdout) == os.nice(0)
    assert run_module("kerasup_probe_child", ["hang"], timeout=1) is None


def test_one_marker_is_judged_for_each_environment_it_is_asked_about() -> None:
    """Marker results are cached per text and environment, never across environments."""
    entries = [LockEntry("pywin", "1", 'sys_platform == "win32"'),
               LockEntry("uvloop", "1", 'sys_platform != "win32"')]
    base = {"sys_platform": "linux", "python_version": "3.12", "platform_machine": "x86_64"}
    on_linux, _ = applicable(entries, base)
    on_windows, _ = applicable(entries, {**base, "sys_platform": "win32"})
    assert sorted(on_linux) == ["uvloop"] and sorted(on_windows) == ["pywin"]
    assert sorted(applicable(entries, base)[0]) == ["uvloop"]


@pytest.mark.slow
@pytest.mark.parametrize("collecting", [True, False])
def test_the_background_import_leaves_the_collector_as_it_found_it(
        cpu_env, collecting: bool) -> None:
    """verify.preload imports TensorFlow with the cyclic collector off, then freezes what the
    import made: the collector's own switch is back where it was."""
    code = ("import gc, sys\n"
            f"gc.enable() if {collecting} else gc.disable()\n"
            "from verify import preload\n"
            "preload.start(); preload.wait()\n"
            "print(gc.isenabled(), 'keras' in sys.modules, gc.get_freeze_count())\n")
    proc = cpu_env.run("-c", code, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    enabled, imported, frozen = proc.stdout.split()
    assert enabled == str(collecting) and imported == "True"
    assert int(frozen) > 100_000  # TensorFlow's and Keras' objects, never walked again
