"""Assemble an offline bundle: the lock's wheels for the chosen targets (hash-checked as they
download), uv for each target platform, the toolkit at the current commit, optional MNIST,
install entry points, a README, a filtered SBOM, and MANIFEST.json written last.

A re-run with the same inputs reuses every file that still hashes right and writes the same
manifest. The builder writes only into a new or empty folder, or one holding a bundle it
made (its MANIFEST.json, or its build marker after an interrupted build), and there it
replaces or removes only its own files: those the old manifest lists (or, after an
interrupted build, those at the names it writes). Anything else in the folder makes it
refuse before it changes anything.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from envs.contract import keras_json
from envs.contract.errors import UsageError
from envs.contract.facts import DEFAULT_VARIANT
from envs.contract.fileio import file_sha256, write_atomic
from envs.contract.layout import SBOM, Layout
from envs.contract.lockheader import coverage
from envs.contract.platforms import refusal
from envs.contract.pylock import LockedWheel, read_pylock
from setup.installer import payload
from setup.installer.bundle import carrier
from setup.installer.bundle.archive import archive_kind, write_archive
from setup.installer.bundle.fetch import fetch_all
from setup.installer.bundle.manifest import (
    BUILDING_MARKER,
    DATA_DIR,
    MANIFEST,
    TOOLKIT_DIR,
    UV_DIR,
    WHEELS_DIR,
    FileEntry,
    Manifest,
    list_files,
    read_manifest,
)
from setup.installer.bundle.select import BundleTarget, select_wheels
from setup.installer.bundle.uvwheel import uv_wheel
from setup.installer.deadline import Stalled, bounded

__all__ = ["BundleRequest", "BundleResult", "default_cache", "default_data", "make_bundle"]

_REPO = Path(__file__).resolve().parents[3]


def default_cache(environ: Mapping[str, str] | None = None) -> Path:
    """The verified wheel cache: KERASUP_WHEEL_CACHE, else the OS cache folder."""
    env = os.environ if environ is None else environ
    if env.get("KERASUP_WHEEL_CACHE"):
        return Path(env["KERASUP_WHEEL_CACHE"])
    base = env.get("LOCALAPPDATA") if os.name == "nt" else env.get("XDG_CACHE_HOME")
    return Path(base or Path.home() / ".cache") / "kerasup" / "wheels"


def default_data(environ: Mapping[str, str] | None = None) -> Path | None:
    """Keras' cached mnist.npz (in :func:`envs.contract.keras_json.keras_home`) when there is
    one: what the bundle carries when --data is not given."""
    cached = keras_json.keras_home(environ) / "datasets" / "mnist.npz"
    return cached if cached.is_file() else None


@dataclass(frozen=True)
class BundleRequest:
    """What to build: ``out`` is a directory, or a .tar.gz/.zip path (the directory beside it
    is built first and kept, so a re-run is quick)."""

    out: Path
    targets: tuple[BundleTarget, ...]
    variant: str = DEFAULT_VARIANT
    repo: Path = _REPO
    data: Path | None = None
    cache: Path | None = None
    index_url: str | None = None
    environ: Mapping[str, str] | None = None


@dataclass(frozen=True)
class BundleResult:
    directory: Path
    archive: Path | None
    manifest: Manifest
    wheels: tuple[str, ...] = field(default_factory=tuple)


def _bundle_dir(out: Path) -> Path:
    if archive_kind(out) is None:
        return out
    name = re.sub(r"(\.tar\.gz|\.tgz|\.zip)$", "", out.name, flags=re.IGNORECASE)
    return out.with_name(name)


_CARRIER_FILES = ("install.sh", "install.ps1", "README.txt", "sbom.cdx.json")


def _ours_by_name(rel: str) -> bool:
    """A path an (interrupted) build of this builder writes."""
    return rel in _CARRIER_FILES or rel.startswith(
        (f"{TOOLKIT_DIR}/", f"{DATA_DIR}/", f"{WHEELS_DIR}/", f"{UV_DIR}/"))


def _foreign_files(directory: Path) -> list[str]:
    """Files in ``directory`` this builder did not make (empty when it may build there)."""
    files = list_files(directory)
    present = [rel for rel in files if rel != BUILDING_MARKER]
    odd = [rel for rel in present if files[rel].is_symlink() or not files[rel].is_file()]
    if odd:  # a link (even at one of our names) or a device: never written through
        return odd
    if (directory / MANIFEST).is_file() and not (directory / BUILDING_MARKER).exists():
        try:
            listed = set(read_manifest(directory).files)
        except UsageError:
            return [MANIFEST, *present]  # a MANIFEST.json that is not ours
        return [rel for rel in present if rel not in listed]
    if (directory / BUILDING_MARKER).is_file():
        return [rel for rel in present if not _ours_by_name(rel)]
    return present


def _claim(directory: Path) -> None:
    """Make ``directory`` ours (new, empty, or a bundle this builder made) and mark it
    incomplete; UsageError, with nothing changed, when it holds anything else."""
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise UsageError(f"{directory} exists and is not a directory",
                         "choose a new path for --make-bundle")
    if directory.is_dir():
        foreign = _foreign_files(directory)
        if foreign:
            more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
            raise UsageError(f"{directory} holds {foreign[0]}{more}, which is not part of a "
                             "bundle kerasup made there; nothing was changed",
                             "choose a new or empty folder for --make-bundle")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / BUILDING_MARKER).write_text("kerasup bundle build in progress\n")
    (directory / MANIFEST).unlink(missing_ok=True)


def _check_archive_dest(dest: Path, directory: Path) -> None:
    """An existing archive is replaced only when it is a regular file beside the bundle
    folder it was made from (a re-run); anything else at that name is someone else's."""
    if archive_kind(dest) is None or not (dest.exists() or dest.is_symlink()):
        return
    if dest.is_symlink() or not dest.is_file() or not (directory / MANIFEST).is_file():
        raise UsageError(f"{dest} exists and is not an archive of the bundle {directory}; "
                         "nothing was changed", "choose a new name for --make-bundle")


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    cmd = ["git", "-C", str(repo), *args]
    try:  # a local repository answers in seconds; a hung mount never does
        return bounded(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=300)
    except subprocess.TimeoutExpired:
        raise Stalled(cmd, seconds=300, step=f"reading the toolkit from {repo}",
                      idle=False) from None


