"""The one reader of kerasup's pip lock, ``requirements.txt`` (as ``uv export`` writes it).

Standard library only, so setup (a bare system Python), verify (inside the environment) and
the lock step all read a lock the same way. Markers are returned as text: whoever evaluates
them (verify and the lock step with ``packaging``) does so itself.

The format: ``name==version ; marker \\`` followed by ``--hash=sha256:...`` continuation
lines, then ``# via parent`` (or ``# via`` and one ``#   parent`` per line); comment lines;
option lines (``--only-binary :all:``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from envs.contract.errors import LockError

__all__ = ["PinnedRequirement", "canonical_name", "parse_requirements", "without"]

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_PIN = re.compile(rf"^(?P<name>{_NAME})\s*(?:\[[^\]]*\])?\s*(?P<op>===?|[<>!~]=?)?\s*"
                  r"(?P<version>[^\s;,]*)\s*(?P<more>,[^;]*)?(?:;\s*(?P<marker>.+?))?\s*$")
_HASH = re.compile(r"\s--hash[=\s]\s*(?P<algo>\w+):(?P<digest>[0-9a-fA-F]+)")
_FIX = "regenerate it with `nox -s lock`, or pass a lock kerasup made"


def canonical_name(name: str) -> str:
    """PEP 503 normalised distribution name (``Foo_Bar.baz`` -> ``foo-bar-baz``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class PinnedRequirement:
    """One ``name==version`` entry of a pip lock (name canonical, marker as text)."""

    name: str
    version: str
    marker: str | None = None
    hashes: frozenset[str] = frozenset()  # "sha256:<hex>"
    via: frozenset[str] = frozenset()  # canonical names of what requires it
    line: int = field(default=0, compare=False)  # where its entry starts in the file (1-based)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Physical lines with ``\\`` continuations joined; (first line number, text)."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = lineno
        stripped = raw.rstrip()
        if stripped.endswith("\\") and not stripped.lstrip().startswith("#"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        out.append((start, " ".join(pending)))
        pending = []
    if pending:
        out.append((start, " ".join(pending)))
    return out


def _via(comment: str, last: dict[str, object] | None, open_via: bool) -> bool:
    """Record a ``# via`` comment on the last entry; True while a multi-line list is open."""
    body = comment.lstrip("#").strip()
    if last is None:
        return False
    if body.startswith("via"):
        rest = body[3:].strip()
        if rest:
            last["via"].add(canonical_name(rest.split()[0]))  # type: ignore[attr-defined]
        return not rest
    if open_via and comment.startswith("#   ") and body:
        last["via"].add(canonical_name(body.split()[0]))  # type: ignore[attr-defined]
        return True
    return False


def _entry(line: str, lineno: int, origin: str) -> dict[str, object]:
    hashes = {f"{m['algo']}:{m['digest'].lower()}" for m in _HASH.finditer(" " + line)}
    spec = _HASH.sub("", " " + line).strip()
    spec = spec.split(" #", 1)[0].strip()  # an inline comment
    match = _PIN.match(spec)
    if not match:
        raise LockError(f"{origin}: line {lineno}: {spec[:80]!r} is not a requirement",
                        fix=_FIX)
    if match["op"] not in ("==", "===") or match["more"] or not match["version"] \
            or "*" in match["version"]:
        raise LockError(f"{origin}: line {lineno}: {match['name']} is not pinned with == "
                        "(a lock pins every package)", fix=_FIX)
    return {"name": canonical_name(match["name"]), "version": match["version"],
            "marker": match["marker"] or None, "hashes": hashes, "via": set(), "line": lineno}


def parse_requirements(text: str, origin: str = "requirements.txt",
                       ) -> list[PinnedRequirement]:
    """The pinned entries of a pip lock's text, in file order (a name may appear once per
    marker fork). LockError naming ``origin`` and the line for anything else, or when it
    pins nothing."""
    raw: list[dict[str, object]] = []
    open_via = False
    for lineno, line in _logical_lines(text):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            open_via = _via(stripped, raw[-1] if raw else None, open_via)
            continue
        open_via = False
        if stripped.startswith("-"):
            continue  # an option line: --only-binary, --index-url, a lone --hash
        raw.append(_entry(stripped, lineno, origin))
    if not raw:
        raise LockError(f"{origin}: no pinned requirements found", fix=_FIX)
    return [PinnedRequirement(str(r["name"]), str(r["version"]),
                              r["marker"] if isinstance(r["marker"], str) else None,
                              frozenset(r["hashes"]),  # type: ignore[arg-type]
                              frozenset(r["via"]),  # type: ignore[arg-type]
                              int(r["line"]))  # type: ignore[call-overload]
            for r in raw]


def without(text: str, roots: Iterable[str], origin: str = "requirements.txt",
            ) -> tuple[str, list[str]]:
    """The lock's text without the entries of ``roots`` and of what only they need (the
    ``# via`` notes say who needs what), every other line kept as it was; and the names left
    out, sorted. (Colab installs the lock in place without the runtime's own kernel.)"""
    entries = parse_requirements(text, origin)
    lines = text.splitlines()
    dropped = {canonical_name(r) for r in roots}
    while True:
        more = {e.name for e in entries if e.name not in dropped and e.via and e.via <= dropped}
        if not more:
            break
        dropped |= more
    ends = [e.line - 1 for e in entries[1:]] + [len(lines)]
    kept = lines[:entries[0].line - 1]
    for entry, end in zip(entries, ends, strict=True):
        if entry.name not in dropped:
            kept += lines[entry.line - 1:end]
    left_out = sorted({e.name for e in entries if e.name in dropped})
    return "\n".join(kept) + "\n", left_out
