"""Are a distribution's installed files still the ones its wheel installed?

Every installed distribution lists its files in ``RECORD`` with their size and sha256. A
deleted or truncated compiled module (a ``.so``/``.pyd`` removed by a clean-up tool, a disk
that filled up mid-install) leaves the metadata intact, so version checks pass and the
import fails later. :func:`damaged_files` compares what is on disk with ``RECORD``: existence
and size always (a ``stat`` per file: fast), the sha256 too when ``deep`` (reads every byte).
"""

from __future__ import annotations

import base64
import csv
import importlib.metadata
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from envs.contract.fileio import file_digest
from verify.distributions import Installed, installed

__all__ = ["Damage", "RecordEntry", "damaged_distributions", "damaged_files", "main",
           "record_entries"]


@dataclass(frozen=True)
class Damage:
    """One file of ``dist`` that is not as RECORD says: "missing", "size" or "hash"."""

    dist: str
    path: str
    problem: str

    def describe(self) -> str:
        return f"{self.path} ({self.problem})"


def _sha256(path: Path) -> str:
    """The file's sha256 as RECORD writes it: urlsafe base64, no padding."""
    return base64.urlsafe_b64encode(file_digest(path)).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class RecordEntry:
    """One ``RECORD`` row: a path relative to site-packages, its sha256 and size if listed."""

    path: str
    sha256: str | None
    size: int | None


def record_entries(dist: importlib.metadata.Distribution) -> list[RecordEntry]:
    """``RECORD`` as written, every row. Not ``dist.files``: since Python 3.12 that silently
    drops the files that no longer exist, which are exactly the ones this module looks for."""
    text = dist.read_text("RECORD") or ""
    entries = []
    for row in csv.reader(text.splitlines()):
        if not row or not row[0]:
            continue
        path, digest, size = (*row, "", "")[:3]
        mode, _, value = digest.partition("=")
        entries.append(RecordEntry(path, value if mode == "sha256" and value else None,
                                   int(size) if size.isdigit() else None))
    return entries


def _check(base: str, name: str, entry: RecordEntry, deep: bool) -> Damage | None:
    if entry.size is None and entry.sha256 is None:
        return None  # RECORD itself, or files written after install (.pyc)
    # os.stat on a joined string, not pathlib: TensorFlow alone has ~30,000 RECORD rows.
    path = os.path.join(base, entry.path)  # noqa: PTH118
    try:
        size = os.stat(path).st_size  # noqa: PTH116
    except FileNotFoundError:
        return Damage(name, entry.path, "missing")
    except OSError as exc:
        return Damage(name, entry.path, f"unreadable: {exc.strerror or exc}")
    if entry.size is not None and size != entry.size:
        return Damage(name, entry.path, f"size {size:,} B, RECORD says {entry.size:,} B")
    if deep and entry.sha256 is not None:
        try:
            if _sha256(Path(path)) != entry.sha256:
                return Damage(name, entry.path, "sha256 differs from RECORD")
        except OSError as exc:
            return Damage(name, entry.path, f"unreadable: {exc.strerror or exc}")
    return None


def damaged_files(names: Iterable[str], *, deep: bool = False,
                  found: Mapping[str, Installed] | None = None) -> list[Damage]:
    """Files of the installed distributions ``names`` (canonical) that are missing or changed.

    A name that is not installed is skipped (the lock comparison reports it as missing).
    ``found``: the installed distributions, when the caller has read them already.
    """
    found = found if found is not None else installed()
    out: list[Damage] = []
    for name in names:
        if name not in found:
            continue
        dist = found[name].dist
        base = str(dist.locate_file(""))
        for entry in record_entries(dist):
            damage = _check(base, name, entry, deep)
            if damage is not None:
                out.append(damage)
    return out


def damaged_distributions() -> list[str]:
    """Every installed distribution with a missing or resized file (existence and size)."""
    found = installed()
    return sorted({d.dist for d in damaged_files(sorted(found), found=found)})


def main() -> int:
    """Public entry point, ``python -m verify.installed_files`` (argv from
    :meth:`envs.contract.layout.Layout.installed_files_argv`): the damaged distributions, one
    name a line, exit 0. Setup runs it in an environment it is about to call up to date, and
    reinstalls those named."""
    print("\n".join(damaged_distributions()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
