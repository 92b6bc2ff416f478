"""The recorded package-index snapshot: what uv's resolver was served when the locks were made.

``envs/index-snapshot/`` holds, as plain text, every index response a resolution of the
variants needed: the PEP 691 JSON project pages (``<host>/simple/<project>.json``) and the
PEP 658 core-metadata files (``<host>/metadata/<file>.metadata``). ``snapshot.json`` says which
index, which exclude-newer date and which variants it was recorded for, and which releases it
withholds (releases the index lists today that it did not serve when the locks were made).

Recording keeps only what a resolution reads, so the snapshot stays small and reviewable:
project pages keep the files uploaded up to the exclude-newer date (uv ignores later ones) and
the fields uv and the exports read; metadata files keep their header fields (the long
description is dropped). Replaying serves exactly that, through :mod:`envs.lock.index_proxy`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envs.contract.errors import ExitCode, LockError
from envs.contract.fileio import write_atomic
from envs.contract.piplock import canonical_name

__all__ = ["SNAPSHOT_DIR", "SNAPSHOT_FILE", "IndexSnapshot", "Response"]

SNAPSHOT_DIR = Path(__file__).resolve().parent.parent / "index-snapshot"
SNAPSHOT_FILE = "snapshot.json"
FORMAT = 1
JSON_PAGE = "application/vnd.pypi.simple.v1+json"
METADATA_TYPE = "application/octet-stream"
# The per-file fields of a PEP 691 page that uv and its exports read.
_FILE_FIELDS = ("filename", "url", "hashes", "requires-python", "size", "upload-time",
                "yanked", "core-metadata", "data-dist-info-metadata")
_SIMPLE = re.compile(r"^/simple/([^/]+)/?$")
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


@dataclass(frozen=True)
class Response:
    """One HTTP answer: status, content type, body (and its length: a HEAD has no body)."""

    status: int
    content_type: str
    body: bytes
    length: int = -1

    def __post_init__(self) -> None:
        if self.length < 0:
            object.__setattr__(self, "length", len(self.body))


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _file_version(filename: str) -> str | None:
    """The version in a wheel or sdist file name (None when it is neither)."""
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )

    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def trim_page(page: dict[str, Any], exclude_newer: str) -> dict[str, Any]:
    """A PEP 691 page reduced to the files uploaded up to `exclude_newer` and the fields
    a resolution reads."""
    cutoff = _when(exclude_newer)
    files = [{k: f[k] for k in _FILE_FIELDS if k in f} for f in page.get("files", [])
             if f.get("upload-time") and _when(f["upload-time"]) <= cutoff]
    versions = {v for f in files if (v := _file_version(f["filename"]))}
    trimmed: dict[str, Any] = {"meta": page.get("meta", {"api-version": "1.1"}),
                               "name": page.get("name", ""), "files": files}
    if "versions" in page:
        trimmed["versions"] = [v for v in page["versions"] if v in versions]
    return trimmed


def _wheel_metadata(wheel: bytes) -> bytes | None:
    """The METADATA file inside a wheel's bytes (None when it has none or is no zip)."""
    try:
        with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
            names = [n for n in archive.namelist()
                     if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
            return archive.read(names[0]) if names else None
    except (zipfile.BadZipFile, KeyError, OSError):
        return None


def trim_metadata(body: bytes) -> bytes:
    """A core-metadata file's header fields, without the long description after them."""
    head, _, _ = body.replace(b"\r\n", b"\n").partition(b"\n\n")
    return head.rstrip(b"\n") + b"\n"  # idempotent: a kept file trims to itself


@dataclass
class IndexSnapshot:
    """A snapshot folder: read for replay, written while recording."""

    root: Path
    index_url: str = "https://pypi.org/simple"
    exclude_newer: str = ""
    variants: list[str] = field(default_factory=list)
    withheld: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    recorded_at: str = ""

    @classmethod
    def load(cls, root: Path = SNAPSHOT_DIR) -> IndexSnapshot:
        """Read ``snapshot.json`` (one-line LockError when absent or malformed)."""
        path = root / SNAPSHOT_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
            return cls(root, data["index"], data["exclude-newer"], list(data["variants"]),
                       {canonical_name(k): list(v) for k, v in data["withheld"].items()},
                       list(data.get("notes", [])), data.get("recorded-at", ""))
        except FileNotFoundError:
            raise LockError(f"{path} not found: no index snapshot was recorded",
                            fix="record one with `nox -s lock` (a relock records its snapshot)",
                            code=ExitCode.CANNOT_PROCEED) from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LockError(f"{path} is not a kerasup index snapshot ({exc})",
                            fix="restore it from git (git checkout -- envs/index-snapshot)"
                            ) from None

    def save(self) -> None:
        """Write ``snapshot.json`` (the responses are written as they are recorded), and point
        every page entry whose metadata the snapshot holds at it, with that file's sha256: the
        kept metadata is served as PEP 658 metadata, whether the index served it that way or
        uv read it from the wheel."""
        for page_file in sorted(self.root.glob("simple/*.json")):
            self._link_metadata(page_file)
        data = {"format": FORMAT, "index": self.index_url, "recorded-at": self.recorded_at,
                "exclude-newer": self.exclude_newer, "variants": self.variants,
                "withheld": dict(sorted(self.withheld.items())), "notes": self.notes}
        write_atomic(self.root / SNAPSHOT_FILE, json.dumps(data, indent=1) + "\n")

    def _link_metadata(self, page_file: Path) -> None:
        page = json.loads(page_file.read_text(encoding="utf-8"))
        for entry in page["files"]:
            kept = self._metadata_path(entry["filename"] + ".metadata")
            if kept.is_file():
                digest = {"sha256": hashlib.sha256(kept.read_bytes()).hexdigest()}
                entry["core-metadata"] = entry["data-dist-info-metadata"] = digest
        write_atomic(page_file, json.dumps(page, indent=0, sort_keys=True) + "\n")

    # -- where each response lives ----------------------------------------------------------

    def prune(self, chosen: Mapping[str, Iterable[str]]) -> None:
        """Drop the releases older than the oldest one the locks chose (`chosen`: project ->
        versions), and metadata no page names any more. A resolver that prefers newer
        releases never reads them to reproduce the locks; if it ever did, the reproduction
        would miss them and say which (IndexProxy.misses)."""
        from packaging.version import InvalidVersion, Version

        floors = {canonical_name(k): min(Version(v) for v in vs) for k, vs in chosen.items()}
        named: set[str] = set()
        for page_file in sorted(self.root.glob("simple/*.json")):
            page = json.loads(page_file.read_text(encoding="utf-8"))
            floor = floors.get(canonical_name(page.get("name", "")))

            def kept(version: str | None, floor: Version | None = floor) -> bool:
                try:
                    return floor is None or version is None or Version(version) >= floor
                except InvalidVersion:
                    return True

            page["files"] = [f for f in page["files"] if kept(_file_version(f["filename"]))]
            if "versions" in page:
                page["versions"] = [v for v in page["versions"] if kept(v)]
            named.update(f["filename"] + ".metadata" for f in page["files"])
            write_atomic(page_file, json.dumps(page, indent=0, sort_keys=True) + "\n")
        for metadata in self.root.glob("metadata/*.metadata"):
            if metadata.name not in named:
                metadata.unlink()

    # One index per snapshot, so no host in the layout: PyPI serves pages from pypi.org and
    # files (and their metadata) from files.pythonhosted.org, and file names are unique.
    def _page_path(self, project: str) -> Path:
        return self.root / "simple" / f"{canonical_name(project)}.json"

    def _metadata_path(self, filename: str) -> Path:
        return self.root / "metadata" / filename

    def locate(self, host: str, path: str) -> tuple[str, Path] | None:
        """("page" | "metadata", file) for a request the snapshot can answer, else None."""
        if not _SAFE.match(host):
            return None
        if match := _SIMPLE.match(path.split("?")[0]):
            name = match[1]
            return ("page", self._page_path(name)) if _SAFE.match(name) else None
        filename = path.split("?")[0].rsplit("/", 1)[-1]
        if filename.endswith(".metadata") and _SAFE.match(filename):
            return "metadata", self._metadata_path(filename)
        if filename.endswith(".whl") and _SAFE.match(filename):
            return "wheel", self._metadata_path(filename + ".metadata")
        return None

    # -- replay -----------------------------------------------------------------------------

    def answer(self, host: str, path: str) -> Response | None:
        """The recorded answer to GET https://host/path, withheld releases removed; None when
        the snapshot holds none."""
        where = self.locate(host, path)
        if where is None or not where[1].is_file():
            return None
        kind, file = where
        if kind == "wheel":  # replay serves metadata only, and pages that say so (save())
            return None
        if kind == "metadata":
            return Response(200, METADATA_TYPE, file.read_bytes())
        page = json.loads(file.read_text(encoding="utf-8"))
        hidden = set(self.withheld.get(canonical_name(page.get("name", "")), ()))
        if hidden:
            page["files"] = [f for f in page["files"]
                             if _file_version(f["filename"]) not in hidden]
            if "versions" in page:
                page["versions"] = [v for v in page["versions"] if v not in hidden]
        return Response(200, JSON_PAGE, json.dumps(page).encode())

    # -- recording --------------------------------------------------------------------------

    def record(self, host: str, path: str, answer: Response) -> None:
        """Keep a successful answer from the live index, trimmed to what a resolution reads."""
        where = self.locate(host, path)
        if where is None or answer.status != 200:
            return
        kind, file = where
        file.parent.mkdir(parents=True, exist_ok=True)
        if kind == "metadata":
            write_atomic(file, trim_metadata(answer.body))
            return
        if kind == "wheel":
            if (metadata := _wheel_metadata(answer.body)) is not None:
                write_atomic(file, trim_metadata(metadata))
            return
        page = trim_page(json.loads(answer.body), self.exclude_newer)
        write_atomic(file, json.dumps(page, indent=0, sort_keys=True) + "\n")
