"""Deadlines for the programs setup starts: no child, uv above all, may hang setup forever.

A sync is legitimately minutes of quiet download, so a child is not judged by a total time
but by progress: it is *stalled* when it printed nothing and did nothing (no CPU time and no
bytes read or written by it or anything it started; where the OS does not tell, no change
in the disk usage under the paths it works in) for ``KERASUP_IDLE_TIMEOUT`` seconds
(default 600). A stalled child's whole process group is ended and setup stops with one
line (:class:`Stalled`, exit 3) naming the program, the step, what to check and the log.
uv's own HTTP timeout covers a silent network; this covers a wedged process (a hung NFS
cache, a deadlock, a proxy that accepts and never answers a CONNECT).

Quick queries (``uv --version``, ``uv pip freeze``) get a plain total deadline instead
(:func:`envs.contract.procs.bounded`), with the same group kill.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath

from envs.contract.errors import CannotProceed
from envs.contract.flags import env_number
from envs.contract.procs import bounded, end_group, group_kwargs

__all__ = ["DEFAULT_IDLE", "Stalled", "Watchdog", "bounded", "end_group", "group_kwargs",
           "idle_seconds"]

DEFAULT_IDLE = 600.0
IDLE_VAR = "KERASUP_IDLE_TIMEOUT"

# What to look at when a program stops making progress, by the program's name.
_CHECKS = {
    "uv": "check that the index and proxy answer (setup --check), that uv's cache "
          "({cache}) is not on a hung mount (NFS, a full or read-only disk), and that "
          "`{program} --version` answers",
    "pip": "check that the index and proxy answer (setup --check) and that the tools "
           "folder is on a local, writable disk",
}
_GENERIC_CHECK = "check what `{program}` was doing (its output is above): a hung mount, a " \
                 "lock held by another process"


def idle_seconds(environ: Mapping[str, str]) -> float:
    """KERASUP_IDLE_TIMEOUT: seconds without progress before a child is stopped (0: default)."""
    return env_number(environ, IDLE_VAR, DEFAULT_IDLE) or DEFAULT_IDLE


def program_name(cmd: Sequence[object]) -> str:
    name = PurePath(str(cmd[0])).name
    return name[:-4] if name.lower().endswith(".exe") else name


class Stalled(CannotProceed):
    """A child made no progress within its deadline and was stopped (exit 3)."""

    def __init__(self, cmd: Sequence[object], *, seconds: float, step: str = "",
                 environ: Mapping[str, str] | None = None, log: Path | None = None,
                 idle: bool = True, program: str | None = None) -> None:
        program = program or program_name(cmd)
        doing = step or " ".join([program, *(str(c) for c in cmd[1:3])])
        how = (f"made no progress for {seconds:g} s (no output, no CPU or disk activity)"
               if idle else f"did not finish within {seconds:g} s")
        cache = (environ or {}).get("UV_CACHE_DIR") or "uv's cache"
        check = _CHECKS.get(program, _GENERIC_CHECK).format(cache=cache, program=cmd[0])
        if idle:
            check += f"; on a slow machine raise {IDLE_VAR} (seconds, now {seconds:g})"
        if log is not None:
            check += f"; its output so far: {log}"
        super().__init__(f"{program} {how} during {doing}; setup stopped it and everything "
                         "it started", fix=check)
        self.output = ""


def _proc_activity(pgid: int) -> int | None:
    """CPU ticks plus bytes read and written by every process of group ``pgid`` (Linux
    /proc); None where /proc does not say."""
    root = Path("/proc")
    if not (root / "self" / "stat").is_file():
        return None
    total = 0
    for entry in os.scandir(root):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            total += int(fields[11]) + int(fields[12])  # utime + stime
            io = Path(entry.path, "io").read_text()
        except (OSError, IndexError, ValueError):
            continue
        total += sum(int(line.split()[1]) for line in io.splitlines()
                     if line.startswith(("rchar:", "wchar:")))
    return total


def _disk_used(paths: Sequence[Path]) -> tuple[int, ...]:
    used = []
    for path in paths:
        with contextlib.suppress(OSError):
            used.append(shutil.disk_usage(path).used)
    return tuple(used)


class Watchdog:
    """Says when child ``pid`` (a group leader) has made no progress for ``idle`` seconds."""

    def __init__(self, pid: int, idle: float, paths: Sequence[Path] = ()) -> None:
        self.pid, self.idle, self.paths = pid, idle, tuple(paths)
        self.last = self.sampled = time.monotonic()
        self.seen = self._sample()

    def _sample(self) -> object:
        activity = _proc_activity(self.pid)
        return activity if activity is not None else _disk_used(self.paths)

    def poke(self) -> None:
        """The child printed something: that is progress."""
        self.last = time.monotonic()

    def stalled(self) -> bool:
        """No progress for ``idle`` seconds. Activity is sampled every ``idle / 10`` seconds
        (a scan of /proc costs milliseconds), so a stall is seen within 1.1 x ``idle``."""
        now = time.monotonic()
        if now - self.sampled >= self.idle / 10:
            self.sampled = now
            sample = self._sample()
            if sample != self.seen:
                self.seen, self.last = sample, now
        return now - self.last > self.idle

    @property
    def poll(self) -> float:
        """How often to look (seconds): often enough to stop within a few % of ``idle``."""
        return max(0.2, min(5.0, self.idle / 20))
