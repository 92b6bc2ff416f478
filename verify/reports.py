"""Where ``--json`` and ``--junit`` go: refused up-front when they cannot be written, and
written together, atomically, only once the run is complete.

- :func:`refuse_unwritable`: before any check runs, each target's folder must exist (or be
  creatable) and take a small real file. A directory, a read-only place or a full disk is
  refused there, in one line, as a usage error.
- :func:`commit`: both reports are first staged beside their targets (each staged file is
  complete and fsynced, through :func:`envs.contract.fileio.write_atomic`), then renamed
  over them. If staging fails (the disk filled up meanwhile), every staged file is removed
  and the earlier reports stay as they were: never a 0-byte or half-written report, never
  a new JSON beside an old JUnit file. An interrupted run commits nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from envs.contract.errors import CannotProceed, UsageError
from envs.contract.fileio import write_atomic

__all__ = ["PROBE_BYTES", "commit", "refuse_unwritable"]

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


def refuse_unwritable(targets: Mapping[str, Path | None]) -> None:
    """UsageError for the first ``{flag: path}`` that cannot take a report."""
    for flag, path in targets.items():
        if path is None:
            continue
        fix = f"name a file in a writable folder with space left: {flag} FILE"
        if path.is_dir():
            raise UsageError(f"{flag} {path}: is a directory", fix=fix)
        if path.is_symlink() and not path.exists():
            raise UsageError(f"{flag} {path}: is a dangling symbolic link", fix=fix)
        folder = path.absolute().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _probe(folder)
        except OSError as exc:
            raise UsageError(f"{flag} {path}: cannot write in {folder} "
                             f"({exc.strerror or exc})", fix=fix) from None


def _staging_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.staged-{os.getpid()}")


def commit(reports: Mapping[Path, bytes]) -> None:
    """Write every report, or none: CannotProceed (one line) when one cannot be written."""
    staged: dict[Path, Path] = {}
    try:
        for path, data in reports.items():
            staging = _staging_name(path)
            staged[path] = staging
            old = path.stat().st_mode & 0o777 if path.is_file() else None
            write_atomic(staging, data, mode=old)  # an existing report keeps its mode
    except OSError as exc:
        for staging in staged.values():
            staging.unlink(missing_ok=True)
        raise CannotProceed(
            f"could not write the reports ({exc.strerror or exc}"
            f"{f': {exc.filename}' if exc.filename else ''}); earlier reports were left as "
            "they were",
            fix="free some space or choose a writable place (--json FILE / --junit FILE), "
                "then run python -m verify again") from None
    for path, staging in staged.items():
        staging.replace(path)
