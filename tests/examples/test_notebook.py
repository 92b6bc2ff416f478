"""examples/mnist_dense.ipynb executes headless (nbclient) with the locked env as its kernel."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "examples" / "mnist_dense.ipynb"


def load_runner():
    """examples/run_notebook.py as a module (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location("run_notebook",
                                                  REPO / "examples" / "run_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebook_is_valid_and_calls_the_script_not_a_copy():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    assert "import mnist_dense as md" in code
    # The model is defined once, in mnist_dense.py: no layers are built in the notebook.
    assert "layers.Dense" not in code and "model.fit" not in code
    # Committed without outputs, so diffs stay readable.
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


def test_kernelspec_points_at_the_given_python(tmp_path):
    pytest.importorskip("nbclient")
    runner = load_runner()
    spec_dir = runner.write_kernelspec(tmp_path, Path("/env/bin/python"), {"KERASUP_EPOCHS": "1"})
    spec = json.loads((spec_dir / "kernel.json").read_text())
    assert spec["argv"][:3] == ["/env/bin/python", "-m", "ipykernel_launcher"]
    assert spec["env"] == {"KERASUP_EPOCHS": "1"}


@pytest.mark.slow
def test_notebook_executes_headless_on_real_digits(cpu_env, mnist_t10k, tmp_path):
    pytest.importorskip("nbclient")
    runner = load_runner()
    out = tmp_path / "out"
    executed = tmp_path / "executed.ipynb"
    nb = runner.execute_notebook(
        NOTEBOOK, python=cpu_env.python, timeout=600, executed=executed,
        env={"KERASUP_DATA": str(mnist_t10k), "KERASUP_EPOCHS": "1", "KERASUP_OUT": str(out)})

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "parameters: 407,050" in text
    assert "Predicted digit: 4; actual digit: 4" in text
    images = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.data]
    assert len(images) >= 4  # first train/test images, loss and accuracy curves (+ graph)
    assert executed.is_file()

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["params"] == 407_050
    assert metrics["is_mnist"] is True and metrics["n_test"] == 2000
    assert metrics["test_accuracy"] > 0.8  # one epoch on 6,667 digits
    for name in ("loss.png", "accuracy.png", "mnist_dense.keras", "first_test_image.png"):
        assert (out / name).stat().st_size > 0


@pytest.mark.slow
def test_runner_reports_a_failing_cell(cpu_env, tmp_path, capsys):
    pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    runner = load_runner()
    broken = tmp_path / "broken.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os, sys; print(sys.prefix); print(os.getpid())"),
        nbformat.v4.new_code_cell("raise ValueError('cell failed on purpose')"),
    ]), broken)
    code = runner.main([str(broken), "--python", str(cpu_env.python), "--out",
                        str(tmp_path / "out")])
    assert code == 1
    assert "ValueError: cell failed on purpose" in capsys.readouterr().err
    executed = nbformat.read(tmp_path / "out" / "broken.executed.ipynb", as_version=4)
    prefix, pid = executed.cells[0].outputs[0].text.split()
    # The first cell ran in the locked environment, not in the test runner's,
    assert prefix == str(cpu_env.prefix)
    # and the kernel was shut down afterwards, not left running.
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)
