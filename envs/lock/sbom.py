"""A CycloneDX 1.5 JSON SBOM per variant, rendered from the committed locks and the recorded
index snapshot only, so it is deterministic and ``nox -s lock -- --check`` can tell when it is
stale. It carries the NTIA minimum elements (sbomaudit checks them in the suite).

Two layers: the PyPI packages of ``pylock.toml`` (purl ``pkg:pypi/NAME@VERSION``, every wheel
as a distribution reference with its sha256, dependency edges from requirements.txt's
``# via``), and the conda packages of ``conda-lock.yml`` (purl
``pkg:conda/conda-forge/NAME@VERSION?build=B&subdir=PLATFORM``, md5 and sha256, dependency
edges from each entry's ``dependencies`` on its platform). Supplier and licence come from the
packages' own metadata as the lock step was served it: for PyPI the core metadata in
``envs/index-snapshot/metadata`` (``License-Expression`` first, then ``License``, then the
licence classifiers; the maintainer or author as supplier), for conda the record's licence
(kept in conda-lock.yml's ``kerasup_conda_licenses``) and conda-forge, which builds and
distributes the package, as supplier. The creation time is the lock's ``exclude-newer`` date,
so a re-render is byte for byte the same; the serial number is derived from the lock contents.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import yaml

from envs.contract.fileio import write_atomic
from envs.contract.lockheader import KEY_EXCLUDE_NEWER, read_header
from envs.contract.piplock import canonical_name, parse_requirements
from envs.contract.pylock import Pylock, parse_pylock

__all__ = ["SBOM_FILE", "render_sbom", "sbom_is_fresh", "sbom_problems", "write_sbom"]

SBOM_FILE = "sbom.cdx.json"
_NAMESPACE = uuid.UUID("6f1c3f0e-8a55-4c1e-9a55-6b6572617375")  # fixed: kerasup SBOMs
_CONDA_FORGE = {"name": "conda-forge", "url": ["https://conda-forge.org"]}


def _pypi_purl(name: str, version: str) -> str:
    return f"pkg:pypi/{name}@{version}"


def _metadata_index(snapshot: Path) -> dict[tuple[str, str], Message]:
    """(canonical name, version) -> the header fields of its recorded core metadata."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    found: dict[tuple[str, str], Message] = {}
    for path in sorted((snapshot / "metadata").glob("*.whl.metadata")):
        try:
            name, version, _, _ = parse_wheel_filename(path.name.removesuffix(".metadata"))
        except InvalidWheelFilename:
            continue
        key = (canonical_name(name), str(version))
        if key not in found:
            # Text in, so every field reads as str (core metadata is UTF-8).
            found[key] = HeaderParser().parsestr(path.read_text(encoding="utf-8",
                                                                errors="replace"))
    return found


def _people(value: str | None) -> list[str]:
    """Names in an Author/Maintainer field or its -email form ("A <a@x>, B <b@x>"). Split
    by hand, not with email.utils.getaddresses, whose parsing changed across Python patch
    releases (3.13 and the security fixes backported to 3.11/3.12): the SBOM must render the
    same on every supported Python."""
    names = []
    for part in " ".join((value or "").split()).split(","):
        name = part.split("<", 1)[0].strip().strip('"').strip()
        address = part.split("<", 1)[1].split(">", 1)[0].strip() if "<" in part else ""
        names.append(name or address or part.strip())
    return [n for n in names if n]


def _supplier(headers: Message) -> dict[str, Any] | None:
    for field in ("Maintainer", "Author", "Maintainer-email", "Author-email"):
        names = _people(headers.get(field))
        if names:
            return {"name": ", ".join(dict.fromkeys(names))}
    return None


def _licences(headers: Message) -> list[dict[str, Any]]:
    expression = " ".join((headers.get("License-Expression") or "").split())
    if expression:
        return [{"expression": expression}]
    text = " ".join((headers.get("License") or "").split())
    if text and len(text) <= 100:  # a name, not a pasted licence text
        return [{"license": {"name": text}}]
    classifiers = [c.split(" :: ")[-1] for c in headers.get_all("Classifier") or []
                   if c.startswith("License :: ")]
    if classifiers:
        return [{"license": {"name": name}} for name in dict.fromkeys(classifiers)]
    return [{"license": {"name": text[:100] + "…"}}] if text else []


def _pypi_components(pylock: Pylock, metadata: dict[tuple[str, str], Message]
                     ) -> list[dict[str, Any]]:
    components = []
    for pkg in pylock.packages:
        refs = [{"type": "distribution", "url": w.url,
                 "hashes": [{"alg": "SHA-256", "content": w.sha256}]} for w in pkg.wheels]
        purl = _pypi_purl(pkg.name, pkg.version)
        component: dict[str, Any] = {
            "type": "library", "bom-ref": purl, "name": pkg.name,
            "version": pkg.version, "purl": purl, "externalReferences": refs,
            "properties": [{"name": "kerasup:layer", "value": "pypi"}]}
        if pkg.marker:
            component["properties"].append({"name": "kerasup:marker", "value": pkg.marker})
        headers = metadata.get((pkg.name, pkg.version))
        if headers is not None:
            supplier = _supplier(headers)
            if supplier:
                component["supplier"] = supplier
            if licences := _licences(headers):
                component["licenses"] = licences
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
    component["supplier"] = _CONDA_FORGE
    return component


