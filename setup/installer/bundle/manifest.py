"""MANIFEST.json: what a bundle is (schema, toolkit commit, lock, targets) and every file in
it with its size and sha256. Shared by the builder (writes it last) and the checker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envs.contract.errors import UsageError

__all__ = [
    "BUILDING_MARKER",
    "MANIFEST",
    "SCHEMA",
    "FileEntry",
    "Manifest",
    "list_files",
    "read_manifest",
]

SCHEMA = "kerasup-bundle/1"
MANIFEST = "MANIFEST.json"
# Present while a build runs; a bundle that still has it was interrupted (the checker refuses
# it as an extra file, and the builder knows the directory is its own).
BUILDING_MARKER = ".kerasup-bundle-building"
WHEELS_DIR = "wheels"
UV_DIR = "uv"
TOOLKIT_DIR = "toolkit"
DATA_DIR = "mnist"


@dataclass(frozen=True)
class FileEntry:
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """The parsed manifest. ``lock`` is the bundle-relative path of the hashed requirements."""

    variant: str
    lock: str
    lock_sha256: str
    targets: tuple[tuple[str, str], ...]  # (platform, python)
    uv: dict[str, str]  # platform -> bundle-relative path of its uv wheel
    toolkit_version: str
    toolkit_commit: str
    data: str | None
    files: dict[str, FileEntry] = field(default_factory=dict)

    def to_json(self) -> str:
        doc: dict[str, Any] = {
            "schema": SCHEMA,
            "toolkit": {"version": self.toolkit_version, "commit": self.toolkit_commit},
            "variant": self.variant,
            "lock": {"path": self.lock, "sha256": self.lock_sha256},
            "targets": [{"platform": p, "python": py} for p, py in self.targets],
            "uv": dict(sorted(self.uv.items())),
            "data": self.data,
            "files": {name: {"size": e.size, "sha256": e.sha256}
                      for name, e in sorted(self.files.items())},
        }
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"

    def target_labels(self) -> str:
        return ", ".join(f"{p}/py{py}" for p, py in self.targets)


def _bad(path: Path, why: str) -> UsageError:
    return UsageError(f"{path} is not a usable bundle manifest ({why})",
                      "rebuild the bundle with --make-bundle, or copy it again")


def _parse(doc: Any, path: Path) -> Manifest:
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise _bad(path, f"schema is not {SCHEMA}")
    try:
        files = {str(k): FileEntry(int(v["size"]), str(v["sha256"]))
                 for k, v in doc["files"].items()}
        return Manifest(
            variant=str(doc["variant"]), lock=str(doc["lock"]["path"]),
            lock_sha256=str(doc["lock"]["sha256"]),
            targets=tuple((str(t["platform"]), str(t["python"])) for t in doc["targets"]),
            uv={str(k): str(v) for k, v in doc["uv"].items()},
            toolkit_version=str(doc["toolkit"]["version"]),
            toolkit_commit=str(doc["toolkit"]["commit"]),
            data=doc.get("data"), files=files)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _bad(path, f"missing or malformed field {exc}") from None


def read_manifest(bundle: Path) -> Manifest:
    """The manifest of the bundle directory ``bundle``; a usage error when absent or invalid."""
    path = bundle / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"{bundle} has no {MANIFEST}: it is not a kerasup bundle, or its build was "
            "interrupted", "rebuild it with --make-bundle DIR") from None
    except OSError as exc:
        raise _bad(path, exc.strerror or str(exc)) from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise _bad(path, f"invalid JSON: {exc}") from None
    return _parse(doc, path)


def list_files(root: Path) -> dict[str, Path]:
    """Bundle-relative POSIX path -> path, for every entry below ``root`` except the manifest
    (links and other non-regular entries are listed too, so the checker can refuse them)."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        rel = path.relative_to(root).as_posix()
        if rel != MANIFEST:
            found[rel] = path
    return found
