"""setup/colab.ipynb run headless (nbclient) in a fresh venv standing in for a notebook
runtime: its first cell installs the CPU lock into the kernel's own interpreter.

Two runtimes, each running what is its own:
- Colab-like (Colab's variables set, numpy imported at kernel start, an older ipykernel of
  its own): the whole notebook. The install keeps Colab's kernel packages (verify checks
  the lock without them) and asks for a restart; verify passes on the real digits and its
  table, the model graph and the training curves appear in the outputs; after the restart
  the install is a no-op and the kernel imports the locked TensorFlow and Keras.
- plain Jupyter (the lock's own ipykernel): the cells that differ there. The install
  puts the whole lock in with no restart, the Colab-only cell skips its steps, the same
  kernel imports the locked TensorFlow and Keras, and verify's install checks (packages against
  the whole lock, kernel, keras.json, platform) pass; then the install cell from a clone of
  a pinned ref (a decoy `setup` never imported), and a folder it did not clone refused.
  The verify and training cells run the same code in both runtimes, so only the Colab-like
  one runs them (verify's TensorFlow checks on a bootstrap-built environment:
  tests/verify)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from envs.contract.layout import Layout
from setup import colab
from tests.conftest import CPU_LOCK, REPO, uv_bin
from tests.graphviz_probe import expected_graph_status, nested_ortho_crashes, ready_but_for_graphviz

NOTEBOOK = REPO / "setup" / "colab.ipynb"
KERNEL = "kerasup-colab-runtime"
# Older than the lock's numpy, preinstalled but never imported: upgraded without a restart.
OLD_NUMPY = "2.2.6"
# The Colab stand-in's own ipykernel, older than the lock's (Colab pins its kernel packages).
COLAB_IPYKERNEL = "6.29.5"
# verify's checks that import TensorFlow: the same code in either runtime, run in the
# Colab-like one only (its verify cell).
TF_CHECKS = ("gpu", "mnist", "model_graph")


def make_runtime(prefix: Path, colab_like: bool) -> Path:
    """A venv with what a notebook runtime has before kerasup: an ipykernel and an older
    numpy; no TensorFlow, no Keras. The plain runtime's kernel packages are the lock's
    versions; the Colab-like one has its own older ipykernel (the packages it shares with
    the lock at the lock's versions). Its kernelspec goes under <prefix>/share/jupyter."""
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run([uv_bin(), "venv", "--quiet", "--python", sys.executable, str(prefix)],
                   check=True, env=env)
    python = prefix / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    pip = [uv_bin(), "pip", "install", "--quiet", "--python", str(python)]
    if colab_like:
        shared = prefix / "lock-without-kernel.txt"
        shared.write_text(colab.lock_without(CPU_LOCK.read_text(), colab.KERNEL_ROOTS)[0])
        subprocess.run([*pip, f"ipykernel=={COLAB_IPYKERNEL}", "-c", str(shared)], check=True,
                       env=env)
    else:
        subprocess.run([*pip, "ipykernel", "-c", str(CPU_LOCK)], check=True, env=env)
    subprocess.run([*pip, f"numpy=={OLD_NUMPY}"], check=True, env=env)
    subprocess.run([str(python), "-m", "ipykernel", "install", "--prefix", str(prefix),
                    "--name", KERNEL, "--display-name", "kerasup Colab stand-in"],
                   check=True, capture_output=True)
    return python


def _texts(nb: Any) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def _mimes(nb: Any) -> list[str]:
    return [mime for cell in nb.cells for out in cell.get("outputs", [])
            for mime in out.get("data", {})]


def _execute(nb: Any, work: Path, saved: Path) -> str:
    """Run `nb` in a new kernel of the runtime (cwd `work`); all its text output."""
    client = NotebookClient(nb, timeout=900, kernel_name=KERNEL,
                            resources={"metadata": {"path": str(work)}})
    try:
        client.execute()
    finally:
        nbformat.write(nb, saved)
    return _texts(nb)


def _runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, colab_like: bool) -> Path:
    """A notebook runtime (make_runtime) and the variables its kernel starts with; returns
    its interpreter. Its working folder is tmp_path/content (Colab's /content)."""
    # A notebook runtime caches bytecode (a CI image that sets PYTHONDONTWRITEBYTECODE
    # would make every kernel start compile IPython and ipykernel again).
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    runtime = tmp_path / "runtime"
    python = make_runtime(runtime, colab_like)
    (tmp_path / "content").mkdir()
    monkeypatch.setenv("JUPYTER_PATH", str(runtime / "share" / "jupyter"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    # Colab has uv on PATH; the runtime's own bin is not on it (Colab's is /usr/bin).
    monkeypatch.setenv("PATH", f"{Path(uv_bin()).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KERASUP_REPO_DIR", str(REPO))  # in tests the checkout is present
    monkeypatch.setenv("KERASUP_OFFLINE", "1")
    monkeypatch.setenv("KERASUP_EPOCHS", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    for name in ("COLAB_RELEASE_TAG", "COLAB_GPU", "VIRTUAL_ENV", "PYTHONPATH"):
        monkeypatch.delenv(name, raising=False)
    if colab_like:
        # What Colab sets in every runtime (google.colab itself is not here), and a kernel
        # that has numpy imported before the first cell runs, as Colab's has.
        monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20261120-060000_RC00")
        startup = tmp_path / "ipython" / "profile_default" / "startup"
        startup.mkdir(parents=True)
        (startup / "00-preload.py").write_text("import numpy\n")
    return python


def _cells(*ids: str) -> Any:
    """The notebook with only the cells `ids`, in the notebook's order."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells = [c for c in nb.cells if c.get("id") in ids]
    assert len(nb.cells) == len(ids), ids
    return nb


def _assert_install(text: str, runtime: Path, tmp_path: Path) -> dict[str, Any]:
    """What the install cell does in either runtime: the CPU lock, with uv, into the kernel's
    interpreter, numpy upgraded, keras.json written; the install record."""
    assert "installed the cpu lock" in text and "with uv" in text, text
    assert f"numpy: {OLD_NUMPY} -> " in text
    assert (tmp_path / "keras-home" / "keras.json").is_file()
    record: dict[str, Any] = json.loads(
        (runtime / "share" / "kerasup" / "install.json").read_text())
    assert record["variant"] == "cpu" and record["method"] == "uv"
    return record


def _assert_locked_kernel(text: str, python: Path) -> None:
    """The kernel imported the locked Keras and a TensorFlow 2; numpy is no longer the old."""
    locked = {line.split("==")[0]: line.split("==")[1].split()[0]
              for line in CPU_LOCK.read_text().splitlines() if "==" in line
              and not line[0].isspace()}
    assert f"Keras {locked['keras']}" in text
    assert "TensorFlow 2." in text
    done = subprocess.run([str(python), "-c", "import numpy; print(numpy.__version__)"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() != OLD_NUMPY


@pytest.mark.slow
def test_colab_runtime_installs_verifies_and_shows_results(tmp_path, monkeypatch, mnist_t10k):
    """The whole notebook in the Colab-like runtime: install (kernel packages kept, restart
    asked for), verify on the real digits, the model graph, the training curves; then the
    restart: install is a no-op and the kernel imports the locked TensorFlow and Keras."""
    python = _runtime(tmp_path, monkeypatch, colab_like=True)
    runtime, work = tmp_path / "runtime", tmp_path / "content"
    monkeypatch.setenv("KERASUP_MNIST_DATA", str(mnist_t10k))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    text = _execute(nb, work, tmp_path / "colab.executed.ipynb")

    record = _assert_install(text, runtime, tmp_path)
    # Colab's kernel packages kept; a restart asked for, because numpy was imported.
    assert "Colab runtime release-colab_20261120" in text
    assert "kept this runtime's own kernel packages:" in text and "ipykernel" in text
    derived = runtime / "share" / "kerasup" / "colab-cpu-requirements.txt"
    assert Path(record["lock"]) == derived
    done = subprocess.run([str(python), "-c", "import ipykernel; print(ipykernel.__version__)"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == COLAB_IPYKERNEL
    assert "RESTART NEEDED" in text and f"numpy {OLD_NUMPY} -> " in text
    assert "(imported here as numpy)" in text and "restart the runtime first" in text
    # not imported into a kernel that needs a restart (verify's own versions line, from
    # its child process, names TensorFlow too: the notebook's line is "TensorFlow X, Keras")
    assert not re.search(r"^TensorFlow 2\.\S+, Keras", text, re.M)

    # verify passed, on the real digits, and said so in a rendered table (where this Graphviz
    # crashes on nested models, 2.42/2.43 as Colab's Ubuntu has, model_graph warns).
    report = json.loads((runtime / "share" / "kerasup" / "verify-report.json").read_text())
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert ready_but_for_graphviz(report), statuses
    assert statuses.pop("model_graph") == expected_graph_status()
    assert set(statuses.values()) == {"pass"}, statuses
    mnist = next(c for c in report["checks"] if c["name"] == "mnist")
    assert "synthetic" not in json.dumps(mnist).lower(), mnist
    html = [out["data"]["text/html"] for cell in nb.cells for out in cell.get("outputs", [])
            if "text/html" in out.get("data", {})]
    if not nested_ortho_crashes():
        assert any("kerasup-verify" in h and "All checks passed" in h for h in html), html
        assert "ALL CHECKS PASSED" in text

    # The model graph and the training curves, inline.
    assert (work / "kerasup-out" / "verify" / "model.png").is_file()
    assert _mimes(nb).count("image/png") >= 3  # model graph, loss, accuracy
    metrics = json.loads((work / "kerasup-out" / "mnist_dense" / "metrics.json").read_text())
    assert metrics["is_mnist"] and metrics["epochs"] == 1

    # After the restart (a new kernel), the install cell is a no-op and the kernel
    # imports the locked TensorFlow and Keras.
    text = _execute(_cells("install", "use"), work, tmp_path / "colab.restarted.ipynb")
    assert "0 distributions changed" in text and "no restart needed" in text, text
    _assert_locked_kernel(text, python)


@pytest.mark.slow
def test_jupyter_runtime_installs_the_whole_lock_from_a_pinned_clone(tmp_path, monkeypatch):
    """The cells that differ in a plain Jupyter runtime: install (the whole lock, no
    restart), the Colab-only cell (skipped), use (the locked TensorFlow and Keras in this
    kernel); verify's install checks on the whole lock; then the install cell from a clone
    of a pinned ref, and a folder it did not clone refused. The verify and training cells
    run the same code as in the Colab-like runtime, which runs them (the test above)."""
    python = _runtime(tmp_path, monkeypatch, colab_like=False)
    runtime, work = tmp_path / "runtime", tmp_path / "content"
    text = _execute(_cells("install", "colab-only", "use"), work,
                    tmp_path / "jupyter.executed.ipynb")

    record = _assert_install(text, runtime, tmp_path)
    # The whole lock; numpy was not imported by this kernel, so no restart.
    assert "not running in Colab" in text and "kept this runtime" not in text
    assert Path(record["lock"]) == CPU_LOCK.resolve()
    assert "no restart needed" in text and "RESTART NEEDED" not in text
    _assert_locked_kernel(text, python)
    # verify (through the site hook the install wrote) accepts the whole lock in place, the
    # runtime's kernel and keras.json; its TensorFlow checks run in the Colab-like runtime.
    done = subprocess.run(Layout(runtime).verify_argv(str(python), "--skip", *TF_CHECKS),
                          capture_output=True, text=True, check=False,
                          cwd=Layout(runtime).share)
    report = json.loads(Layout(runtime).verify_report.read_text())
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert done.returncode == 0 and statuses == {
        "python_platform": "pass", "keras_json": "pass", "jupyter_kernel": "pass",
        "packages": "pass", **dict.fromkeys(TF_CHECKS, "skip")}, done.stdout + done.stderr

    # Without KERASUP_REPO_DIR, the first cell fetches REPO_URL (here a local copy) at the
    # pinned REPO_REF and installs from that clone alone: a decoy `setup` package in the
    # working folder is never imported. Nothing is left to change in this runtime.
    monkeypatch.delenv("KERASUP_REPO_DIR")
    origin = _origin(tmp_path / "origin")
    ref = subprocess.run(["git", "-C", str(origin), "rev-parse", "HEAD"], check=True,
                         capture_output=True, text=True).stdout.strip()
    monkeypatch.setenv("KERASUP_REPO_URL", origin.as_uri())
    monkeypatch.setenv("KERASUP_REPO_REF", ref)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "setup").mkdir(parents=True)
    (elsewhere / "setup" / "__init__.py").write_text("")
    (elsewhere / "setup" / "colab.py").write_text("raise RuntimeError('decoy imported')\n")
    text = _execute(_cells("install"), elsewhere, tmp_path / "colab.cloned.ipynb")
    assert f"fetch --quiet --depth 1 -- {origin.as_uri()} {ref}" in text, text
    assert "0 distributions changed" in text, text
    clone = (elsewhere / "kerasup").resolve()
    assert subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip() == ref
    record = json.loads((runtime / "share" / "kerasup" / "install.json").read_text())
    assert record["toolkit_root"] == str(clone)
    # A folder the notebook did not clone is refused, never reused or overwritten.
    monkeypatch.setenv("KERASUP_CLONE_DIR", str(elsewhere / "setup"))
    with pytest.raises(Exception, match="was not cloned by this notebook"):
        _execute(_cells("install"), elsewhere, tmp_path / "colab.refused.ipynb")


def _origin(path: Path) -> Path:
    """A git repository holding what the install cell needs of the working tree."""
    for part in ("setup", "envs"):
        shutil.copytree(REPO / part, path / part,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git = ["git", "-c", "user.name=kerasup tests", "-c", "user.email=tests@kerasup.invalid",
           "-C", str(path)]
    for args in (["init", "--quiet"], ["add", "."], ["commit", "--quiet", "-m", "snapshot"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    return path
