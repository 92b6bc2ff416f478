"""Whether an up-to-date environment lost installed files: verify's fast RECORD check
(``python -m verify.installed_files``, existence and size), run in the environment. Setup
reinstalls the distributions it names (``uv pip sync --reinstall-package``).

A preview (--check, --dry-run, --plan-json) and a --no-verify run scan before deciding the
plan. A real run that verifies scans alongside verify instead (:class:`FileScan` started just
before the actions): the scan is ~0.4 s of one core while verify is busy importing TensorFlow
on the other, and on the rare damaged environment setup repairs and verifies again.
"""

from __future__ import annotations

import subprocess
from pathlib import PurePath

from setup.installer.plan import Options

__all__ = ["FileScan", "applies", "deferred", "scan"]


def applies(*, up_to_date: bool, same_machine: bool, backend: str) -> bool:
    """Only a recorded uv environment on this machine is scanned (conda and Colab's in-place
    installs have no such repair)."""
    return up_to_date and same_machine and backend == "uv-venv"


def deferred(options: Options) -> bool:
    """True when the scan runs alongside verify rather than before the plan is decided."""
    return options.verify and not (options.check or options.dry_run or options.plan_json)


class FileScan:
    """The scan, started now in the environment's Python; :meth:`result` waits for it."""

    def __init__(self, env_python: PurePath) -> None:
        try:
            self._proc: subprocess.Popen[str] | None = subprocess.Popen(
                [str(env_python), "-m", "verify.installed_files"], stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
        except OSError:
            self._proc = None

    def result(self, timeout: float = 120) -> tuple[str, ...]:
        """The damaged distributions' names; () when none, or when the scan cannot tell."""
        if self._proc is None:
            return ()
        try:
            out, _ = self._proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.communicate()
            return ()
        return tuple(out.split()) if self._proc.returncode == 0 else ()


def scan(env_python: PurePath) -> tuple[str, ...]:
    """The scan, now."""
    return FileScan(env_python).result()
