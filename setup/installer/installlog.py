"""The package install as a person sees it: uv's own progress on a terminal, one line per
large download off it, the full package list in ``Layout(prefix).install_log``, and one
summary line (packages, MB downloaded, time taken) on the screen.

On a terminal uv keeps the terminal (its progress bars need one), so the package list is
read back afterwards with ``uv pip freeze``. Off a terminal uv's output is captured: its
"Downloading NAME (SIZE)" lines are passed through, its ``+ name==version`` lines and
everything else go to the log.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from envs.contract.fileio import write_atomic
from setup.installer.deadline import Stalled, bounded
from setup.installer.netdiag import mask_urls
from setup.installer.runner import Runner, emit

__all__ = ["InstallSummary", "on_terminal", "parse_output", "run_install"]

_DOWNLOAD = re.compile(r"^\s*Downloading\s+(\S+)\s+\(([\d.]+)\s*([KMG]i?B)\)", re.IGNORECASE)
_ADDED = re.compile(r"^\s*\+\s+\S")
_UNITS = {"k": 1 / 1024, "m": 1.0, "g": 1024.0}


def on_terminal() -> bool:
    """uv gets the terminal only when both of setup's output streams are one."""
    try:
        return sys.stdout.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass(frozen=True)
class InstallSummary:
    """What one install did, for the summary line."""

    packages: int
    downloaded_mb: float | None  # None where uv drew progress bars (no sizes to add up)
    seconds: float
    log: Path

    def line(self) -> str:
        mb = (f", {self.downloaded_mb:,.0f} MB downloaded" if self.downloaded_mb
              else ", nothing downloaded (all from uv's cache)"
              if self.downloaded_mb == 0 else "")
        return (f"installed {self.packages} packages{mb} in {self.seconds:.1f}s; the package "
                f"list: {self.log}")


def parse_output(lines: Sequence[str]) -> tuple[list[str], list[str], float]:
    """uv's output lines -> (lines to show, packages added, MB downloaded)."""
    show: list[str] = []
    added: list[str] = []
    mb = 0.0
    for line in lines:
        if _ADDED.match(line):
            added.append(line.strip()[1:].strip())
            continue
        hit = _DOWNLOAD.match(line)
        if hit:
            mb += float(hit.group(2)) * _UNITS[hit.group(3)[0].lower()]
            show.append(line.strip())
    return show, added, mb


def _freeze(uv: str, python: str, env: Mapping[str, str]) -> list[str]:
    try:
        done = bounded([uv, "pip", "freeze", "--python", python], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=dict(env), timeout=120,
                       stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


def _write_log(log: Path, cmd: Sequence[object], body: Sequence[str]) -> None:
    head = [f"# {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}",
            "# " + " ".join(str(c) for c in cmd)]
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        text = mask_urls("\n".join([*head, *body]) + "\n")  # no credentials in a log
        write_atomic(log, text.encode("utf-8"))
    except OSError as exc:
        # The log is a convenience: a full or read-only disk must not hide why the install
        # itself failed (that error is reported next, as one line).
        emit(f"kerasup: note: could not write {log} ({exc.strerror or exc})")


def run_install(runner: Runner, cmd: Sequence[object], *, env: Mapping[str, str], log: Path,
                python: str, terminal: bool) -> tuple[subprocess.CompletedProcess[str] | None,
                                                      InstallSummary | None]:
    """Run the sync ``cmd`` (uv's), log it, and say one summary line; (result, summary)."""
    if runner.dry_run:
        return runner.run(cmd, env=env), None
    t0 = time.monotonic()
    step = f"the sync (`{Path(str(cmd[0])).name} {cmd[1]}`)"
    if terminal:
        try:
            done = runner.run_attached(cmd, env=env, step=step, log=log)
        except Stalled:
            _write_log(log, cmd, ["# stopped: no progress (uv drew its output on the terminal)"])
            raise
        added = _freeze(str(cmd[0]), python, env) if done.returncode == 0 else []
        _write_log(log, cmd, ["# uv drew its progress on the terminal; installed now:", *added])
        mb: float | None = None
    else:
        try:
            done = runner.run(cmd, env=env, echo=False, keep=10_000, step=step, log=log)
        except Stalled as stalled:
            _write_log(log, cmd, [*stalled.output.splitlines(), "# stopped: no progress"])
            raise
        assert done is not None
        lines = done.stdout.splitlines()
        show, added, mb = parse_output(lines)
        for line in show:
            emit(f"    {line}")
        _write_log(log, cmd, lines)
        done = subprocess.CompletedProcess(done.args, done.returncode, "\n".join(lines[-200:]))
    summary = InstallSummary(len(added), mb, time.monotonic() - t0, log)
    if done.returncode == 0:
        runner.say(summary.line())
    return done, summary
