"""The distributions installed on ``sys.path``, each read once.

``importlib.metadata`` parses a distribution's METADATA again for every ``.version`` and
``.requires``; the packages check needs names, versions, requirements and RECORD of every
distribution, so it reads them here in one pass (about 0.06 s for TensorFlow's 126, against
0.8 s when every helper walked them for itself).
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass

from envs.contract.piplock import canonical_name

__all__ = ["Installed", "canonical", "installed"]


# PEP 503's normalised name, from the contract (its one definition): setup runs
# ``python -m verify.installed_files`` in environments that may not have packaging.
canonical = canonical_name


@dataclass(frozen=True)
class Installed:
    """One installed distribution: its METADATA name, version and Requires-Dist."""

    name: str
    version: str
    requires: tuple[str, ...]
    dist: importlib.metadata.Distribution


def installed() -> dict[str, Installed]:
    """Canonical name -> the first distribution of that name on ``sys.path`` (the one
    ``import`` finds)."""
    out: dict[str, Installed] = {}
    for dist in importlib.metadata.distributions():
        meta = dist.metadata  # parsed once
        name = meta.get("Name") if meta is not None else None
        if not name or canonical(name) in out:
            continue
        out[canonical(name)] = Installed(
            name, meta.get("Version") or "", tuple(meta.get_all("Requires-Dist") or ()), dist)
    return out
