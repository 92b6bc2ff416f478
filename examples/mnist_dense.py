"""The tutorial's MNIST program, complete and current (Keras 3).

A Sequential network of two Dense layers (784 -> 512 relu -> 10 softmax, 407,050
parameters) trained with rmsprop and categorical cross-entropy for 5 epochs, batch 128,
with the first 10,000 training images held out for validation; then evaluated on the test
set, the first test digit predicted, the model saved and its graph drawn.

Usage::

    python examples/mnist_dense.py                      # MNIST from the Keras cache / download
    python examples/mnist_dense.py --data DIR --out out/mnist  # offline: IDX files or mnist.npz

Data comes from ``verify.mnist_data.load_mnist`` (the same sources as ``python -m verify``):
``--data`` (a folder of IDX files or an ``mnist.npz``), the Keras cache, a download, and
last a clearly labelled synthetic stand-in. A folder holding only the 10,000-digit test set
is split 8,000 train / 2,000 test, and 1/6 of the 8,000 (the same share as the tutorial's
10,000 of 60,000) is held out for validation.

Everything lands in ``--out``: ``first_train_image.png``, ``first_test_image.png``,
``loss.png``, ``accuracy.png``, ``mnist_dense.keras``, ``model.png`` (when Graphviz's
``dot`` is installed) and ``metrics.json`` (test accuracy and the rest, for tests and
benchmarks); from the synthetic stand-in the images are ``*-STAND-IN.png``, so titled too.
TensorFlow's C++ log is hidden unless ``--verbose``. The functions below are also called
cell by cell from ``mnist_dense.ipynb``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Inside a kerasup environment `verify` is importable already; from a bare checkout, the
# toolkit root (this file's parent folder) provides it.
if importlib.util.find_spec("verify") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from verify import tutorial
from verify.graphviz import dot_advice, plot_model
from verify.mnist_data import MnistData, MnistDataError, load_mnist
from verify.tutorial import (
    BATCH_SIZE,
    EPOCHS,
    EXPECTED_LAYER_PARAMS,
    EXPECTED_PARAMS,
    SEED,
    TUTORIAL_TRAIN,
    TUTORIAL_VALIDATION,
    build_model,
    check_param_count,
    validation_count,
)

if TYPE_CHECKING:  # Keras, NumPy and matplotlib load when a function needs them, so
    import keras  # --help and argument errors answer before TensorFlow is imported.
    import numpy as np

__all__ = [
    "BATCH_SIZE",
    "EPOCHS",
    "EXPECTED_LAYER_PARAMS",
    "EXPECTED_PARAMS",
    "SEED",
    "Prepared",
    "Result",
    "build_model",
    "check_param_count",
    "collect_metrics",
    "evaluate",
    "load_data",
    "main",
    "plot_graph",
    "plot_history",
    "predict_first",
    "prepare",
    "run",
    "save_first_images",
    "save_model",
    "seed_everything",
    "train",
    "validation_count",
    "write_metrics",
]

METRICS_SCHEMA_VERSION = 1
# What a stand-in run's outputs carry: (file-name suffix, title suffix), and its lines' end.
_STAND_IN = ("-STAND-IN", " (synthetic stand-in, not MNIST)")
NOT_MNIST = " - synthetic stand-in, NOT MNIST: these figures say nothing about MNIST"


def _pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend (headless, CI, nbclient)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@dataclass(frozen=True)
class Prepared:
    """Flattened float32 images in [0, 1] and one-hot labels, split for fit/validate/test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_labels: np.ndarray  # the test labels as digits, for the prediction printout


@dataclass
class Result:
    """What a run produced: the figures metrics.json records and the files written."""

    metrics: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)


def seed_everything(seed: int = SEED) -> list[str]:
    """Seed Python, NumPy and the backend, and make TensorFlow's ops deterministic."""
    import keras

    notes: list[str] = []
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    else:
        notes.append(f"backend {keras.backend.backend()}: seeded, but op determinism is only "
                     "switched on for TensorFlow")
    return notes


def load_data(data: Path | None = None, *, download: bool = True) -> MnistData:
    """MNIST from --data, the Keras cache or a download (verify's loader); see the notes."""
    return load_mnist(data, download=download)


def save_first_images(data: MnistData, out: Path) -> dict[str, Path]:
    """Save the first training and the first test image as PNGs, titled with their labels."""
    plt = _pyplot()
    suffix, note = ("", "") if data.is_mnist else _STAND_IN
    saved: dict[str, Path] = {}
    for name, images, labels in (("train", data.x_train, data.y_train),
                                 ("test", data.x_test, data.y_test)):
        fig, ax = plt.subplots(figsize=(3, 3))
        ax.imshow(images[0], cmap="binary")
        ax.set_title(f"First {name} image: {int(labels[0])}{note}", wrap=True)
        ax.axis("off")
        path = out / f"first_{name}_image{suffix}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        saved[f"first_{name}_image"] = path
    return saved


