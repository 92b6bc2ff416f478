"""A bundle directory as one .tar.gz or .zip file, and back, both reproducibly and safely:
members are sorted with fixed times and owners (same inputs, same bytes), and extraction
refuses links, devices and paths that leave the destination. A truncated or damaged archive
is one line that says to copy it again.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from envs.contract.errors import UsageError
from setup.installer.bundle.manifest import MANIFEST

__all__ = ["ARCHIVE_SUFFIXES", "archive_kind", "extract", "write_archive"]

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".zip")
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def archive_kind(path: Path) -> str | None:
    """"tar.gz", "zip" or None (a directory bundle) from the file name."""
    name = path.name.lower()
    if name.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    return "zip" if name.endswith(".zip") else None


def _members(root: Path) -> list[tuple[str, Path]]:
    # The manifest goes last: an archive cut short never carries it.
    files = sorted(p for p in root.rglob("*")
                   if p.is_file() and p.relative_to(root).as_posix() != MANIFEST)
    ordered = [(p.relative_to(root).as_posix(), p) for p in files]
    return [*ordered, (MANIFEST, root / MANIFEST)]


def _write_tar(root: Path, fh, top: str) -> None:  # noqa: ANN001 - a binary file object
    with gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="", compresslevel=1) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel, path in _members(root):
            info = tarfile.TarInfo(f"{top}/{rel}")
            info.size = path.stat().st_size
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with path.open("rb") as src:
                tar.addfile(info, src)


def _write_zip(root: Path, fh, top: str) -> None:  # noqa: ANN001
    with zipfile.ZipFile(fh, "w") as zf:
        for rel, path in _members(root):
            info = zipfile.ZipInfo(f"{top}/{rel}", date_time=_ZIP_EPOCH)
            # Wheels are zip files already: storing them saves time and loses nothing.
            info.compress_type = zipfile.ZIP_STORED if rel.endswith(".whl") else \
                zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            with path.open("rb") as src, zf.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)


def write_archive(root: Path, dest: Path) -> Path:
    """Write the bundle directory ``root`` as ``dest`` (kind from its suffix), atomically."""
    kind = archive_kind(dest)
    if kind is None:
        raise UsageError(f"{dest} is not a .tar.gz or .zip name", "end the name in .tar.gz or .zip")
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            (_write_tar if kind == "tar.gz" else _write_zip)(root, fh, root.name)
        umask = os.umask(0)
        os.umask(umask)
        Path(tmp).chmod(0o666 & ~umask)  # mkstemp made it private; an archive is to share
        Path(tmp).replace(dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def _safe_rel(name: str, archive: Path) -> PurePosixPath:
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise UsageError(f"{archive} holds an unsafe path {name!r}",
                         "use a bundle made by --make-bundle")
    return rel


def _damaged(archive: Path, exc: BaseException) -> UsageError:
    return UsageError(f"{archive} is truncated or damaged ({type(exc).__name__}: {exc})",
                      "copy the archive again, or rebuild it with --make-bundle")


def _extract_tar(archive: Path, dest: Path) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            rel = _safe_rel(member.name, archive)
            if member.isdir():
                continue
            if not member.isfile():
                raise UsageError(f"{archive} holds a link or device {member.name!r}",
                                 "use a bundle made by --make-bundle")
            target = dest.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(member)
            assert src is not None
            with src, target.open("wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            target.chmod(0o755 if member.mode & 0o100 else 0o644)


def _extract_zip(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            rel = _safe_rel(info.filename, archive)
            if info.is_dir():
                continue
            if (info.external_attr >> 16) & 0o170000 not in (0, 0o100000):
                raise UsageError(f"{archive} holds a link or device {info.filename!r}",
                                 "use a bundle made by --make-bundle")
            target = dest.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            target.chmod(0o755 if (info.external_attr >> 16) & 0o100 else 0o644)


def extract(archive: Path, dest: Path) -> Path:
    """Extract ``archive`` into the empty directory ``dest``; return the bundle directory in
    it (the archive's single top-level folder)."""
    kind = archive_kind(archive)
    try:
        (_extract_tar if kind == "tar.gz" else _extract_zip)(archive, dest)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile,
            OSError) as exc:
        if isinstance(exc, OSError) and not isinstance(exc, (EOFError, gzip.BadGzipFile)) \
                and exc.errno is not None:
            raise UsageError(f"cannot extract {archive}: {exc.strerror}",
                             "free disk space or choose another directory") from None
        raise _damaged(archive, exc) from None
    tops = [p for p in dest.iterdir()]
    if len(tops) != 1 or not tops[0].is_dir():
        raise UsageError(f"{archive} does not hold one bundle folder",
                         "use a bundle made by --make-bundle")
    return tops[0]
