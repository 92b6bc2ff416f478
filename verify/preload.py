"""Import TensorFlow and Keras in a background thread while the checks that need neither run.

``import tensorflow, keras`` is most of verify's time and no check can avoid it. :func:`start`
begins it at once, so pytest's start-up, the python_platform, keras_json and jupyter_kernel
checks and the checks' child processes (see :func:`prefetch`) overlap it; :func:`wait` is
called where a check would import TensorFlow or Keras itself. It is not started when
``--fix`` may rewrite keras.json first: Keras reads keras.json as it is imported.

A failed background import is re-raised, once, by the first :func:`wait`, so that check
reports the exception a first ``import tensorflow`` in the check would have raised (a second
import of a half-loaded TensorFlow fails with other, misleading errors).

:func:`hold_stderr` keeps TensorFlow's import-time lines (absl's and oneDNN's, printed
whatever TF_CPP_MIN_LOG_LEVEL says) off the terminal, as pytest's capture did while a check
imported TensorFlow itself: the background import also runs between checks.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import re
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import TypeVar

from envs.contract.errors import ExitCode

__all__ = ["alive", "exit_if_alive", "exit_now", "fetched", "hold_stderr", "prefetch", "start",
           "wait"]

_lock = threading.Lock()
_thread: threading.Thread | None = None
_error: BaseException | None = None
_prefetched: dict[str, tuple[threading.Thread, dict[str, object]]] = {}
_real_stderr: int | None = None  # while hold_stderr holds descriptor 2: the real one
T = TypeVar("T")


def _import() -> None:
    """Import TensorFlow, then Keras, with Python's cyclic garbage collector off.

    The import makes ~300,000 long-lived objects and almost no cyclic garbage, yet the
    collector walks them all five times over (0.4 s of the 2.5 s import on 2 cores, holding
    the GIL). Afterwards they are frozen (``gc.freeze``): no later collection walks them."""
    global _error
    collecting = gc.isenabled()
    gc.disable()
    try:
        for name in ("tensorflow", "keras"):  # TensorFlow first, as Keras' backend
            importlib.import_module(name)
    except BaseException as exc:  # any failure is the checks' to report, in the main thread
        _error = exc
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


def start(on_interrupt: Callable[[], None] | None = None) -> None:
    """Begin the import in a daemon thread (once; not when TensorFlow is imported already).

    ``on_interrupt``: what Ctrl-C does while the import runs (it then ends the process with
    :func:`exit_now`), instead of raising KeyboardInterrupt wherever the main thread is. Raised
    inside importlib's own locking (a weakref callback), the interrupt is ignored and leaves
    the import lock held: both threads then wait for ever. Call from the main thread."""
    global _thread
    with _lock:
        if _thread is not None or "tensorflow" in sys.modules:
            return
        if on_interrupt is not None:
            _exit_on_interrupt(on_interrupt)
        _thread = threading.Thread(target=_import, name="kerasup-import-tensorflow",
                                   daemon=True)
        _thread.start()


def _exit_on_interrupt(on_interrupt: Callable[[], None]) -> None:
    previous = signal.getsignal(signal.SIGINT)

    def handle(signum: int, frame: FrameType | None) -> None:
        if alive():
            if _real_stderr is not None:  # from hold_stderr's (and pytest's) scratch files
                os.dup2(_real_stderr, 2)
            on_interrupt()
            exit_now(ExitCode.INTERRUPTED)
        if callable(previous):
            previous(signum, frame)
        else:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handle)


def wait() -> None:
    """Block until a started import ends; re-raise its failure to the first caller."""
    global _thread, _error
    with _lock:
        thread, _thread = _thread, None
    if thread is None:
        return
    thread.join()
    error, _error = _error, None
    if error is not None:
        raise error


def prefetch(key: str, load: Callable[[], object]) -> None:
    """Run ``load`` in a daemon thread now (a check's own slow, TensorFlow-free preparation,
    such as reading the digits); :func:`fetched` hands its result to the check."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = load()
        except BaseException as exc:  # the check reports it, in the main thread
            box["error"] = exc

    thread = threading.Thread(target=run, name=f"kerasup-prefetch-{key}", daemon=True)
    with _lock:
        _prefetched[key] = (thread, box)
    thread.start()


def fetched(key: str, load: Callable[[], T]) -> T:
    """What :func:`prefetch` loaded for ``key`` (its exception re-raised here), or
    ``load()`` now when nothing was prefetched."""
    with _lock:
        task = _prefetched.pop(key, None)
    if task is None:
        return load()
    thread, box = task
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def alive() -> bool:
    """True while a started import is still running."""
    with _lock:
        return _thread is not None and _thread.is_alive()


def exit_if_alive(code: int) -> None:
    """End the process now, with ``code``, when the import is still running.

    An interrupted run must not wait for it, and Python's shutdown can deadlock on the import
    lock that thread holds; what the run wrote is flushed first (its reports are already
    committed, or deliberately not written)."""
    if alive():
        exit_now(code)


def exit_now(code: int) -> None:
    """Flush stdout and stderr and end the process with ``code``, skipping Python's teardown.

    For the command line once its reports are committed (written atomically and closed):
    tearing TensorFlow down (its modules, thread pools and C++ destructors) takes about as
    long again as a third of its import, 0.9 s on 2 cores, and changes nothing on disk."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


@contextlib.contextmanager
def hold_stderr(harmless: Sequence[re.Pattern[str]], *, hold: bool = True) -> Iterator[None]:
    """Send file descriptor 2 to a scratch file while the block runs; afterwards write every
    line that matches none of the ``harmless`` patterns to the real stderr.

    pytest saves and restores the descriptor it finds, so its own capture nests inside.
    A scratch file that cannot be made (a full disk) leaves stderr as it is."""
    if not hold:
        yield
        return
    sys.stderr.flush()
    try:
        held = tempfile.TemporaryFile(prefix="kerasup-verify-stderr-")  # noqa: SIM115
        saved = os.dup(2)
    except OSError:
        yield
        return
    global _real_stderr
    with held:
        os.dup2(held.fileno(), 2)
        _real_stderr = saved
        try:
            yield
        finally:
            _real_stderr = None
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines(keepends=True)
                    if line.strip() and not any(p.search(line) for p in harmless)]
            sys.stderr.write("".join(kept))
            sys.stderr.flush()
