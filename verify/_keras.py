"""Importing Keras for a check, and the tutorial's model. Keras is imported lazily."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from verify.plugin import Recorder

__all__ = ["import_failure_fix", "import_keras", "tutorial_model"]


def import_failure_fix(exc: BaseException) -> str:
    """What to do when ``import keras``/``import tensorflow`` fails with ``exc``."""
    if "backend" in str(exc).lower():
        return ("the keras_json check has the cause; repair keras.json (backup kept): "
                "python -m verify --only keras_json --fix")
    return ("python -m verify --only keras_json packages   (a bad keras.json or a broken "
            "install are the usual causes)")


def import_keras(check: Recorder) -> ModuleType:
    """``import keras``, or end the check with a failure that names the cause."""
    try:
        import keras
    except Exception as exc:  # ValueError for a bad backend, ImportError, ...
        text = str(exc).strip().splitlines()
        check.fail(f"import keras failed: {type(exc).__name__}: {text[-1] if text else ''}",
                   import_failure_fix(exc))
    return keras


def tutorial_model(keras: ModuleType) -> Any:
    """The tutorial's network: Dense 512 relu -> Dense 10 softmax on flattened 28x28 digits."""
    model = keras.Sequential([
        keras.Input(shape=(28 * 28,), name="digits"),
        keras.layers.Dense(512, activation="relu", name="hidden"),
        keras.layers.Dense(10, activation="softmax", name="classes"),
    ], name="mnist_tutorial")
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
