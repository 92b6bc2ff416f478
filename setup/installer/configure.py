"""What setup configures besides packages: the site hook that makes the toolkit importable,
and keras.json.

The site hook is ``kerasup.pth`` plus ``_kerasup_path.py`` (a copy of
:mod:`setup.installer.site_hook`): only ``verify`` and ``envs`` become importable, never the
checkout's other folders. keras.json goes through :func:`envs.contract.keras_json.update`
(backups, no writing through links); a write that fails is one line and exit 3.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping
from pathlib import Path

from envs.contract import keras_json
from envs.contract.errors import CannotProceed
from envs.contract.fileio import write_atomic

__all__ = ["HOOK_MODULE", "PTH_NAME", "hook_current", "keras_json_update", "pth_line",
           "write_site_hook"]

HOOK_MODULE = "_kerasup_path"
PTH_NAME = "kerasup.pth"
_HOOK_SOURCE = Path(__file__).with_name("site_hook.py")


def pth_line(root: Path) -> str:
    """The one line of kerasup.pth (the root as an ASCII-only literal: any locale reads it)."""
    return f"import {HOOK_MODULE}; {HOOK_MODULE}.install({str(root)!a})\n"


def hook_current(site: Path, root: Path) -> bool:
    """True when ``site`` already holds this hook for ``root``."""
    try:
        return ((site / PTH_NAME).read_text(encoding="utf-8") == pth_line(root)
                and (site / f"{HOOK_MODULE}.py").read_bytes() == _HOOK_SOURCE.read_bytes())
    except OSError:
        return False


def write_site_hook(site: Path, root: Path) -> Path:
    """Write the hook module, then the .pth that runs it; returns the .pth's path."""
    write_atomic(site / f"{HOOK_MODULE}.py", _HOOK_SOURCE.read_bytes())
    pth = site / PTH_NAME
    write_atomic(pth, pth_line(root))
    return pth


def _write_error(path: Path, exc: OSError) -> CannotProceed:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        fix = "free space on that disk and run setup again"
    else:
        fix = (f"make {path.parent} writable, or set KERAS_HOME to a writable folder, and run "
               "setup again (the environment itself is installed and recorded)")
    return CannotProceed(f"cannot write {path}: {reason}", fix=fix)


def keras_json_update(environ: Mapping[str, str], *, backend: str = "tensorflow",
                      dry_run: bool) -> keras_json.Update:
    """Make keras.json select ``backend`` (with ``dry_run``, only say what would change, by
    :func:`envs.contract.keras_json.plan`, which reaches no write path); CannotProceed (one
    line) when it cannot."""
    path = keras_json.location(environ)
    try:
        if dry_run:
            return keras_json.plan(path, backend)
        return keras_json.update(path, backend)
    except OSError as exc:
        raise _write_error(path, exc) from None