def _copy_tree(src: Path, dest: Path) -> None:
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if "__pycache__" in rel.parts or not path.is_file() or path.is_symlink():
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest / rel)


def _toolkit(repo: Path, dest: Path) -> tuple[str, str]:
    """Put the toolkit payload (:mod:`setup.installer.payload`) at HEAD into ``dest`` (git
    archive; the working tree's payload without git). Returns (version, commit)."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    head = _git(repo, "rev-parse", "HEAD") if shutil.which("git") else None
    if head is not None and head.returncode == 0:
        commit = head.stdout.decode().strip()
        tar_bytes = _git(repo, "archive", "--format=tar", commit).stdout
        with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
            for member in tar:
                if member.isfile() and payload.wanted(member.name):
                    target = dest / member.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
                    target.chmod(0o755 if member.mode & 0o100 else 0o644)
    else:
        commit = "unknown"
        dest.rmdir()
        payload.copy(repo, dest)
    found = re.search(r'^version = "([^"]+)"', (dest / "pyproject.toml").read_text("utf-8")
                      if (dest / "pyproject.toml").is_file() else "", re.MULTILINE)
    return (found.group(1) if found else "unknown"), commit


def _check_targets(lock: Path, variant: str, targets: Sequence[BundleTarget]) -> None:
    covered = coverage(lock)
    if covered is None:
        raise UsageError(f"{lock} has no kerasup header", "regenerate it with `nox -s lock`")
    for t in targets:
        refused = refusal(variant, t.platform)
        if refused:
            raise UsageError(refused.reason, refused.fix)
        if t.platform not in covered.platforms or t.python not in covered.pythons:
            raise UsageError(f"the {variant} lock covers {covered.describe()}, not {t.label}",
                             "choose a --platform and --python the lock covers")


def _place(src: Path, dest: Path, sha256: str) -> None:
    """Copy ``src`` to ``dest`` unless ``dest`` already holds those bytes."""
    if dest.is_file() and dest.stat().st_size == src.stat().st_size \
            and file_sha256(dest) == sha256:
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    shutil.copyfile(src, tmp)
    tmp.replace(dest)


def _place_wheels(wheels: Sequence[LockedWheel], sub: str, out: Path, req: BundleRequest,
                  progress: Callable[[str], None] | None) -> dict[str, FileEntry]:
    cache = req.cache or default_cache(req.environ)
    cached = fetch_all(wheels, cache, req.environ, req.index_url, progress)
    entries = {}
    for wheel in wheels:
        _place(cached[wheel.filename], out / sub / wheel.filename, wheel.sha256)
        entries[f"{sub}/{wheel.filename}"] = FileEntry(
            (out / sub / wheel.filename).stat().st_size, wheel.sha256)
    return entries


def _place_data(data: Path | None, out: Path) -> str | None:
    shutil.rmtree(out / DATA_DIR, ignore_errors=True)
    if data is None:
        return None
    if data.is_file():
        (out / DATA_DIR).mkdir()
        shutil.copyfile(data, out / DATA_DIR / data.name)
        return f"{DATA_DIR}/{data.name}"
    if not data.is_dir():
        raise UsageError(f"--data {data} is neither a folder nor a file",
                         "pass the MNIST folder (IDX files) or an mnist.npz")
    _copy_tree(data, out / DATA_DIR)
    return DATA_DIR


def _filtered_sbom(src: Path, wheels: Sequence[LockedWheel]) -> str | None:
    """The variant's SBOM restricted to the PyPI packages the bundle carries."""
    if not src.is_file():
        return None
    doc = json.loads(src.read_text(encoding="utf-8"))
    carried = {f"pkg:pypi/{w.name}@{w.version}" for w in wheels}
    doc["components"] = [c for c in doc.get("components", []) if c.get("purl") in carried]
    refs = {c.get("bom-ref") for c in doc["components"]}
    doc["dependencies"] = [d for d in doc.get("dependencies", []) if d.get("ref") in refs]
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _write_text(path: Path, text: str, mode: int = 0o644) -> None:
    """Write atomically (a new inode): never through a link, hard or symbolic."""
    if path.is_symlink() or not (path.is_file() and path.read_text(encoding="utf-8") == text):
        write_atomic(path, text, mode=mode)
    path.chmod(mode)


