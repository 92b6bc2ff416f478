"""Run child processes, stream their output, and never let one outlive setup.

Each child gets its own process group (session on POSIX), so a Ctrl-C typed in the terminal
reaches setup alone: setup then ends the child's whole group and exits with the shell's
status for the signal (130 SIGINT, 143 SIGTERM, 129 SIGHUP) after one line. Output is
printed with backslash escapes wherever the console's encoding cannot show a character
(``LC_ALL=C``, a cp1252 console), never with a traceback.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

__all__ = ["Interrupted", "Runner", "emit", "handle_signals", "make_streams_safe", "shown"]

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


def _group_kwargs() -> dict[str, Any]:
    if os.name == "nt":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined]
    return {"start_new_session": True}


def _end(proc: subprocess.Popen[str]) -> None:
    """End the child and everything it started (its process group), then reap it."""
    if os.name != "nt":
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 30.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=wait)
                return
    proc.kill()
    proc.wait()


@dataclass
class Runner:
    """Runs commands and says so; under ``dry_run`` it only says what it would do."""

    dry_run: bool = False
    say: Callable[[str], None] = field(default=lambda m: emit(f"kerasup: {m}"))
    echo: Callable[[str], None] = field(default=lambda line: emit(f"    {line}"))

    def note(self, action: str) -> bool:
        """Announce a change; True when it should really be made."""
        self.say(("would " if self.dry_run else "") + action)
        return not self.dry_run

    def run(self, cmd: Sequence[object], *, env: Mapping[str, str] | None = None,
            cwd: Path | None = None, echo: bool = True,
            keep: int = _TAIL_LINES) -> subprocess.CompletedProcess[str] | None:
        """Run ``cmd``, echoing its output (unless ``echo`` is false); None under dry_run.
        The result's stdout holds the last ``keep`` lines of the output (what error
        messages are matched against)."""
        if not self.note(f"run: {shown(cmd)}"):
            return None
        tail: list[str] = []
        proc = subprocess.Popen([str(c) for c in cmd], env=dict(env) if env is not None else None,
                                cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, errors="replace",
                                **_group_kwargs())
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                if echo:
                    self.echo(line.rstrip())
                tail.append(line.rstrip())
                del tail[:-keep]
            proc.wait()
        except BaseException:  # a signal or Ctrl-C: the child goes with us
            _end(proc)
            raise
        return subprocess.CompletedProcess([str(c) for c in cmd], proc.returncode,
                                           "\n".join(tail))

    def run_attached(self, cmd: Sequence[object], *,
                     env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``cmd`` on setup's own terminal (its progress bars need one); nothing is
        captured. Still in its own process group, ended with setup on a signal."""
        self.note(f"run: {shown(cmd)}")
        sys.stdout.flush()
        proc = subprocess.Popen([str(c) for c in cmd], env=dict(env) if env is not None else None,
                                stdin=subprocess.DEVNULL, **_group_kwargs())
        try:
            proc.wait()
        except BaseException:
            _end(proc)
            raise
        return subprocess.CompletedProcess([str(c) for c in cmd], proc.returncode, "")

    def capture(self, cmd: Sequence[object], *, env: Mapping[str, str] | None = None,
                timeout: float = 120) -> subprocess.CompletedProcess[str] | None:
        """Run a read-only query (even under dry_run) for its output; None if it cannot run."""
        try:
            return subprocess.run([str(c) for c in cmd], env=dict(env) if env else None,
                                  capture_output=True, text=True, errors="replace",
                                  stdin=subprocess.DEVNULL, timeout=timeout, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