def _conda_components(conda_lock: dict[str, Any]) -> list[dict[str, Any]]:
    custom = (conda_lock.get("metadata") or {}).get("custom_metadata") or {}
    licences = json.loads(custom.get("kerasup_conda_licenses") or "{}")
    seen: dict[str, dict[str, Any]] = {}
    for entry in conda_lock.get("package", []):
        if entry.get("manager") == "conda":
            component = _conda_component(entry)
            licence = licences.get(f"{entry['name']}={entry['version']}={entry.get('build')}")
            if licence:
                component["licenses"] = [{"expression": licence}]
            seen.setdefault(component["bom-ref"], component)
    return [seen[ref] for ref in sorted(seen)]


def _conda_dependencies(conda_lock: dict[str, Any]) -> list[dict[str, Any]]:
    """conda dependency edges: an entry depends on the packages its `dependencies` name,
    on the same platform (the names conda-lock recorded from the solve)."""
    refs: dict[tuple[str, str], str] = {}
    entries = [e for e in conda_lock.get("package", []) if e.get("manager") == "conda"]
    for entry in entries:
        refs[(entry["name"], entry["platform"])] = _conda_component(entry)["bom-ref"]
    edges: dict[str, set[str]] = {}
    for entry in entries:
        ref = refs[(entry["name"], entry["platform"])]
        edges.setdefault(ref, set()).update(
            refs[(dep, entry["platform"])] for dep in entry.get("dependencies") or {}
            if (dep, entry["platform"]) in refs)
    return [{"ref": ref, "dependsOn": sorted(deps)} for ref, deps in sorted(edges.items())]


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


def render_sbom(variant_dir: Path, snapshot: Path | None = None) -> str:
    """The CycloneDX 1.5 JSON text for the locks in ``variant_dir`` (e.g. envs/cpu), with the
    core metadata of the index snapshot beside it (``snapshot``: another one)."""
    pylock_text = (variant_dir / "pylock.toml").read_text(encoding="utf-8")
    requirements_text = (variant_dir / "requirements.txt").read_text(encoding="utf-8")
    conda_text = (variant_dir / "conda-lock.yml").read_text(encoding="utf-8")
    metadata = _metadata_index(snapshot or variant_dir.parent / "index-snapshot")
    pypi = _pypi_components(parse_pylock(pylock_text, str(variant_dir / "pylock.toml")),
                            metadata)
    # libyaml's loader when present: the conda lock is thousands of lines.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    conda_lock = yaml.load(conda_text, Loader=loader)
    conda = _conda_components(conda_lock)
    created = read_header(pylock_text).get(KEY_EXCLUDE_NEWER, "")
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
            "authors": [{"name": "kerasup lock step (nox -s lock)"}],
            "supplier": {"name": "kerasup"},
            "properties": [{"name": "kerasup:locks-sha256", "value": digest}],
        },
        "components": [*pypi, *conda],
    }
    edges = [*_dependencies(requirements_text, pypi), *_conda_dependencies(conda_lock)]
    # The root holds what nothing else in the SBOM depends on (the environment's own asks).
    wanted = {ref for edge in edges for ref in edge["dependsOn"]}
    doc["dependencies"] = [{"ref": f"kerasup-{variant}", "dependsOn": sorted(
        edge["ref"] for edge in edges if edge["ref"] not in wanted)}, *edges]
    if created:  # the lock's date, not the clock's: a re-render stays byte for byte
        doc["metadata"]["timestamp"] = created
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def write_sbom(variant_dir: Path, snapshot: Path | None = None) -> Path:
    """Render and write ``variant_dir``/sbom.cdx.json (atomically); returns its path."""
    path = variant_dir / SBOM_FILE
    write_atomic(path, render_sbom(variant_dir, snapshot))
    return path


def sbom_is_fresh(variant_dir: Path, snapshot: Path | None = None) -> bool:
    """Whether the committed SBOM is exactly what the committed locks render."""
    path = variant_dir / SBOM_FILE
    try:
        return path.read_text(encoding="utf-8") == render_sbom(variant_dir, snapshot)
    except (OSError, ValueError, yaml.YAMLError):
        return False


def sbom_problems(variant_dir: Path, snapshot: Path | None = None) -> list[str]:
    """One line per SBOM problem, in check_variant's style ([] when fresh)."""
    if sbom_is_fresh(variant_dir, snapshot):
        return []
    return [f"{variant_dir / SBOM_FILE} is missing or stale against the locks; run "
            "`nox -s lock` and commit the result"]