def prepare(data: MnistData) -> Prepared:
    """Flatten to 784 floats in [0, 1], one-hot the labels, hold out the first 1/6 to validate."""
    import numpy as np

    x_train, x_test = tutorial.flatten(data.x_train), tutorial.flatten(data.x_test)
    y_train, y_test = tutorial.one_hot(data.y_train), tutorial.one_hot(data.y_test)
    n_val = validation_count(len(x_train))
    return Prepared(x_train=x_train[n_val:], y_train=y_train[n_val:],
                    x_val=x_train[:n_val], y_val=y_train[:n_val],
                    x_test=x_test, y_test=y_test, test_labels=np.asarray(data.y_test))


def train(model: keras.Model, prepared: Prepared, *, epochs: int = EPOCHS,
          batch_size: int = BATCH_SIZE, verbose: int | str = 2) -> keras.callbacks.History:
    """Fit on the training part, reporting loss and accuracy on the held-out part per epoch."""
    return tutorial.fit(model, prepared.x_train, prepared.y_train, epochs=epochs,
                        batch_size=batch_size, validation_data=(prepared.x_val, prepared.y_val),
                        verbose=verbose)


def plot_history(history: dict[str, list[float]], out: Path, *,
                 is_mnist: bool = True) -> dict[str, Path]:
    """Training vs validation loss and accuracy per epoch, one PNG each (stand-in: labelled)."""
    plt = _pyplot()
    suffix, note = ("", "") if is_mnist else _STAND_IN
    epochs = range(1, len(history["loss"]) + 1)
    saved: dict[str, Path] = {}
    for key, title in (("loss", "Loss"), ("accuracy", "Accuracy")):
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(epochs, history[key], "bo-", label=f"Training {title.lower()}")
        ax.plot(epochs, history[f"val_{key}"], "g^-", label=f"Validation {title.lower()}")
        ax.set_title(f"Training & validation {title.lower()}{note}")
        ax.set_xlabel("Epoch")
        ax.set_ylabel(title)
        ax.set_xticks(list(epochs))
        ax.legend()
        fig.tight_layout()
        path = out / f"{key}{suffix}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        saved[key] = path
    return saved


def evaluate(model: keras.Model, prepared: Prepared) -> tuple[float, float]:
    """Test loss and accuracy on the test set."""
    loss, accuracy = model.evaluate(prepared.x_test, prepared.y_test, verbose=0)
    return float(loss), float(accuracy)


def predict_first(model: keras.Model, prepared: Prepared) -> tuple[int, int, np.ndarray]:
    """The predicted digit for the first test image, its true label, and the probabilities."""
    import numpy as np

    probabilities = model.predict(prepared.x_test[:1], verbose=0)[0]
    return int(np.argmax(probabilities)), int(prepared.test_labels[0]), probabilities


def save_model(model: keras.Model, out: Path) -> Path:
    """Save the trained model in the native Keras format."""
    path = out / "mnist_dense.keras"
    model.save(path)
    return path


def plot_graph(model: keras.Model, out: Path) -> tuple[Path | None, str]:
    """Draw the model's graph with Graphviz (as Keras does; with curved edges, said so, where
    Graphviz 2.42/2.43 crashes on Keras' orthogonal ones); without `dot`, a one-line message."""
    import keras

    path = out / "model.png"
    advice = dot_advice()
    if advice is not None:  # not on PATH: where it is, or how to install it
        return None, f"model graph not drawn: {advice}"
    try:
        note = plot_model(keras, model, path, show_shapes=True, show_layer_activations=True)
    except (ImportError, OSError, AssertionError) as exc:  # pydot: AssertionError on a crash
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return None, f"model graph not drawn: {first}"
    if not path.is_file():  # plot_model prints rather than raises on some failures
        return None, "model graph not drawn: keras.utils.plot_model wrote no file"
    return path, f"model graph: {path}" + (f" ({note})" if note else "")


def collect_metrics(
    model: keras.Model, mnist: MnistData, prepared: Prepared, history: dict[str, list[float]], *,
    test_loss: float, test_accuracy: float, predicted: int, label: int, epochs: int,
    batch_size: int, seed: int, notes: list[str], train_seconds: float | None = None,
) -> dict[str, Any]:
    """The figures metrics.json records about one run."""
    import keras

    metrics: dict[str, Any] = {
        "source": mnist.source,
        "is_mnist": mnist.is_mnist,
        "notes": notes,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "seed": seed,
        "epochs": epochs,
        "batch_size": batch_size,
        "params": model.count_params(),
        "n_train": len(prepared.x_train),
        "n_validation": len(prepared.x_val),
        "n_test": len(prepared.x_test),
        "history": {k: [float(v) for v in values] for k, values in history.items()},
        "val_accuracy": float(history["val_accuracy"][-1]),
        "val_loss": float(history["val_loss"][-1]),
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
        "first_test_prediction": predicted,
        "first_test_label": label,
    }
    if train_seconds is not None:
        metrics["train_seconds"] = round(train_seconds, 3)
        metrics["train_samples_per_second"] = round(
            len(prepared.x_train) * epochs / train_seconds, 1)
    return metrics


