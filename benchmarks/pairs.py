"""Timing children fairly: one child's wall time and peak memory, and two commands run in
alternated pairs (A B A B ...) so that drift on a shared machine hits both alike.

Peak memory is the child's ``ru_maxrss`` from ``os.wait4`` (KiB on Linux): the largest
resident set of the child or of any descendant it waited for. On Linux it also counts the
address space the child was forked with (exec keeps the old one's peak), so measure from a
small parent: the bench runner is one; a process holding TensorFlow is not. Standard library
only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Command", "PairResult", "Run", "run_child", "run_pairs", "spread"]


@dataclass(frozen=True)
class Command:
    """A child to time: argv, working directory and extra environment."""

    name: str
    argv: Sequence[str | os.PathLike[str]]
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 900


@dataclass(frozen=True)
class Run:
    """One timed child: wall seconds, peak RSS in KiB, exit status, and its output's tail."""

    wall_s: float
    maxrss_kib: int
    returncode: int
    tail: str = ""


def _tail(data: bytes, lines: int = 3) -> str:
    text = data.decode("utf-8", errors="replace").strip().splitlines()
    return " | ".join(text[-lines:])


def run_child(cmd: Command) -> Run:
    """Run ``cmd`` once (its own process group, output to a scratch file); a child past its
    timeout is killed and reported with returncode -9."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **cmd.env}
    with tempfile.TemporaryFile("w+b") as log, tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        proc = subprocess.Popen([str(a) for a in cmd.argv], cwd=cmd.cwd or tmp, env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
        timer = threading.Timer(cmd.timeout, _kill_group, (proc.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
        log.seek(0)
        tail = _tail(log.read()) if proc.returncode != 0 else ""
    return Run(wall, int(usage.ru_maxrss), proc.returncode, tail)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


def spread(values: Sequence[float]) -> dict[str, float]:
    """min, median and max of ``values``."""
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


@dataclass(frozen=True)
class PairResult:
    """Counted runs of A and B (warm-ups dropped), pair by pair."""

    a: list[Run]
    b: list[Run]
    warmup: int

    @property
    def failed(self) -> str:
        """'' when every run exited 0, else the first failure, named."""
        for run in [*self.a, *self.b]:
            if run.returncode != 0:
                return f"exit {run.returncode}: {run.tail}"
        return ""

    def ratio(self, what: str) -> float:
        """The median of the per-pair ratios A/B of ``what`` ('wall_s' or 'maxrss_kib')."""
        return statistics.median(getattr(x, what) / getattr(y, what)
                                 for x, y in zip(self.a, self.b, strict=True))

    def summary(self, a_name: str, b_name: str) -> dict[str, Any]:
        """The JSON form: each side's spread of wall and peak memory, the ratios, the runs."""
        out: dict[str, Any] = {"pairs": len(self.a), "warmup_pairs": self.warmup}
        for name, runs in ((a_name, self.a), (b_name, self.b)):
            out[name] = {"wall_s": _rounded(spread([r.wall_s for r in runs]), 3),
                         "peak_rss_mib": _rounded(spread([r.maxrss_kib / 1024 for r in runs]),
                                                  1),
                         "runs_wall_s": [round(r.wall_s, 3) for r in runs],
                         "runs_peak_rss_kib": [r.maxrss_kib for r in runs],
                         "exit_codes": sorted({r.returncode for r in runs})}
        out["wall_ratio_median"] = round(self.ratio("wall_s"), 3)
        out["rss_ratio_median"] = round(self.ratio("maxrss_kib"), 3)
        return out


def _rounded(values: dict[str, float], digits: int) -> dict[str, float]:
    return {k: round(v, digits) for k, v in values.items()}


def run_pairs(a: Command, b: Command, *, pairs: int, warmup: int = 1) -> PairResult:
    """Run A then B, ``warmup`` + ``pairs`` times; the warm-up pairs are not counted.
    Stops early (fewer pairs) once a run fails: the failure is the result."""
    if pairs < 1 or warmup < 0:
        raise ValueError("pairs must be at least 1 and warmup at least 0")
    counted_a: list[Run] = []
    counted_b: list[Run] = []
    for index in range(warmup + pairs):
        first, second = run_child(a), run_child(b)
        if index >= warmup or first.returncode or second.returncode:
            counted_a.append(first)
            counted_b.append(second)
        if first.returncode or second.returncode:
            break
    return PairResult(counted_a, counted_b, warmup)
