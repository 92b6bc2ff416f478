"""Importing Keras inside a check: end the check with the cause and fix when it fails.

(The tutorial's model itself is public: :mod:`verify.tutorial`.)
"""

from __future__ import annotations

from types import ModuleType

from verify import preload
from verify.keras_config import import_failure_fix
from verify.plugin import Recorder

__all__ = ["import_keras"]


def import_keras(check: Recorder) -> ModuleType:
    """``import keras``, or end the check with a failure that names the cause."""
    try:
        preload.wait()  # the background import (verify.preload), when one runs
        import keras
    except Exception as exc:  # ValueError for a bad backend, ImportError, ...
        text = str(exc).strip().splitlines()
        check.fail(f"import keras failed: {type(exc).__name__}: {text[-1] if text else ''}",
                   import_failure_fix(exc))
    return keras
