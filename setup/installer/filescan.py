"""Whether an up-to-date environment lost installed files: verify's fast RECORD check
(existence and size), run in the environment through its public entry point
(``Layout.installed_files_argv``). Setup reinstalls the distributions it names (``uv pip
sync --reinstall-package``).

A preview (--check, --dry-run, --plan-json) and a --no-verify run scan before deciding the
plan. A real run that verifies lets verify's packages check do the same check (it runs the
same code, beside the TensorFlow import) and reads the damaged distributions from verify's
report (:func:`from_report`); it scans itself only when that report does not say. On the
rare damaged environment setup then repairs and verifies again.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path, PurePath

from envs.contract.layout import Layout
from envs.contract.procs import bounded
from setup.installer.plan import Options

__all__ = ["applies", "deferred", "from_report", "scan"]


def applies(*, up_to_date: bool, same_machine: bool, backend: str) -> bool:
    """Only a recorded uv environment on this machine is scanned (conda and Colab's in-place
    installs have no such repair)."""
    return up_to_date and same_machine and backend == "uv-venv"


def deferred(options: Options) -> bool:
    """True when verify's run stands in for the scan before the plan is decided."""
    return options.verify and not (options.check or options.dry_run or options.plan_json)


def scan(env_python: PurePath, timeout: float = 120) -> tuple[str, ...]:
    """The damaged distributions' names; () when none, or when the scan cannot tell."""
    try:
        done = bounded(Layout.installed_files_argv(str(env_python)),
                       capture_output=True, text=True, timeout=timeout, check=False,
                       stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(done.stdout.split()) if done.returncode == 0 else ()


def from_report(report: Path) -> tuple[str, ...] | None:
    """The distributions verify's packages check found damaged, from its JSON report; None
    when the report cannot say (missing, unreadable, or the check did not run)."""
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
        check = next(c for c in data["checks"] if c["name"] == "packages")
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None
    if check.get("status") not in ("pass", "warn", "fail"):
        return None  # skipped or crashed: it checked nothing
    return tuple(sorted((check.get("details") or {}).get("damaged_files") or {}))