def _carrier_files(out: Path, req: BundleRequest, commit: str, data: str | None,
                   wheels: Sequence[LockedWheel]) -> None:
    targets = [(t.platform, t.python) for t in req.targets]
    _write_text(out / "install.sh", carrier.INSTALL_SH, 0o755)
    _write_text(out / "install.ps1", carrier.INSTALL_PS1)
    _write_text(out / "README.txt", carrier.readme(req.variant, targets, commit, data is not None))
    sbom = _filtered_sbom(Layout.lock(out / TOOLKIT_DIR, req.variant, SBOM), wheels)
    if sbom is not None:
        _write_text(out / "sbom.cdx.json", sbom)


def _finish(out: Path, manifest: Manifest, known: dict[str, FileEntry]) -> Manifest:
    """Drop stale files, hash the rest, write MANIFEST.json, then clear the build marker."""
    files: dict[str, FileEntry] = {}
    for rel, path in list_files(out).items():
        if rel == BUILDING_MARKER:
            continue
        if rel not in known and not rel.startswith((TOOLKIT_DIR + "/", DATA_DIR + "/")) \
                and rel not in _CARRIER_FILES:
            path.unlink()  # left by an earlier build of this bundle, no longer needed
            continue
        files[rel] = known.get(rel) or FileEntry(path.stat().st_size, file_sha256(path))
    done = Manifest(**{**manifest.__dict__, "files": files})
    write_atomic(out / MANIFEST, done.to_json().encode("utf-8"))
    (out / BUILDING_MARKER).unlink()
    return done


def make_bundle(req: BundleRequest, progress: Callable[[str], None] | None = None
                ) -> BundleResult:
    """Build (or refresh) the bundle ``req`` describes; returns where it is and its manifest."""
    if not req.targets:
        raise UsageError("no target given", "pass --platform P and --python X.Y")
    out = _bundle_dir(req.out).resolve()
    _check_archive_dest(req.out, out)
    _claim(out)
    version, commit = _toolkit(req.repo, out / TOOLKIT_DIR)
    lock = Layout.lock(out / TOOLKIT_DIR, req.variant)
    _check_targets(lock, req.variant, req.targets)
    wheels = select_wheels(read_pylock(lock.with_name("pylock.toml")).packages, req.targets)
    known = _place_wheels(wheels, WHEELS_DIR, out, req, progress)
    uvs = [uv_wheel(p) for p in sorted({t.platform for t in req.targets})]
    known.update(_place_wheels(uvs, UV_DIR, out, req, progress))
    data = _place_data(req.data, out)
    _carrier_files(out, req, commit, data, wheels)
    manifest = _finish(out, Manifest(
        variant=req.variant, lock=lock.relative_to(out).as_posix(),
        lock_sha256=file_sha256(lock), targets=tuple((t.platform, t.python) for t in
                                                     sorted(set(req.targets))),
        uv={p: f"{UV_DIR}/{w.filename}"
            for p, w in zip(sorted({t.platform for t in req.targets}), uvs, strict=True)},
        toolkit_version=version, toolkit_commit=commit, data=data), known)
    archive = write_archive(out, req.out.resolve()) if archive_kind(req.out) else None
    return BundleResult(out, archive, manifest, tuple(w.filename for w in wheels))

