"""The tutorial's MNIST network, defined once: public API for verify, the examples, the
notebook and the benchmarks.

The network is a ``Sequential`` of two ``Dense`` layers on flattened 28x28 digits:
784 inputs -> 512 ``relu`` -> 10 ``softmax`` (401,920 + 5,130 = 407,050 parameters), compiled
with ``rmsprop``, categorical cross-entropy and accuracy, and trained for 5 epochs in batches
of 128 with the first 10,000 of the 60,000 training images held out for validation.

Usage::

    from verify import tutorial
    model = tutorial.build_model()          # compiled, ready to fit
    x = tutorial.flatten(images)            # (n, 28, 28) uint8 -> (n, 784) float32 in [0, 1]
    y = tutorial.one_hot(labels)            # (n,) digits -> (n, 10)
    model.fit(x, y, epochs=tutorial.EPOCHS, batch_size=tutorial.BATCH_SIZE)
    tutorial.fit(model, x, y)               # the same, fed faster (one call per epoch)

Keras and NumPy are imported when a function needs them, never at import time, so this
module (and its constants) load in any Python.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "BATCH_SIZE",
    "CLASSES",
    "EPOCHS",
    "EXPECTED_LAYER_PARAMS",
    "EXPECTED_PARAMS",
    "HIDDEN_UNITS",
    "INPUTS",
    "LAYERS",
    "LOSS",
    "METRICS",
    "OPTIMIZER",
    "SEED",
    "TUTORIAL_TRAIN",
    "TUTORIAL_VALIDATION",
    "build_model",
    "build_optimizer",
    "check_param_count",
    "compile_model",
    "fit",
    "flatten",
    "flops_per_sample",
    "one_hot",
    "steps_per_epoch",
    "train_dataset",
    "validation_count",
]

INPUTS = 28 * 28
HIDDEN_UNITS = 512
CLASSES = 10
LAYERS: tuple[int, ...] = (INPUTS, HIDDEN_UNITS, CLASSES)
OPTIMIZER = "rmsprop"
LOSS = "categorical_crossentropy"
METRICS: tuple[str, ...] = ("accuracy",)
EPOCHS = 5
BATCH_SIZE = 128
# Batches run per call into TensorFlow: the same maths and accuracy as one per call, without
# Python's per-step overhead (measured: 0.73x the epoch time on a 2-core CPU, alternated).
STEPS_PER_EXECUTION = 32
SEED = 1337
# 784*512 + 512 weights and biases, then 512*10 + 10: the tutorial's model.summary().
EXPECTED_LAYER_PARAMS: tuple[int, ...] = (401_920, 5_130)
EXPECTED_PARAMS = 407_050
# The tutorial holds out the first 10,000 of 60,000 training images: one sixth.
TUTORIAL_TRAIN, TUTORIAL_VALIDATION = 60_000, 10_000


def _keras(keras: ModuleType | None) -> ModuleType:
    if keras is not None:
        return keras
    import keras as imported

    return imported


def _metric_objects(keras: ModuleType) -> list[Any]:
    """:data:`METRICS` as Keras metric objects: "accuracy" for the tutorial's one-hot labels
    is Keras' CategoricalAccuracy, kept under the name "accuracy"."""
    made = {"accuracy": lambda: keras.metrics.CategoricalAccuracy(name="accuracy")}
    return [made[name]() if name in made else name for name in METRICS]


def compile_model(model: Any, *, jit_compile: bool | str = "auto") -> Any:
    """Compile ``model`` with the tutorial's optimizer, loss and metrics; returns it.

    The metrics are Keras objects, so their variables are made here, not inside the first
    traced training step (see :func:`build_optimizer` for why that matters).

    ``jit_compile``: XLA. "auto" is Keras' choice, except that XLA is also used on a CPU-only
    machine (where Keras leaves it off) whenever Keras supports it for the model (not under
    op determinism): measured 1.17x the steady samples/s on a 2-core CPU. It suits long
    training; False suits a few hundred steps, where XLA's compile costs more than it saves."""
    model.compile(optimizer=OPTIMIZER, loss=LOSS, metrics=_metric_objects(_keras(None)),
                  steps_per_execution=STEPS_PER_EXECUTION, jit_compile=jit_compile)
    if jit_compile == "auto" and not model.jit_compile:
        with warnings.catch_warnings():  # Keras' setter falls back to False, warning, where
            warnings.simplefilter("ignore")  # XLA is unsupported: that is "auto"'s answer
            model.jit_compile = True
    return model


def build_optimizer(model: Any) -> Any:
    """Make the compiled ``model``'s optimizer variables now (RMSprop's velocities); returns
    the model. Done by :func:`fit`; call it before a plain ``model.fit`` too.

    Keras' TensorFlow backend otherwise makes them inside the first traced training step,
    and a traced function that makes variables is traced twice: measured on 2 cores, the
    quick smoke model's whole fit took 0.85 s instead of 1.1 s, with the same accuracy.
    Not done at compile time: ``model.summary()`` would then count the optimizer's 407,052
    parameters in its total, unlike the tutorial's."""
    if model.built and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    return model


