"""examples/mnist_dense.py offline, on verify's synthetic stand-in: the outputs say so, and
TensorFlow's C++ log stays off the screen unless --verbose."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "mnist_dense.py"
TF_NOISE = ("E0000", "I0000", "W0000", "absl::InitializeLog", "oneDNN", "cpu_feature_guard")

pytestmark = pytest.mark.slow


def test_stand_in_outputs_are_labelled_and_the_tf_log_is_hidden(cpu_env, tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env.update({"KERASUP_OFFLINE": "1", "HOME": str(tmp_path), "KERAS_HOME": str(tmp_path / "k")})
    proc = subprocess.run([str(cpu_env.python), str(EXAMPLE), "--epochs", "1", "--out", str(out)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for noise in TF_NOISE:
        assert noise not in proc.stderr, proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["is_mnist"] is False
    names = {Path(p).name for p in metrics["outputs"].values()}
    for stem in ("first_train_image", "first_test_image", "loss", "accuracy"):
        assert f"{stem}-STAND-IN.png" in names and (out / f"{stem}-STAND-IN.png").is_file()
        assert not (out / f"{stem}.png").exists()
    # The reason is said plainly, once, on stdout.
    assert proc.stdout.count("synthetic stand-in, NOT MNIST, because: download skipped "
                             "(KERASUP_OFFLINE is set)") == 1
    # The figures, and the last line a person reads, repeat that it is not MNIST.
    lines = proc.stdout.strip().splitlines()
    accuracy = next(line for line in lines if line.startswith("test accuracy: "))
    for line in (accuracy, lines[-1]):
        assert line.endswith("synthetic stand-in, NOT MNIST: these figures say nothing about "
                             "MNIST"), line
    assert lines[-1].startswith(f"wrote {len(metrics['outputs'])} files to {out}")
