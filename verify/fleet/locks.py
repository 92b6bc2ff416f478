"""What a report's lock resolves to, whichever file format verify read it from.

A report names its lock by the sha256 of the file (``machine.lock_sha256``). One resolution is
committed in two formats (``requirements.txt`` and ``pylock.toml``), so two reports made
against the same packages can carry two different file digests. :class:`LockSets` maps each
digest of a known lock file to its resolved set (every ``name==version`` it pins): reports
are then compared by that set, and a digest nobody knows stands for itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from envs.contract.errors import LockError
from envs.contract.facts import VARIANTS
from envs.contract.layout import PIP_LOCK, PYLOCK, Layout
from envs.contract.piplock import parse_requirements
from envs.contract.pylock import parse_pylock

__all__ = ["LockSets", "resolved_set"]

# The checkout's locks: envs/<variant>/{requirements.txt,pylock.toml}, beside this package.
_ROOT = Path(__file__).resolve().parents[2]
_FORMATS = (PIP_LOCK, PYLOCK)

Resolved = frozenset[str]


def resolved_set(path: Path) -> Resolved:
    """Every ``name==version`` the lock at ``path`` pins (ValueError/OSError when unreadable)."""
    text = path.read_text(encoding="utf-8")
    try:
        if path.name.endswith(".toml"):
            pins = {f"{p.name}=={p.version}" for p in parse_pylock(text, str(path)).packages}
        else:
            pins = {f"{r.name}=={r.version}" for r in parse_requirements(text, str(path))}
    except LockError as exc:
        raise ValueError(str(exc)) from None
    if not pins:
        raise ValueError(f"{path}: pins no packages")
    return frozenset(pins)


def _candidates(lock: Path | None) -> Iterable[Path]:
    if lock is not None:
        yield lock
        yield from (lock.parent / name for name in _FORMATS if name != lock.name)
    for variant in VARIANTS:
        yield from (Layout.lock(_ROOT, variant, name) for name in _FORMATS)


class LockSets:
    """Lock file digest -> resolved set, for ``--lock`` (and its sibling format) and the
    checkout's own locks; ``reference`` is ``--lock``'s set when one was given."""

    def __init__(self, lock: Path | None = None) -> None:
        self._by_sha: dict[str, Resolved] = {}
        self.reference: Resolved | None = resolved_set(lock) if lock is not None else None
        for path in _candidates(lock):
            try:
                data = path.read_bytes()
                self._by_sha.setdefault(hashlib.sha256(data).hexdigest(), resolved_set(path))
            except (OSError, ValueError):
                continue

    def key(self, sha256: object) -> Resolved | str | None:
        """The resolved set a report's lock digest stands for (the digest itself if unknown)."""
        if not isinstance(sha256, str) or not sha256:
            return None
        return self._by_sha.get(sha256.lower(), sha256.lower())
