"""Keep TensorFlow's C++ log off a person's screen (the examples' ``--verbose`` shows it).

verify itself needs only the level (pytest captures each check's output); a program that
prints to the terminal also needs what the import writes to fd 2 before TensorFlow's logging
is configured (absl's "All log messages before absl::InitializeLog()") sent nowhere.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile

__all__ = ["quiet_tensorflow"]


def quiet_tensorflow() -> None:
    """Set TF_CPP_MIN_LOG_LEVEL=3 (unless the user set it), then import TensorFlow with fd 2
    sent to a scratch file. An import that fails is left for the caller's own import to
    raise, once fd 2 is back."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with contextlib.suppress(OSError, ValueError), tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            with contextlib.suppress(ImportError):
                import tensorflow  # noqa: F401  (the import is the point)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
