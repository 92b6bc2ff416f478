"""Where ``--json`` and ``--junit`` go: refused up-front when they cannot be written, and
written together, atomically, only once the run is complete.

The rule for what a target may be is :func:`envs.contract.fileio.output_kind`'s: a new or
regular file is written atomically; a character device (``/dev/null``, a terminal), a FIFO or
this process's own ``/dev/stdout`` is written to and never replaced; a directory, a block
device, a socket or a symbolic link is refused.

- :func:`refuse_unwritable`: before any check runs, each target must be allowed by that rule
  and, for a file, its folder must exist (or be creatable) and take a small real file. A
  directory, a link, a read-only place or a full disk is refused there, in one line, as a
  usage error.
- :func:`commit`: :func:`envs.contract.fileio.write_outputs`: both file reports are staged
  beside their targets (complete and fsynced), streams are written, then the staged files
  are renamed over the targets. If staging fails (the disk filled up meanwhile), every staged
  file is removed and the earlier reports stay as they were: never a 0-byte or half-written
  report, never a new JSON beside an old JUnit file. An interrupted run commits nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from envs.contract.errors import CannotProceed, UsageError
from envs.contract.fileio import UnsafeTarget, output_folder_problem, output_kind, write_outputs

__all__ = ["PROBE_BYTES", "commit", "refuse_out_folder", "refuse_unwritable"]

PROBE_BYTES = 4096  # one block: a full disk refuses it, as it would refuse the report


def _probe(folder: Path) -> None:
    """Create, fill, fsync and remove a small file in ``folder`` (OSError if it cannot)."""
    fd, name = tempfile.mkstemp(dir=folder, prefix=".kerasup-probe-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"\0" * PROBE_BYTES)
            fh.flush()
            os.fsync(fh.fileno())
    finally:
        Path(name).unlink(missing_ok=True)


def _refuse_one(flag: str, path: Path) -> None:
    fix = f"name a file in a writable folder with space left: {flag} FILE"
    try:
        kind = output_kind(path)
    except UnsafeTarget as exc:
        raise UsageError(f"{flag} {path}: {exc.strerror}", fix=f"{exc.fix}: {flag} FILE") \
            from None
    if kind != "file":
        if isinstance(kind, int) or os.access(path, os.W_OK):
            return
        raise UsageError(f"{flag} {path}: not writable by this account", fix=fix)
    folder = path.absolute().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _probe(folder)
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write in {folder} "
                         f"({exc.strerror or exc})", fix=fix) from None


def refuse_unwritable(targets: Mapping[str, Path | None]) -> None:
    """UsageError for the first ``{flag: path}`` that cannot take a report."""
    for flag, path in targets.items():
        if path is not None:
            _refuse_one(flag, path)


def refuse_out_folder(out: Path | None) -> None:
    """``--out DIR``: model_graph's drawings (Keras writes them, following links) go only to
    new or regular files there; a link, FIFO or device at one of those names is refused."""
    problem = output_folder_problem(out, (".png", ".svg"), flag="--out") if out else None
    if problem:
        raise UsageError(problem)


def commit(reports: Mapping[Path, bytes]) -> None:
    """Write every report, or none: CannotProceed (one line) when one cannot be written."""
    try:
        write_outputs(reports)
    except OSError as exc:
        raise CannotProceed(
            f"could not write the reports ({exc.strerror or exc}"
            f"{f': {exc.filename}' if exc.filename else ''}); earlier reports were left as "
            "they were",
            fix="free some space or choose a writable place (--json FILE / --junit FILE), "
                "then run python -m verify again") from None
