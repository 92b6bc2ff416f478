"""The ``KERASUP_*`` environment variables, each parsed one way for every part of the toolkit.

A malformed value is a :class:`~envs.contract.errors.UsageError` naming the variable and the
values it takes, never a silent default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from envs.contract.errors import UsageError

__all__ = ["FLAGS", "env_flag", "env_number", "offline"]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")

# Every variable kerasup reads, with what it does (README and --help print this table).
FLAGS: dict[str, str] = {
    "KERASUP_OFFLINE": "1/true: never download; install only from caches or a bundle",
    "KERASUP_MIN_FREE_GB": "disk (GB) setup asks for before installing (default per variant)",
    "KERASUP_BOOTSTRAP_TOOLS": "where setup keeps its pinned uv (default: the user cache dir)",
    "KERASUP_PYTHON": "the interpreter setup makes the environment from",
    "KERASUP_UV": "a uv executable to use instead of the pinned one (tests, mirrors)",
    "KERASUP_INDEX_URL": "the package index, as --index-url (credentials stay out of argv)",
    "KERASUP_NET_TIMEOUT": "seconds a download waits for an answer (default 20, at most 60)",
    "KERASUP_IDLE_TIMEOUT": "seconds a program setup runs (uv, pip, verify) may go without "
                            "output or activity before it is stopped (default 600)",
    "KERASUP_KERNEL_TIMEOUT": "seconds verify waits for a Jupyter kernel's Python to start "
                              "(default 60)",
}


def env_flag(environ: Mapping[str, str], name: str) -> bool:
    """A yes/no variable: 1/true/yes/on or 0/false/no/off/empty (any case); else UsageError."""
    raw = environ.get(name, "")
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise UsageError(f"{name}={raw!r} is not a yes/no value",
                     fix=f"set {name}=1 (or true) to turn it on, 0 (or unset it) to turn it off")


def offline(environ: Mapping[str, str]) -> bool:
    """KERASUP_OFFLINE, for setup and the lock step alike."""
    return env_flag(environ, "KERASUP_OFFLINE")


def env_number(environ: Mapping[str, str], name: str, default: float) -> float:
    """A non-negative finite number, or ``default`` when unset or empty; else UsageError."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"{name}={raw!r} is not a number of 0 or more",
                         fix=f"set {name} to a number such as {default:g}, or unset it")
    return value
