"""Run one of verify's modules in a child interpreter: this one, with its flags and folder.

verify's slow TensorFlow-free preparation (the package survey, the Jupyter kernelspecs, the
digits) runs in child processes while TensorFlow imports in the parent (verify.preload). In a
thread of the parent the same work would hold the GIL the import needs.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["run_module"]

# For a child whose result is wanted last (the package survey): it yields the CPU to the
# import, and still gets a share on a busy machine. A child whose result a check waits for
# while TensorFlow imports keeps the normal priority: starved, it would hold up the run.
LOW_PRIORITY = 10


def run_module(module: str, args: Sequence[str] = (), *, timeout: float,
               niceness: int = 0) -> subprocess.CompletedProcess[bytes] | None:
    """``python -m module args`` by this interpreter (same flags, so the same ``sys.path``),
    in this process's folder, stdout and stderr captured, ``niceness`` added to its priority
    (where the OS has one); None when it cannot be run or does not finish within ``timeout``
    seconds (the caller then does the work in-process)."""
    flags = subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]
    argv = [sys.executable, *flags, "-m", module, *args]
    try:
        with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=Path.cwd()) as child:
            if niceness:
                with contextlib.suppress(OSError, AttributeError):  # gone; or Windows
                    os.setpriority(os.PRIO_PROCESS, child.pid, os.nice(0) + niceness)
            try:
                out, err = child.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.communicate()
                return None
        return subprocess.CompletedProcess(argv, child.returncode, out, err)
    except (OSError, subprocess.SubprocessError):
        return None
