"""The exit codes every kerasup command documents, and the one error base they all raise.

An error is printed as one line, ``<prog>: error: <message> (fix: <fix>)``, never as a
traceback; its exit code says which kind of failure it was.
"""

from __future__ import annotations

import enum

__all__ = ["CannotProceed", "ExitCode", "KerasupError", "LockError", "UsageError",
           "signal_exit_code"]


class ExitCode(enum.IntEnum):
    """Exit statuses shared by setup, verify, the examples and the lock step."""

    OK = 0
    FAILED = 1  # verify ran and a check failed (or a lock check found stale files)
    USAGE = 2  # bad input: an option, a variable or a file the user named
    CANNOT_PROCEED = 3  # the machine is not in a state to go on: disk, network, a busy prefix
    HANGUP = 129  # 128 + SIGHUP
    INTERRUPTED = 130  # 128 + SIGINT (Ctrl-C)
    TERMINATED = 143  # 128 + SIGTERM


def signal_exit_code(signum: int) -> int:
    """The shell's convention for a process ended by signal ``signum``: 128 + signum."""
    return 128 + int(signum)


class KerasupError(Exception):
    """A failure the user can act on: ``message`` says what went wrong, ``fix`` what to do."""

    code: int = ExitCode.CANNOT_PROCEED

    def __init__(self, message: str, fix: str | None = None, *, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        if code is not None:
            self.code = code

    def one_line(self) -> str:
        """The error as the single line printed to stderr (newlines folded)."""
        text = self.message + (f" (fix: {self.fix})" if self.fix else "")
        return " ".join(text.split())

    def __str__(self) -> str:
        return self.one_line()


class UsageError(KerasupError):
    """Bad input: an unknown variant, an unsupported Python or platform, a bad path."""

    code = ExitCode.USAGE


class CannotProceed(KerasupError):
    """The input is fine but this machine cannot go on (disk, network, a locked prefix)."""

    code = ExitCode.CANNOT_PROCEED


class LockError(UsageError):
    """A lock, or the environment.yml it is made from, cannot be read or used.

    One class for the lock step (which writes locks) and verify and setup (which read them):
    the message names the file and the problem, the fix says how to get a good one.
    """
