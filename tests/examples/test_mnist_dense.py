"""examples/mnist_dense.py end to end on the real t10k digits, in the locked CPU environment."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "mnist_dense.py"
BAR = 0.935  # test accuracy on the last 2,000 t10k digits, with the example's fixed seed
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.slow


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (and proof that it is a PNG)."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_MAGIC, f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def run_5_epochs(cpu_env, mnist_t10k, tmp_path_factory):
    """One full run as the tutorial does it (5 epochs, batch 128), from a foreign directory."""
    out = tmp_path_factory.mktemp("mnist_dense")
    proc = cpu_env.run(EXAMPLE, "--data", mnist_t10k, "--out", out, cwd=out, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    return proc, out, metrics


def test_reaches_the_accuracy_bar_on_real_digits(run_5_epochs):
    _, _, metrics = run_5_epochs
    assert metrics["is_mnist"] is True
    assert metrics["source"].startswith("data:")
    assert metrics["test_accuracy"] >= BAR, metrics["test_accuracy"]
    assert metrics["test_loss"] < 0.3


def test_the_readme_quotes_what_the_example_gives(run_5_epochs):
    """examples/README.md's t10k figure is this run's (seeded, deterministic ops), and user
    docs name no path of this project's development machines (../shared)."""
    _, _, metrics = run_5_epochs
    readme = (REPO / "examples" / "README.md").read_text()
    row = next(line for line in readme.splitlines() if "test set only" in line)
    assert f"{metrics['test_accuracy']:.4f} (seed 1337, 5 epochs" in row, row
    for doc in ("README.md", "examples/README.md", "setup/README.md", "verify/README.md",
                "setup/installer/bundle/README.md"):
        assert "../shared" not in (REPO / doc).read_text(), doc


def test_splits_t10k_and_holds_out_one_sixth(run_5_epochs):
    proc, _, metrics = run_5_epochs
    # 8,000 train / 2,000 test; the first 1,333 (= 8,000 * 10,000 / 60,000) validate.
    assert (metrics["n_train"], metrics["n_validation"], metrics["n_test"]) == (6667, 1333, 2000)
    assert (metrics["epochs"], metrics["batch_size"]) == (5, 128)
    assert "holding out the first 1,333 of 8,000 training images" in proc.stdout


def test_model_has_the_tutorials_407050_parameters(run_5_epochs):
    proc, _, metrics = run_5_epochs
    assert metrics["params"] == 407_050
    for shown in ("401,920", "5,130", "Total params: 407,050"):
        assert shown in proc.stdout


def test_history_has_one_point_per_epoch_and_learns(run_5_epochs):
    _, _, metrics = run_5_epochs
    history = metrics["history"]
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 5 for values in history.values())
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] > history["val_accuracy"][0]


def test_prints_the_first_test_prediction_next_to_its_label(run_5_epochs):
    proc, _, metrics = run_5_epochs
    # The first of the held-out 2,000 t10k digits (index 8,000) is a 4.
    assert metrics["first_test_label"] == 4
    assert metrics["first_test_prediction"] == 4
    assert "first test digit: predicted 4, actual 4" in proc.stdout


def test_writes_images_curves_model_and_graph(run_5_epochs):
    _, out, metrics = run_5_epochs
    for name in ("first_train_image", "first_test_image"):
        width, height = png_size(out / f"{name}.png")
        assert width > 100 and height > 100
    for name in ("loss", "accuracy"):
        path = out / f"{name}.png"
        assert png_size(path) == (600, 400)
        assert path.stat().st_size > 10_000  # axes, two curves and a legend, not a blank
    if shutil.which("dot"):
        assert png_size(out / "model.png")[0] > 100
        assert metrics["outputs"]["graph"] == str(out / "model.png")
    assert Path(metrics["outputs"]["model"]) == out / "mnist_dense.keras"


# One Keras process for the two tests below that each need Keras imported (seconds of CPU
# each time): it loads the saved model back, then draws the nested model.
_KERAS_SESSION = """
import json, pathlib, sys
import keras, numpy as np
from verify.mnist_data import load_mnist
saved, data_dir, examples, out = sys.argv[1:5]
model = keras.models.load_model(saved)
data = load_mnist(data_dir)
x = data.x_test.reshape(-1, 784).astype("float32") / 255
y = keras.utils.to_categorical(data.y_test, 10)
loss, acc = model.evaluate(x, y, verbose=0)
print(json.dumps({"params": model.count_params(), "acc": acc,
                  "first": int(np.argmax(model.predict(x[:1], verbose=0)))}))
sys.path.insert(0, examples)
import mnist_dense as md
from verify.checks.check_model_graph import nested_model
from verify.graphviz import plot_model
out = pathlib.Path(out)
print(plot_model(keras, nested_model(keras), out / "nested.png", expand_nested=True))
print(md.plot_graph(nested_model(keras), out)[1])
"""


