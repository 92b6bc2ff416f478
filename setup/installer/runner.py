"""Run child processes, stream their output, and never let one outlive setup.

Each child gets its own process group (session on POSIX), so a Ctrl-C typed in the terminal
reaches setup alone: setup then ends the child's whole group and exits with the shell's
status for the signal (130 SIGINT, 143 SIGTERM, 129 SIGHUP) after one line. Output is
printed with backslash escapes wherever the console's encoding cannot show a character
(``LC_ALL=C``, a cp1252 console), never with a traceback.
"""

from __future__ import annotations

import contextlib
import queue
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from setup.installer.deadline import (
    DEFAULT_IDLE,
    Stalled,
    Watchdog,
    bounded,
    end_group,
    group_kwargs,
)

__all__ = ["Interrupted", "Runner", "Stalled", "emit", "handle_signals", "make_streams_safe",
           "shown"]

_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))
_TAIL_LINES = 200


class Interrupted(BaseException):
    """setup received a signal: ``signum`` says which (BaseException: nothing swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def make_streams_safe() -> None:
    """Escape what the console's encoding cannot show instead of failing on it."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure: Callable[..., Any] | None = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")


def emit(text: str, stream: TextIO | None = None) -> None:
    """Print one line, escaping what ``stream``'s encoding cannot take."""
    stream = stream or sys.stdout
    try:
        stream.write(text + "\n")
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding) + "\n")
    stream.flush()


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """Turn SIGINT, SIGTERM and SIGHUP into :class:`Interrupted` while setup works."""
    saved = {}
    for signum in _SIGNALS:
        with contextlib.suppress(ValueError, OSError):  # not the main thread: leave them be
            saved[signum] = signal.signal(signum, _raise_interrupted)
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def shown(cmd: Sequence[object]) -> str:
    """A command as one line a user can paste into a POSIX shell."""
    return " ".join(shlex.quote(str(c)) for c in cmd)


def _pump(stream: Any, lines: queue.Queue[str | None]) -> None:
    """Hand the child's output over line by line (a thread: a pipe read cannot time out)."""
    try:
        for line in stream:
            lines.put(line)
    finally:
        lines.put(None)


@dataclass
class Runner:
    """Runs commands and says so; under ``dry_run`` it only says what it would do.

    Every child gets the idle deadline ``idle`` (seconds without output or activity, see
    :mod:`setup.installer.deadline`); ``watch`` are the paths whose disk usage counts as
    activity where the OS cannot say per process; ``environ`` names uv's cache in messages.
    """

    dry_run: bool = False
    say: Callable[[str], None] = field(default=lambda m: emit(f"kerasup: {m}"))
    echo: Callable[[str], None] = field(default=lambda line: emit(f"    {line}"))
    idle: float = DEFAULT_IDLE
    watch: tuple[Path, ...] = ()
    environ: Mapping[str, str] = field(default_factory=dict)

    def note(self, action: str) -> bool:
        """Announce a change; True when it should really be made."""
        self.say(("would " if self.dry_run else "") + action)
        return not self.dry_run

    def _stalled(self, cmd: Sequence[object], step: str, log: Path | None) -> Stalled:
        program = "uv" if log is not None else None  # the sync, whatever KERASUP_UV is named
        return Stalled(cmd, seconds=self.idle, step=step, environ=self.environ, log=log,
                       program=program)

    def run(self, cmd: Sequence[object], *, env: Mapping[str, str] | None = None,
            cwd: Path | None = None, echo: bool = True, keep: int = _TAIL_LINES,
            step: str = "", log: Path | None = None) -> subprocess.CompletedProcess[str] | None:
        """Run ``cmd``, echoing its output (unless ``echo`` is false); None under dry_run.
        The result's stdout holds the last ``keep`` lines of the output (what error
        messages are matched against). A child that stalls is ended: :class:`Stalled`,
        whose ``output`` holds those lines, names ``step`` and ``log``."""
        if not self.note(f"run: {shown(cmd)}"):
            return None
        tail: list[str] = []
        proc = subprocess.Popen([str(c) for c in cmd], env=dict(env) if env is not None else None,
                                cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, errors="replace",
                                **group_kwargs())
        lines: queue.Queue[str | None] = queue.Queue()
        try:  # from here on, a signal ends the child too
            threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
            watchdog = Watchdog(proc.pid, self.idle, self.watch)
            while True:
                try:
                    line = lines.get(timeout=watchdog.poll)
                except queue.Empty:
                    if watchdog.stalled():
                        end_group(proc)
                        stalled = self._stalled(cmd, step, log)
                        stalled.output = "\n".join(tail)
                        raise stalled from None
                    continue
                if line is None:
                    break
                watchdog.poke()
                if echo:
                    self.echo(line.rstrip())
                tail.append(line.rstrip())
                del tail[:-keep]
            proc.wait()
        except BaseException:  # a signal or Ctrl-C: the child goes with us
            end_group(proc)
            raise
        return subprocess.CompletedProcess([str(c) for c in cmd], proc.returncode,
                                           "\n".join(tail))

    def run_attached(self, cmd: Sequence[object], *, env: Mapping[str, str] | None = None,
                     step: str = "", log: Path | None = None,
                     ) -> subprocess.CompletedProcess[str]:
        """Run ``cmd`` on setup's own terminal (its progress bars need one); nothing is
        captured. Still in its own process group, ended with setup on a signal or when it
        stalls (judged by its activity alone)."""
        self.note(f"run: {shown(cmd)}")
        sys.stdout.flush()
        proc = subprocess.Popen([str(c) for c in cmd], env=dict(env) if env is not None else None,
                                stdin=subprocess.DEVNULL, **group_kwargs())
        try:
            watchdog = Watchdog(proc.pid, self.idle, self.watch)
            while True:
                try:
                    proc.wait(timeout=watchdog.poll)
                    break
                except subprocess.TimeoutExpired:
                    if watchdog.stalled():
                        end_group(proc)
                        raise self._stalled(cmd, step, log) from None
        except BaseException:
            end_group(proc)
            raise
        return subprocess.CompletedProcess([str(c) for c in cmd], proc.returncode, "")

    def capture(self, cmd: Sequence[object], *, env: Mapping[str, str] | None = None,
                timeout: float = 120, step: str = "") -> subprocess.CompletedProcess[str] | None:
        """Run a read-only query (even under dry_run) for its output; None if it cannot
        run. One that outlives ``timeout`` is ended with its group: :class:`Stalled`."""
        try:
            return bounded(cmd, env=dict(env) if env else None, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, errors="replace",
                           stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Stalled(cmd, seconds=timeout, step=step, environ=self.environ,
                          idle=False) from None
        except (OSError, subprocess.SubprocessError):
            return None
