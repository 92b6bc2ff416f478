"""A CycloneDX 1.5 JSON SBOM per variant, rendered from the committed locks only, so it is
deterministic and ``nox -s lock -- --check`` can tell when it is stale.

Two layers: the PyPI packages of ``pylock.toml`` (purl ``pkg:pypi/NAME@VERSION``, every wheel
as a distribution reference with its sha256, dependency edges from requirements.txt's
``# via``), and the conda packages of ``conda-lock.yml`` (purl
``pkg:conda/conda-forge/NAME@VERSION?build=B&subdir=PLATFORM``, md5 and sha256). Licences are
copied where a record carries one (``license`` in a conda-lock entry); the locks carry none
for PyPI packages. No timestamp; the serial number is derived from the lock contents.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
import uuid
from pathlib import Path
from typing import Any

import yaml

from envs.contract.fileio import write_atomic
from envs.contract.piplock import parse_requirements

__all__ = ["SBOM_FILE", "render_sbom", "sbom_is_fresh", "sbom_problems", "write_sbom"]

SBOM_FILE = "sbom.cdx.json"
_NAMESPACE = uuid.UUID("6f1c3f0e-8a55-4c1e-9a55-6b6572617375")  # fixed: kerasup SBOMs


def _pypi_purl(name: str, version: str) -> str:
    return f"pkg:pypi/{name}@{version}"


def _pypi_components(pylock: dict[str, Any]) -> list[dict[str, Any]]:
    components = []
    for pkg in pylock.get("packages", []):
        refs = [{"type": "distribution", "url": w["url"],
                 "hashes": [{"alg": "SHA-256", "content": w["hashes"]["sha256"]}]}
                for w in pkg.get("wheels", [])]
        purl = _pypi_purl(pkg["name"], pkg["version"])
        component: dict[str, Any] = {
            "type": "library", "bom-ref": purl, "name": pkg["name"],
            "version": pkg["version"], "purl": purl, "externalReferences": refs,
            "properties": [{"name": "kerasup:layer", "value": "pypi"}]}
        if pkg.get("marker"):
            component["properties"].append({"name": "kerasup:marker", "value": pkg["marker"]})
        components.append(component)
    return components


def _conda_component(entry: dict[str, Any]) -> dict[str, Any]:
    name, version, platform = entry["name"], str(entry["version"]), entry["platform"]
    build = entry.get("build", "")
    purl = f"pkg:conda/conda-forge/{name}@{version}?build={build}&subdir={platform}"
    hashes = [{"alg": alg, "content": entry["hash"][key]}
              for alg, key in (("MD5", "md5"), ("SHA-256", "sha256"))
              if entry.get("hash", {}).get(key)]
    component: dict[str, Any] = {
        "type": "library", "bom-ref": purl, "name": name, "version": version, "purl": purl,
        "hashes": hashes,
        "externalReferences": [{"type": "distribution", "url": entry["url"]}],
        "properties": [{"name": "kerasup:layer", "value": "conda"},
                       {"name": "kerasup:platform", "value": platform}]}
    if entry.get("license"):
        component["licenses"] = [{"expression": str(entry["license"])}]
    return component


def _conda_components(conda_lock: dict[str, Any]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for entry in conda_lock.get("package", []):
        if entry.get("manager") == "conda":
            component = _conda_component(entry)
            seen.setdefault(component["bom-ref"], component)
    return [seen[ref] for ref in sorted(seen)]


def _dependencies(requirements_text: str, pypi: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """PyPI dependency edges: A depends on B when requirements.txt says B is 'via' A."""
    refs_by_name: dict[str, list[str]] = {}
    for comp in pypi:
        refs_by_name.setdefault(comp["name"], []).append(comp["bom-ref"])
    edges: dict[str, set[str]] = {ref: set() for comp in pypi for ref in [comp["bom-ref"]]}
    for entry in parse_requirements(requirements_text, "requirements.txt"):
        child = _pypi_purl(entry.name, entry.version)
        for parent in entry.via:
            for parent_ref in refs_by_name.get(parent, []):
                if child in edges:
                    edges[parent_ref].add(child)
    return [{"ref": ref, "dependsOn": sorted(deps)} for ref, deps in sorted(edges.items())]


def render_sbom(variant_dir: Path) -> str:
    """The CycloneDX 1.5 JSON text for the locks in ``variant_dir`` (e.g. envs/cpu)."""
    pylock_text = (variant_dir / "pylock.toml").read_text(encoding="utf-8")
    requirements_text = (variant_dir / "requirements.txt").read_text(encoding="utf-8")
    conda_text = (variant_dir / "conda-lock.yml").read_text(encoding="utf-8")
    pypi = _pypi_components(tomllib.loads(pylock_text))
    # libyaml's loader when present: the conda lock is thousands of lines.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    conda = _conda_components(yaml.load(conda_text, Loader=loader))
    digest = hashlib.sha256("\0".join([pylock_text, conda_text]).encode()).hexdigest()
    variant = variant_dir.name
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid5(_NAMESPACE, digest)}",
        "version": 1,
        "metadata": {
            "component": {"type": "application", "bom-ref": f"kerasup-{variant}",
                          "name": f"kerasup-{variant}", "version": digest[:12]},
            "tools": {"components": [{"type": "application", "name": "kerasup envs.lock.sbom"}]},
            "properties": [{"name": "kerasup:locks-sha256", "value": digest}],
        },
        "components": [*pypi, *conda],
        "dependencies": _dependencies(requirements_text, pypi),
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def write_sbom(variant_dir: Path) -> Path:
    """Render and write ``variant_dir``/sbom.cdx.json (atomically); returns its path."""
    path = variant_dir / SBOM_FILE
    write_atomic(path, render_sbom(variant_dir))
    return path


def sbom_is_fresh(variant_dir: Path) -> bool:
    """Whether the committed SBOM is exactly what the committed locks render."""
    path = variant_dir / SBOM_FILE
    try:
        return path.read_text(encoding="utf-8") == render_sbom(variant_dir)
    except (OSError, ValueError, yaml.YAMLError):
        return False


def sbom_problems(variant_dir: Path) -> list[str]:
    """One line per SBOM problem, in check_variant's style ([] when fresh)."""
    if sbom_is_fresh(variant_dir):
        return []
    return [f"{variant_dir / SBOM_FILE} is missing or stale against the locks; run "
            "`nox -s lock` and commit the result"]
