"""Children with a deadline: a program that outlives it is ended with everything it started.

``subprocess.run(timeout=...)`` kills only the child it started; a shell wrapper's
grandchild (a kernel launcher, a ``dot`` script, a uv build backend) lives on, and can keep
the pipes open. Here each child gets its own process group (a session on POSIX), and a
deadline or an interrupt ends the whole group. One owner for setup and verify alike.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from typing import Any

__all__ = ["bounded", "end_group", "group_kwargs"]


def group_kwargs() -> dict[str, Any]:
    """Popen arguments that give the child its own process group (session on POSIX)."""
    if os.name == "nt":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined]
    return {"start_new_session": True}


def end_group(proc: subprocess.Popen[Any]) -> None:
    """End the child and everything it started (its process group), then reap it: SIGTERM,
    five seconds to go, then SIGKILL for whatever is left of the group."""
    if os.name == "nt":
        proc.kill()
    else:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # a member that ignored SIGTERM
    proc.wait()


def bounded(cmd: Sequence[object], *, timeout: float, **kwargs: Any,
            ) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run(cmd, timeout=..., ...)`` (same arguments) whose timeout ends the
    child's whole process group (subprocess.run kills only the child, and a grandchild
    holding the pipes keeps it waiting); raises subprocess.TimeoutExpired after that."""
    data = kwargs.pop("input", None)
    if data is not None:
        kwargs["stdin"] = subprocess.PIPE
    check = kwargs.pop("check", False)
    if kwargs.pop("capture_output", False):
        kwargs.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with subprocess.Popen([str(c) for c in cmd], **kwargs, **group_kwargs()) as proc:
        try:
            out, err = proc.communicate(data, timeout=timeout)
        except BaseException:  # the deadline, or a signal: the group goes
            end_group(proc)
            raise
    if check and proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, proc.args, out, err)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