def build_model(keras: ModuleType | None = None, *, compile: bool = True,
                name: str = "mnist_dense", jit_compile: bool | str = "auto") -> Any:
    """The tutorial's network, compiled unless ``compile=False``.

    ``keras``: the imported ``keras`` module to build with (default: ``import keras``), so a
    caller that already imported it, or must report its import failure itself, passes it in.
    """
    k = _keras(keras)
    model = k.Sequential([
        k.Input(shape=(INPUTS,), name="digits"),
        k.layers.Dense(HIDDEN_UNITS, activation="relu", name="hidden"),
        k.layers.Dense(CLASSES, activation="softmax", name="classes"),
    ], name=name)
    return compile_model(model, jit_compile=jit_compile) if compile else model


def check_param_count(model: Any) -> int:
    """The model's parameter count; RuntimeError unless it is the tutorial's 407,050."""
    per_layer = tuple(layer.count_params() for layer in model.layers)
    total = int(model.count_params())
    if per_layer != EXPECTED_LAYER_PARAMS or total != EXPECTED_PARAMS:
        raise RuntimeError(f"model has {per_layer} = {total:,} parameters, expected "
                           f"{EXPECTED_LAYER_PARAMS} = {EXPECTED_PARAMS:,}")
    return total


def flatten(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) grey levels 0-255 -> (n, 784) float32 in [0, 1], as the tutorial does."""
    return images.reshape((len(images), INPUTS)).astype("float32") / 255


def one_hot(labels: np.ndarray, keras: ModuleType | None = None) -> np.ndarray:
    """(n,) digits -> (n, 10) one-hot rows (``keras.utils.to_categorical``)."""
    return _keras(keras).utils.to_categorical(labels, CLASSES)


def steps_per_epoch(n_samples: int, batch_size: int = BATCH_SIZE) -> int:
    """Batches in one pass over ``n_samples``, the last one partial: ceil(n / batch_size)."""
    return -(-n_samples // batch_size)


def train_dataset(x: np.ndarray, y: np.ndarray, *, batch_size: int = BATCH_SIZE,
                  shuffle: bool = True, repeat: bool = True) -> Any:
    """(x, y) as a ``tf.data`` pipeline of batches, reshuffled every pass like ``fit``'s.

    The arrays become tensors once; with ``repeat`` one iterator serves every epoch (pass
    ``steps_per_epoch(len(x), batch_size)`` to ``fit``), where Keras' array input builds a
    new index-shuffling pipeline and iterator per epoch."""
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        data = data.shuffle(len(x), reshuffle_each_iteration=True)
    data = data.batch(batch_size)
    return (data.repeat() if repeat else data).prefetch(tf.data.AUTOTUNE)


def fit(model: Any, x: np.ndarray, y: np.ndarray, *, epochs: int = EPOCHS,
        batch_size: int = BATCH_SIZE, shuffle: bool = True, **fit_kwargs: Any) -> Any:
    """``model.fit(x, y, epochs=..., batch_size=..., shuffle=...)`` fed through
    :func:`train_dataset`, a whole epoch per call into TensorFlow; returns the History.

    Before the model's first fit its ``steps_per_execution`` becomes one epoch's batches
    (measured side by side on a 2-core CPU, both with XLA: 1.3x the steady samples/s of
    Keras' array feeding at 32 steps per call). Each epoch is still exactly one shuffled
    pass over ``x``; ``fit_kwargs`` (e.g. ``validation_data``, ``verbose``, ``callbacks``)
    go to ``model.fit``."""
    steps = steps_per_epoch(len(x), batch_size)
    build_optimizer(model)
    if getattr(model, "train_function", None) is None:  # not traced yet: still free to set
        model.steps_per_execution = steps
    # A repeated pipeline keeps epochs aligned with passes only if each epoch's calls into
    # TensorFlow consume exactly its batches; otherwise a fresh iterator per epoch.
    aligned = steps % model.steps_per_execution == 0
    data = train_dataset(x, y, batch_size=batch_size, shuffle=shuffle, repeat=aligned)
    if aligned:
        fit_kwargs["steps_per_epoch"] = steps
    # The pipeline shuffles itself; fit's own default (shuffle=True) would only be ignored,
    # with a UserWarning that reads like an error in a notebook.
    return model.fit(data, epochs=epochs, shuffle=False, **fit_kwargs)


def validation_count(n_train: int) -> int:
    """How many of the first training images to hold out: 10,000 of 60,000, else 1/6."""
    return n_train * TUTORIAL_VALIDATION // TUTORIAL_TRAIN


def flops_per_sample(layers: Sequence[int] = LAYERS) -> int:
    """Training FLOPs per sample of a Dense stack: 2 per weight forward, 4 backward (= 6)."""
    return 6 * sum(a * b for a, b in itertools.pairwise(layers))
