"""Hashes of a variant's lock inputs, recorded in each lock so `--check` can judge staleness
offline, without re-resolving.

* requirements.txt and pylock.toml carry a header line ``# kerasup-inputs-sha256: …`` over the
  pip part of environment.yml, the target Pythons and the target platforms. The header is
  written and read with :mod:`envs.contract.lockheader`, as setup and verify read it.
* conda-lock.yml carries conda-lock's own per-platform ``content_hash`` (computed by conda-lock's
  code from the whole environment.yml and the virtual packages assumed for each platform).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import warnings
from pathlib import Path

import yaml
from packaging.requirements import Requirement

from envs.contract.facts import PYTHONS
from envs.contract.lockheader import format_header, read_header
from envs.lock.platforms import GLIBC, MACOS
from envs.lock.spec import EnvSpec

__all__ = [
    "FORMAT_VERSION",
    "conda_content_hashes",
    "pip_inputs_hash",
    "read_lock_header",
    "render_header",
]

# Bump when the lock step itself changes what it writes, so every lock reads as stale.
FORMAT_VERSION = 1
# conda-lock maps PyPI names to conda names with a mapping it downloads from GitHub; the
# only name it maps here is the conda package `pip`, so a one-entry local mapping keeps the
# hash identical to conda-lock's and computable offline.
_PYPI_MAPPING = Path(__file__).with_name("pypi-to-conda.json")


def pip_inputs_hash(spec: EnvSpec) -> str:
    """sha256 over everything the pip locks are resolved from (but not the resolution date)."""
    canonical = {
        "format": FORMAT_VERSION,
        "variant": spec.variant,
        # Normalised so that spacing or quoting edits do not read as changes.
        "pip": sorted(str(Requirement(line)) for line in spec.pip),
        "pythons": list(PYTHONS),
        "platforms": sorted(spec.platforms),
        "glibc": list(GLIBC),
        "macos": list(MACOS),
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def render_header(variant: str, fields: dict[str, str]) -> str:
    """The comment lines that open requirements.txt and pylock.toml."""
    return (f"# kerasup {variant} pip lock: generated from environment.yml by `nox -s lock` "
            "(python -m envs.lock); do not edit by hand.\n" + format_header(fields))


def read_lock_header(path: Path) -> dict[str, str]:
    """The ``# kerasup-KEY: VALUE`` fields of the lock at ``path`` ({} if there are none)."""
    with path.open(encoding="utf-8") as f:
        return read_header(f.read(8192))


def conda_content_hashes(spec: EnvSpec) -> dict[str, str]:
    """conda-lock's content_hash of environment.yml for each platform of the variant."""
    from conda_lock.content_hash import compute_content_hashes
    from conda_lock.src_parser import make_lock_spec
    from conda_lock.virtual_package import virtual_package_repo_from_specification

    with warnings.catch_warnings():
        # conda-lock warns that it cannot evaluate platform_machine before the solve; it counts
        # such pip lines on every platform, which is what the hash should cover anyway.
        warnings.filterwarnings("ignore", message=".*contains environment markers",
                                category=UserWarning)
        lock_spec = make_lock_spec(src_files=[spec.path],
                                   platform_overrides=list(spec.platforms),
                                   mapping_url=str(_PYPI_MAPPING))
    virtual = {"subdirs": {t.subdir: {"packages": t.virtual_packages_for(spec.variant)}
                           for t in spec.targets}}
    with tempfile.TemporaryDirectory(prefix="kerasup-vpkgs-") as tmp:
        vpath = Path(tmp) / "virtual-packages.yaml"
        vpath.write_text(yaml.safe_dump(virtual), encoding="utf-8")
        repo = virtual_package_repo_from_specification(vpath)
    return dict(compute_content_hashes(lock_spec, repo))
