"""The Jupyter kernelspecs that jupyter_client finds, listed in this process or in a child.

Importing jupyter_client and reading every ``kernel.json`` is TensorFlow-free work: the
jupyter_kernel check has it done by a child (verify.child) while TensorFlow imports.
``python -m verify.kernel_specs`` prints ``{"specs": {name: {"resource_dir", "spec"}}}`` as
JSON, or ``{"error": ...}`` with exit status 3 when they cannot be listed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from verify.child import run_module

__all__ = ["KernelSpecError", "all_specs", "all_specs_in_child"]

CANNOT_LIST = 3


class KernelSpecError(Exception):
    """The kernelspecs cannot be listed; the message is the exception's type and text."""


def all_specs() -> dict[str, dict[str, Any]]:
    """jupyter_client's ``KernelSpecManager().get_all_specs()``, in this process."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        return KernelSpecManager().get_all_specs()
    except Exception as exc:  # jupyter_client missing, or a broken kernelspec folder
        raise KernelSpecError(f"{type(exc).__name__}: {exc}") from None


def all_specs_in_child(timeout: float = 120) -> dict[str, dict[str, Any]]:
    """:func:`all_specs` listed by a child process; in this process when the child cannot
    say (it could not run, or its answer is not the JSON above)."""
    done = run_module("verify.kernel_specs", timeout=timeout)
    answer: object = None
    if done is not None and done.returncode in (0, CANNOT_LIST):
        try:
            answer = json.loads(done.stdout)
        except ValueError:
            answer = None
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        raise KernelSpecError(answer["error"])
    if isinstance(answer, dict) and isinstance(answer.get("specs"), dict):
        return answer["specs"]
    return all_specs()


def main() -> int:
    try:
        answer: dict[str, object] = {"specs": all_specs()}
    except KernelSpecError as exc:
        answer = {"error": str(exc)}
    print(json.dumps(answer, default=str))  # ASCII: readable under any locale
    return CANNOT_LIST if "error" in answer else 0


if __name__ == "__main__":
    sys.exit(main())
