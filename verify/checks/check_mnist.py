"""MNIST smoke model: the tutorial's network trained briefly, passing on held-out accuracy."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from envs.contract.fileio import file_sha256
from verify import preload, tutorial
from verify._keras import import_keras
from verify.cli import Options
from verify.plugin import Recorder

if TYPE_CHECKING:
    from verify.mnist_data import MnistData

SEED = 1234  # the smoke check's own seed (its thresholds were measured with it), not the example's
# Quick mode: sized to the 0.90 bar with margin (0.935-0.944 on the real t10k digits and
# 0.94-0.97 on the stand-in over 5 seeds).
QUICK_TRAIN, QUICK_EPOCHS = 8_000, 2
# Held-out accuracy to pass. The tutorial reaches 0.9752 after 5 epochs on 60,000 digits;
# anything smaller (quick mode, or a t10k-only --data split) is held to 0.90.
FULL_THRESHOLD, FULL_MIN_TRAIN = 0.97, 50_000
THRESHOLD = 0.90


def pass_bar(full: bool, is_mnist: bool, train_samples: int) -> tuple[float, str]:
    """The held-out accuracy to reach, and why that bar applies."""
    if full and is_mnist and train_samples >= FULL_MIN_TRAIN:
        return FULL_THRESHOLD, "--full on the full MNIST training set"
    if not full:
        return THRESHOLD, "quick mode"
    why = ("the data is not MNIST" if not is_mnist else
           f"--full with only {train_samples:,} training images; the tutorial's "
           f"{FULL_THRESHOLD:.2f} needs at least {FULL_MIN_TRAIN:,}")
    return THRESHOLD, why


def _cache_problem(cache: Path) -> str | None:
    from verify.mnist_data import KERAS_MNIST_SHA256

    if not cache.is_file():
        return None
    digest = file_sha256(cache)
    return None if digest == KERAS_MNIST_SHA256 else digest


def _load(options: Options) -> MnistData:
    from verify.mnist_child import load_mnist_in_child

    return load_mnist_in_child(options.data,
                               **({} if options.full else {"stand_in_train": QUICK_TRAIN}))


def prefetch(options: Options) -> None:
    """Called by verify.plugin once the checks are collected: a child process reads the
    digits (or downloads them, or draws the stand-in) while TensorFlow imports in this one."""
    preload.prefetch("mnist", lambda: _load(options))


def test_mnist(check: Recorder, options: Options) -> None:
    from verify.mnist_data import MnistDataError, keras_cache_path

    mode = "full" if options.full else "quick"
    if options.data is None:
        cache = keras_cache_path()
        bad = _cache_problem(cache)
        if bad:
            check.warning(f"the Keras MNIST cache {cache} is corrupted (sha256 {bad[:12]}..., "
                          "not the published file): skipped",
                          f"delete it and let Keras download it again: rm '{cache}'   (or "
                          "pass your own copy: --data DIR)")
    check.phase("loading MNIST")
    try:
        data = preload.fetched("mnist", lambda: _load(options))
    except MnistDataError as exc:
        check.fail(str(exc), "pass a directory of MNIST IDX files or an mnist.npz: --data PATH")
    check.detail("data", data.describe())
    check.detail("source", data.source)
    check.detail("is_mnist", data.is_mnist)
    if data.notes:
        check.detail("data_notes", data.notes)

    check.phase("importing Keras")
    keras = import_keras(check)
    import numpy as np

    keras.utils.set_random_seed(SEED)
    x_train, x_test = tutorial.flatten(data.x_train), tutorial.flatten(data.x_test)
    y_train = tutorial.one_hot(data.y_train, keras)
    epochs = tutorial.EPOCHS if options.full else QUICK_EPOCHS
    if not options.full:
        x_train, y_train = x_train[:QUICK_TRAIN], y_train[:QUICK_TRAIN]
    # XLA only for --full: on quick mode's few hundred steps its compile costs more than it saves
    model = tutorial.build_model(keras, jit_compile="auto" if options.full else False)
    if not options.full:
        # One batch per call into TensorFlow: its traced function costs ~0.2 s less to build
        # than the 32-batch loop's, more than quick mode's 126 calls cost (measured, 2 cores)
        model.steps_per_execution = 1
    check.phase(f"training {epochs} epochs on {len(x_train):,} images")
    t0 = time.perf_counter()
    if options.full:  # the tutorial's fast feeding: tf.data, one call into TF per epoch
        tutorial.fit(model, x_train, y_train, epochs=epochs, verbose=0)
    else:  # quick mode's margins (above) were measured with Keras' array feeding and its
        # shuffle; its two short epochs gain little from the pipeline
        tutorial.build_optimizer(model).fit(x_train, y_train, epochs=epochs, verbose=0,
                                            batch_size=tutorial.BATCH_SIZE, shuffle=True)
    train_s = time.perf_counter() - t0
    check.phase("evaluating on the held-out images")
    # One eager call gives both figures: no traced function to build (predict's and
    # evaluate's cost more than the 2 matrix products), and Keras' "accuracy" for one-hot
    # labels is exactly this argmax match.
    predicted = np.argmax(np.asarray(model(x_test, training=False)), axis=1)
    acc = float(np.mean(predicted == np.asarray(data.y_test)))
    first = int(predicted[0])
    rate = len(x_train) * epochs / train_s if train_s > 0 else 0.0
    threshold, bar = pass_bar(options.full, data.is_mnist, len(x_train))
    check.detail("mode", mode)
    check.detail("epochs", epochs)
    check.detail("train_samples", len(x_train))
    check.detail("test_samples", len(x_test))
    check.detail("test_accuracy", round(float(acc), 4))
    check.detail("threshold", threshold)
    check.detail("bar", bar)
    check.detail("train_seconds", round(train_s, 2))
    check.detail("samples_per_second", round(rate))
    check.detail("first_test_prediction", first)
    check.detail("first_test_label", int(data.y_test[0]))
    what = "MNIST" if data.is_mnist else "images of a synthetic stand-in, NOT MNIST"
    summary = (f"test accuracy {acc:.4f} (bar {threshold:.2f}, {bar}) on {len(x_test):,} "
               f"held-out {what}, {epochs} epochs on {len(x_train):,} in {train_s:.1f}s "
               f"({rate:,.0f} samples/s)")
    if data.stand_in_reason:  # say why, plainly, on the check's own line
        summary += f"\n{data.stand_in_reason}"
    if acc < threshold:
        check.problem(f"{summary}: below the {threshold:.2f} threshold",
                      "training runs but does not learn: check for a broken numpy/TensorFlow "
                      "install (python -m verify --only packages) and the data (--data)")
    check.info(summary)
