"""A relock records its index snapshot: uv resolves through the recording proxy, and what it
was served is kept in ``envs/index-snapshot/`` for ``--reproduce`` to replay.

The new snapshot is built beside the committed one and replaces it only when every variant
locked: a failed relock leaves the committed snapshot as it was.

``extend`` (``nox -s lock -- --extend``): the committed snapshot is replayed and the live index
is asked only for what it lacks (a package newly added to environment.yml), which is added to
it. The versions already locked then cannot drift, and a note in ``snapshot.json`` names what
was added and when.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from envs.contract.layout import Layout
from envs.contract.piplock import parse_requirements
from envs.lock.index_proxy import IndexProxy, serving
from envs.lock.index_snapshot import SNAPSHOT_DIR, SNAPSHOT_FILE, IndexSnapshot

__all__ = ["recording"]


def _start(root: Path, variants: Sequence[str], all_variants: Sequence[str],
           extend: bool) -> IndexSnapshot:
    """The snapshot to record into: a fresh one when every variant is relocked, else (or when
    extending) a copy of the committed one (its recorded pages and dates are kept)."""
    staging = root.with_name(root.name + ".recording")
    shutil.rmtree(staging, ignore_errors=True)  # ours: a failed relock's leftover
    if extend:
        IndexSnapshot.load(root)  # one-line error when there is none to extend
    if (extend or set(variants) != set(all_variants)) and (root / SNAPSHOT_FILE).is_file():
        shutil.copytree(root, staging)
        return IndexSnapshot.load(staging)
    staging.mkdir(parents=True)
    return IndexSnapshot(staging)


def _chosen(envs_dir: Path, variants: Sequence[str]) -> dict[str, set[str]]:
    chosen: dict[str, set[str]] = {}
    for variant in variants:
        lock = Layout.lock(envs_dir.parent, variant)
        if lock.is_file():
            for entry in parse_requirements(lock.read_text(encoding="utf-8"), str(lock)):
                chosen.setdefault(entry.name, set()).add(entry.version)
    return chosen


def _pages(snapshot: IndexSnapshot) -> set[str]:
    return {p.stem for p in snapshot.root.glob("simple/*.json")}


@contextlib.contextmanager
def recording(variants: Sequence[str], all_variants: Sequence[str], exclude_newer: str,
              envs_dir: Path, root: Path = SNAPSHOT_DIR,
              extend: bool = False) -> Iterator[dict[str, str]]:
    """Record the index while the block relocks `variants` (resolved as the index stood at
    `exclude_newer`, the latest of their dates); yields uv's network environment.
    `extend`: replay the committed snapshot, record only what it lacks."""
    snapshot = _start(root, variants, all_variants, extend)
    before, since = _pages(snapshot), snapshot.recorded_at
    snapshot.recorded_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    snapshot.exclude_newer = max(snapshot.exclude_newer, exclude_newer)
    proxy = IndexProxy(snapshot, recording=True, fill=extend)
    with tempfile.TemporaryDirectory(prefix="kerasup-record-cache-") as cache, \
            serving(proxy) as network:
        # A fresh uv cache: every answer the resolution uses passes the recorder.
        yield {**network, "UV_CACHE_DIR": cache}
    added = sorted(_pages(snapshot) - before)
    if extend and added:
        snapshot.notes.append(
            f"Extended on {snapshot.recorded_at} (nox -s lock -- --extend): "
            f"{', '.join(added)} recorded from the live index; every other answer was "
            f"replayed from the snapshot recorded {since or '(undated)'}.")
    snapshot.variants = sorted(set(snapshot.variants) | set(variants))
    snapshot.save()
    snapshot.prune(_chosen(envs_dir, snapshot.variants))
    snapshot.save()
    if (root / SNAPSHOT_FILE).is_file():
        shutil.rmtree(root)
    snapshot.root.rename(root)
