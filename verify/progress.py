"""What ``python -m verify`` shows while it works: each check's line the moment it finishes,
in check order, and, on a terminal, one live status line for the check in progress (its
phase, e.g. "importing TensorFlow", and the time it has taken so far).

pytest captures file descriptors 1 and 2 while a check runs, so everything here writes to a
duplicate of stdout taken before pytest starts. Off a terminal (CI, a pipe, a file) only
plain lines are written: no live line, no control codes. rich is imported only for the live
line, so a plain run never pays for it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from verify.result import CheckResult

__all__ = ["Progress", "live_wanted"]


def live_wanted(stream: TextIO) -> bool:
    """A live status line only on a real terminal that can move its cursor."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and os.environ.get("TERM", "") != "dumb"


def _private_copy(stream: TextIO) -> tuple[TextIO, bool]:
    """A stream on a duplicate of ``stream``'s descriptor (pytest's capture cannot swallow
    it), and whether it is ours to close; ``stream`` itself when it has no descriptor."""
    try:
        fd = os.dup(stream.fileno())
    except (AttributeError, ValueError, OSError):
        return stream, False
    encoding = getattr(stream, "encoding", None) or "utf-8"
    return os.fdopen(fd, "w", encoding=encoding, errors="replace", buffering=1,
                closefd=True), True


def stdout_to_devnull() -> None:
    """Point file descriptor 1 at the null device: the checks still run and their reports
    are still written, and no later print fails on the closed pipe. (pytest's capture puts
    back the descriptor it saved when a check ends, so the caller does this again after.)"""
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)


class Progress:
    """Prints check lines as results arrive; ``lines_for`` turns a result into its lines."""

    def __init__(self, stream: TextIO, names: Sequence[str],
                 lines_for: Callable[[CheckResult], list[str]], *, live: bool,
                 ascii_only: bool = False) -> None:
        self._stream, self._owned = _private_copy(stream)
        self._order = list(names)
        self._lines_for = lines_for
        self._ready: dict[str, CheckResult] = {}
        self._next = 0
        self._lock = threading.Lock()
        self._running: str | None = None
        self._phase = ""
        self._since = time.monotonic()
        self._live: Any = None
        self._console: Any = None
        self._spinner: Any = None
        self._reader_gone = False
        if live:
            self._start_live("line" if ascii_only else "dots")

    # -- the live line (terminal only) ---------------------------------------------------
    def _start_live(self, spinner: str) -> None:
        from rich.console import Console
        from rich.live import Live
        from rich.spinner import Spinner

        self._console = Console(file=self._stream, highlight=False, soft_wrap=True)
        self._spinner = Spinner(spinner, text="")
        self._live = Live(console=self._console, transient=True, refresh_per_second=4,
                          redirect_stdout=False, redirect_stderr=False,
                          get_renderable=self._renderable)
        self._live.start()

    def _renderable(self) -> Any:
        if self._running is None:
            return ""
        elapsed = time.monotonic() - self._since
        self._spinner.update(text=f"{self._running}: {self._phase or 'running'}... "
                                  f"{elapsed:.0f}s")
        return self._spinner

    # -- what the plugin calls -----------------------------------------------------------
    def start(self, name: str) -> None:
        """A check begins."""
        self._running, self._phase, self._since = name, "", time.monotonic()

    def phase(self, name: str, text: str) -> None:
        """The running check says what it is doing now."""
        if name == self._running:
            self._phase = text

    def result(self, result: CheckResult) -> None:
        """A check is finished: print its lines, and those of any checks before it that
        were waiting for their turn (order stays the checks' order)."""
        with self._lock:
            self._ready[result.name] = result
            while self._next < len(self._order) and self._order[self._next] in self._ready:
                self._print(self._lines_for(self._ready[self._order[self._next]]))
                self._next += 1
            if self._running == result.name:
                self._running = None

    def write(self, lines: list[str]) -> None:
        """Lines that are not a check's (the header)."""
        with self._lock:
            self._print(lines)

    def _print(self, lines: list[str]) -> None:
        if not lines or self._reader_gone:
            return
        try:
            if self._live is not None:
                from rich.text import Text

                for line in lines:
                    self._console.print(Text.from_ansi(line))
            else:
                self._stream.write("".join(line + "\n" for line in lines))
                self._stream.flush()
        except BrokenPipeError:  # `python -m verify | head`: the reader left
            self._reader_gone = True
            stdout_to_devnull()

    @property
    def reader_gone(self) -> bool:
        """True once a print found the reader gone (a closed pipe)."""
        return self._reader_gone

    def close(self, results: Sequence[CheckResult] = ()) -> None:
        """Print whatever is still due (checks that never reported), stop the live line."""
        for result in results:
            if result.name in self._order[self._next:] and result.name not in self._ready:
                self.result(result)
        self._running = None
        if self._live is not None:
            with contextlib.suppress(Exception):
                self._live.stop()
            self._live = None
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()
        if self._owned:
            with contextlib.suppress(OSError, ValueError):
                self._stream.close()