@pytest.fixture(scope="module")
def keras_session(cpu_env, mnist_t10k, run_5_epochs, tmp_path_factory):
    """(the saved model's figures, the nested drawing's two lines, the drawing folder)."""
    _, out, _ = run_5_epochs
    drawn = tmp_path_factory.mktemp("nested")
    done = cpu_env.run("-c", _KERAS_SESSION, out / "mnist_dense.keras", mnist_t10k,
                       REPO / "examples", drawn, cwd=out, env={"TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    loaded = next(json.loads(line) for line in lines if line.startswith('{"params"'))
    return loaded, lines[-2:], drawn


def test_saved_model_loads_back_and_predicts_the_same(keras_session, run_5_epochs):
    _, _, metrics = run_5_epochs
    loaded, _, _ = keras_session
    assert loaded["params"] == 407_050
    assert loaded["first"] == metrics["first_test_prediction"]
    assert loaded["acc"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)


def test_is_deterministic_and_explains_a_missing_dot(cpu_env, mnist_t10k, run_5_epochs, tmp_path):
    """A 1-epoch rerun with the same seed repeats epoch 1 exactly; without `dot` it says so."""
    _, _, metrics = run_5_epochs
    no_dot = tmp_path / "bin"
    no_dot.mkdir()  # an empty PATH: no Graphviz
    proc = cpu_env.run(EXAMPLE, "--data", mnist_t10k, "--out", tmp_path / "out", "--epochs", "1",
                       env={"PATH": str(no_dot)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if "model graph not drawn" in line]
    assert len(lines) == 1
    installed = shutil.which("dot")  # off the example's PATH, but maybe on this machine
    if installed:  # then it says where dot is and how to put it on PATH
        assert f"installed at {installed}" in lines[0] and "export PATH=" in lines[0]
    else:
        assert "apt-get install graphviz" in lines[0]
    assert not (tmp_path / "out" / "model.png").exists()
    rerun = json.loads((tmp_path / "out" / "metrics.json").read_text())
    for key, values in rerun["history"].items():
        assert values == [metrics["history"][key][0]], key
    assert any("model graph not drawn" in note for note in rerun["notes"])


def test_bad_data_path_is_a_one_line_error(cpu_env, tmp_path):
    """In the locked environment, with TensorFlow there: the digits are loaded before it is
    imported, so a bad --data answers at once (-X importtime proves it was not imported)."""
    proc = cpu_env.run("-X", "importtime", EXAMPLE, "--data", tmp_path / "nowhere", "--out",
                       tmp_path / "out")
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no such file or directory" in errors[0], proc.stderr[-2000:]
    assert not (tmp_path / "out" / "metrics.json").exists()
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert "numpy" in imported and not {"tensorflow", "keras"} & imported



def test_full_size_npz_holds_out_the_tutorials_10000(cpu_env, mnist_t10k, tmp_path):
    """The full-MNIST code path: an mnist.npz with 60,000 training images (here the real
    t10k digits repeated, as full MNIST cannot be downloaded in CI) splits 50,000 / 10,000."""
    code = f"""
import numpy as np
from verify.mnist_data import load_mnist
t10k = load_mnist({str(mnist_t10k)!r})
x = np.concatenate([t10k.x_train, t10k.x_test]); y = np.concatenate([t10k.y_train, t10k.y_test])
np.savez({str(tmp_path / "mnist.npz")!r}, x_train=np.tile(x, (6, 1, 1)), y_train=np.tile(y, 6),
         x_test=x, y_test=y)
"""
    assert cpu_env.run("-c", code).returncode == 0
    proc = cpu_env.run(EXAMPLE, "--data", tmp_path / "mnist.npz", "--out", tmp_path / "out",
                       "--epochs", "1", timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert (metrics["n_train"], metrics["n_validation"], metrics["n_test"]) == (50_000, 10_000,
                                                                                10_000)
    assert metrics["source"] == f"data:{tmp_path / 'mnist.npz'}" and metrics["notes"] == []
    assert "holding out the first 10,000 of 60,000 training images" in proc.stdout
    assert metrics["first_test_label"] == 7  # the real first MNIST test digit


@pytest.mark.parametrize(("args", "rc"), [(["--help"], 0), (["--epochs", "0"], 2),
                                          (["--bogus"], 2)])
def test_help_and_usage_errors_answer_before_tensorflow(tmp_path, args, rc):
    """Run by this test runner's Python, which has no TensorFlow or Keras at all: the answer
    comes before either is imported (and -X importtime proves neither was)."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-X", "importtime", EXAMPLE, *args],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == rc, proc.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert not {"tensorflow", "keras", "matplotlib"} & imported
    assert "usage: python examples/mnist_dense.py" in proc.stdout + proc.stderr


def test_a_nested_model_is_drawn_on_the_graphviz_found(keras_session) -> None:
    """verify.graphviz.plot_model (the example's plot_graph draws through it) draws what
    Keras' defaults crash on (Graphviz 2.42/2.43) by drawing again with curved edges, and
    says so; elsewhere it draws as Keras does. plot_graph draws the nested model too."""
    from tests.graphviz_probe import nested_ortho_crashes

    _, (note, message), tmp_path = keras_session
    png_size(tmp_path / "nested.png")
    if nested_ortho_crashes():
        assert "crashed with Keras' default orthogonal edges" in note and "maze.c" in note
        assert note.endswith('drawn with splines="spline"')
    else:
        assert note == "None"
    png_size(tmp_path / "model.png")
    assert message.startswith(f"model graph: {tmp_path / 'model.png'}")