def write_metrics(result: Result, out: Path) -> Path:
    """Write metrics.json: the run's figures and output files, for tests and benchmarks."""
    path = out / "metrics.json"
    payload = {"schema_version": METRICS_SCHEMA_VERSION, **result.metrics,
               "outputs": result.outputs}
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python examples/mnist_dense.py",
        description="Train the tutorial's Dense MNIST network and write its results to --out.")
    parser.add_argument("--data", type=Path, default=None,
                        help="a folder of MNIST IDX files or an mnist.npz (default: the Keras "
                             "cache, then a download)")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"default {EPOCHS}")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                        help=f"default {BATCH_SIZE}")
    parser.add_argument("--seed", type=int, default=SEED, help=f"default {SEED}")
    parser.add_argument("--out", type=Path, default=Path("out") / "mnist_dense",
                        help="folder for images, model and metrics.json (default: %(default)s)")
    parser.add_argument("--no-download", action="store_true",
                        help="never try to download MNIST (also KERASUP_OFFLINE=1)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show TensorFlow's own C++ log (hidden by default)")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be at least 1")
    return args


def run(data: Path | MnistData | None = None, *, out: Path, epochs: int = EPOCHS,
        batch_size: int = BATCH_SIZE, seed: int = SEED, download: bool = True) -> Result:
    """The whole program: load, look, build, train, plot, evaluate, predict, save.
    ``data``: where to load MNIST from (see :func:`load_data`), or the digits loaded already."""
    out.mkdir(parents=True, exist_ok=True)
    result = Result()
    notes = seed_everything(seed)

    mnist = data if isinstance(data, MnistData) else load_data(data, download=download)
    notes += mnist.notes
    print(mnist.describe())
    if mnist.stand_in_reason:
        print(mnist.stand_in_reason)
    for note in mnist.notes if mnist.is_mnist else []:  # the stand-in's are said above
        print(f"note: {note}")
    print(f"train images {mnist.x_train.shape}, labels {mnist.y_train.shape}: "
          f"{mnist.y_train[:10]}...")
    result.outputs.update({k: str(v) for k, v in save_first_images(mnist, out).items()})

    model = build_model()
    model.summary()
    check_param_count(model)

    prepared = prepare(mnist)
    n_val = len(prepared.x_val)
    print(f"holding out the first {n_val:,} of {n_val + len(prepared.x_train):,} training "
          f"images for validation ({TUTORIAL_VALIDATION:,} of {TUTORIAL_TRAIN:,} in the "
          "tutorial); training on the rest")
    started = time.perf_counter()
    history = train(model, prepared, epochs=epochs, batch_size=batch_size).history
    train_seconds = time.perf_counter() - started
    curves = plot_history(history, out, is_mnist=mnist.is_mnist)
    result.outputs.update({k: str(v) for k, v in curves.items()})

    test_loss, test_accuracy = evaluate(model, prepared)
    print(f"test accuracy: {test_accuracy:.4f} (test loss {test_loss:.4f}) on "
          f"{len(prepared.x_test):,} images{'' if mnist.is_mnist else NOT_MNIST}")
    predicted, label, probabilities = predict_first(model, prepared)
    print(f"first test digit: predicted {predicted}, actual {label} "
          f"(p = {probabilities[predicted]:.4f})")

    result.outputs["model"] = str(save_model(model, out))
    graph, message = plot_graph(model, out)
    print(message)
    if graph is not None:
        result.outputs["graph"] = str(graph)
    else:
        notes.append(message)

    result.metrics = collect_metrics(
        model, mnist, prepared, history, test_loss=test_loss, test_accuracy=test_accuracy,
        predicted=predicted, label=label, epochs=epochs, batch_size=batch_size, seed=seed,
        notes=notes, train_seconds=train_seconds)
    result.outputs["metrics"] = str(out / "metrics.json")
    write_metrics(result, out)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point: 0 on success, 2 for a bad --data path."""
    args = _parse_args(argv)  # before Keras: --help and usage errors answer at once
    from envs.contract.fileio import output_folder_problem  # no writing through a planted link
    refused = output_folder_problem(args.out, (".png", ".json", ".keras"), flag="--out")
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    try:  # the digits before TensorFlow: a bad --data answers at once
        mnist = load_data(args.data, download=not args.no_download)
    except MnistDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.verbose:
        from verify.tf_log import quiet_tensorflow

        quiet_tensorflow()
    result = run(mnist, out=args.out, epochs=args.epochs, batch_size=args.batch_size,
                 seed=args.seed)
    stand_in = "" if result.metrics.get("is_mnist", True) else NOT_MNIST
    print(f"wrote {len(result.outputs)} files to {args.out}{stand_in}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
