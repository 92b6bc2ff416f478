"""Check a bundle against its MANIFEST.json before anything is installed.

Two halves, cheap first. :func:`check_structure` (the planner runs it; it reads only
metadata and the small lock): the manifest reads (and has the sha256 an admin pinned); no
file is missing or extra; the bundle was made for this platform and Python (else: which
bundle to build); the lock the manifest names is the lock in the bundle and, when installing
from a checkout, that checkout's lock. :func:`check_contents` (the install's ``check-bundle``
step): every file has its recorded size, and every file but the wheels its sha256. The
wheels are hashed once, by uv as it installs them, against the lock's hashes (the lock was
just matched), so a bundle install reads each wheel's bytes once. Each refusal is a
UsageError (exit 2) naming one file.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from envs.contract.errors import UsageError
from envs.contract.facts import PYTHONS
from envs.contract.fileio import file_sha256
from setup.installer.bundle.archive import archive_kind, extract
from setup.installer.bundle.manifest import (
    MANIFEST,
    WHEELS_DIR,
    Manifest,
    list_files,
    read_manifest,
)

__all__ = ["BundleRefused", "check_bundle", "check_contents", "check_structure", "check_target",
           "open_bundle"]

_REBUILD = "copy the bundle again from its source, or rebuild it with --make-bundle"


class BundleRefused(UsageError):
    """A bundle that must not be installed; ``path`` is the bundle-relative file at fault."""

    def __init__(self, message: str, fix: str, path: str | None = None) -> None:
        super().__init__(message, fix)
        self.path = path


def open_bundle(path: Path, workdir: Path) -> Path:
    """The bundle directory for ``path``: itself, or an archive extracted into ``workdir``."""
    if path.is_dir():
        return path
    if not path.exists():
        raise UsageError(f"bundle {path} not found", "pass the bundle folder or its archive")
    if archive_kind(path) is None:
        raise UsageError(f"{path} is not a bundle folder, .tar.gz or .zip",
                         "pass the folder made by --make-bundle, or its archive")
    workdir.mkdir(parents=True, exist_ok=True)
    return extract(path, workdir)


def _names(paths: Sequence[str]) -> str:
    more = f" (and {len(paths) - 1} more)" if len(paths) > 1 else ""
    return f"{paths[0]}{more}"


# What file managers leave on a USB stick by just browsing it; never read by the installer.
_OS_LITTER = {".DS_Store", "Thumbs.db", "desktop.ini", ".Spotlight-V100", ".Trashes",
              ".fseventsd", "System Volume Information", "$RECYCLE.BIN"}


def _litter(rel: str) -> bool:
    parts = rel.split("/")
    if _OS_LITTER & set(parts) or "__pycache__" in parts:
        # __pycache__: Python compiles the toolkit as it runs it from the bundle (derived)
        return True
    return parts[-1].startswith("._") and not parts[-1].endswith(".whl")


def _check_listing(bundle: Path, manifest: Manifest) -> None:
    present = {rel: p for rel, p in list_files(bundle).items() if not _litter(rel)}
    missing = sorted(set(manifest.files) - set(present))
    if missing:
        raise BundleRefused(f"bundle {bundle} is missing {_names(missing)}", _REBUILD, missing[0])
    extra = sorted(set(present) - set(manifest.files))
    if extra:
        raise BundleRefused(f"bundle {bundle} has a file its manifest does not list: "
                            f"{_names(extra)}", "remove it, or " + _REBUILD, extra[0])
    odd = sorted(rel for rel, p in present.items() if p.is_symlink() or not p.is_file())
    if odd:
        raise BundleRefused(f"bundle {bundle} has a link or special file: {_names(odd)}",
                            _REBUILD, odd[0])


def _check_references(manifest: Manifest) -> None:
    """The lock, uv wheels and data the manifest points at must be files it lists."""
    refs = [manifest.lock, *manifest.uv.values()]
    dangling = [r for r in refs if r not in manifest.files]
    if manifest.data and not any(f == manifest.data or f.startswith(manifest.data + "/")
                                 for f in manifest.files):
        dangling.append(manifest.data)
    if dangling:
        raise BundleRefused(f"the manifest names {dangling[0]}, which it does not list",
                            _REBUILD, dangling[0])


def check_target(manifest: Manifest, platform: str, python: str) -> None:
    if (platform, python) in manifest.targets:
        return
    if python not in PYTHONS:
        raise BundleRefused(
            f"Python {python} cannot run this environment (bundles are for Python "
            f"{', '.join(PYTHONS)}; this one for {manifest.target_labels()})",
            "install Python " + " or ".join(sorted({py for _, py in manifest.targets}))
            + " from the OS (the bundle's README.txt has the command) and run again")
    raise BundleRefused(
        f"this bundle is for {manifest.target_labels()}, not this machine ({platform} with "
        f"Python {python})",
        f"build one for it: ./setup/ubuntu.sh --make-bundle DIR --variant {manifest.variant} "
        f"--platform {platform} --python {python}")


def _check_lock(bundle: Path, manifest: Manifest, expected_lock: Path | None) -> None:
    lock = bundle / manifest.lock
    actual = file_sha256(lock) if lock.is_file() else "absent"
    if actual != manifest.lock_sha256:
        raise BundleRefused(
            f"the manifest was written for another lock: {manifest.lock} has sha256 {actual}, "
            f"the manifest names {manifest.lock_sha256}", _REBUILD, manifest.lock)
    if expected_lock is not None and file_sha256(expected_lock) != actual:
        raise BundleRefused(
            f"bundle was made from another lock than {expected_lock} (bundle {actual[:12]}, "
            f"this checkout {file_sha256(expected_lock)[:12]})",
            "run the bundle's own install.sh / install.ps1, or rebuild it from this checkout",
            manifest.lock)


@dataclass(frozen=True)
class _Bad:
    rel: str
    why: str


def _verify_one(bundle: Path, rel: str, size: int, sha256: str | None) -> _Bad | None:
    path = bundle / rel
    if path.stat().st_size != size:
        return _Bad(rel, f"has {path.stat().st_size} bytes, the manifest says {size}")
    if sha256 is not None and file_sha256(path) != sha256:
        return _Bad(rel, "was altered (its sha256 differs from the manifest)")
    return None


def _crlf(bundle: Path) -> bool:
    """True when the bundle's install.sh has Windows line endings (a text-mode copy)."""
    try:
        return b"\r\n" in (bundle / "install.sh").read_bytes()[:4096]
    except OSError:
        return False


def check_contents(bundle: Path, manifest: Manifest, *, hash_wheels: bool = True,
                   workers: int = 4) -> None:
    """Every file's size, and its sha256 (the wheels' only when ``hash_wheels``: an install
    leaves them to uv, which hashes each against the lock while it installs it)."""
    # hashlib releases the GIL on large buffers, so threads hash files in parallel.
    items = sorted(manifest.files.items(), key=lambda kv: -kv[1].size)

    def one(rel: str) -> _Bad | None:
        entry = manifest.files[rel]
        skip = not hash_wheels and rel.startswith(WHEELS_DIR + "/") and rel.endswith(".whl")
        return _verify_one(bundle, rel, entry.size, None if skip else entry.sha256)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(one, (rel for rel, _ in items)))
    bad = sorted((r for r in results if r is not None), key=lambda r: r.rel)
    if bad and _crlf(bundle):
        raise BundleRefused(f"bundle {bundle} was copied with Windows line endings (CRLF), "
                            f"which changed its files ({bad[0].rel} first)",
                            "copy it again in binary mode (the .tar.gz or .zip, or cp/rsync)",
                            bad[0].rel)
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise BundleRefused(f"bundle file {bad[0].rel} {bad[0].why}{more}", _REBUILD, bad[0].rel)


def _check_pin(bundle: Path, expect_sha256: str | None) -> None:
    if expect_sha256 is None:
        return
    actual = file_sha256(bundle / MANIFEST)
    if actual.lower() != expect_sha256.strip().lower():
        raise BundleRefused(
            f"bundle {bundle}: {MANIFEST} has sha256 {actual}, not the pinned "
            f"{expect_sha256.strip()}", "use the bundle that was built with this sha256, or "
            "pin the sha256 --make-bundle printed for this one", MANIFEST)


def check_structure(bundle: Path, platform: str, python: str | None,
                    expected_lock: Path | None = None,
                    expect_sha256: str | None = None) -> Manifest:
    """The manifest once the cheap checks pass (no wheel is read): pin, references,
    listing, target (when ``python`` is known) and lock; BundleRefused otherwise."""
    manifest = read_manifest(bundle)
    _check_pin(bundle, expect_sha256)
    _check_references(manifest)
    _check_listing(bundle, manifest)
    if python is not None:
        check_target(manifest, platform, python)
    _check_lock(bundle, manifest, expected_lock)
    return manifest


def check_bundle(bundle: Path, platform: str, python: str, expected_lock: Path | None = None,
                 workers: int = 4) -> Manifest:
    """The whole check, every wheel hashed too (for a bundle that is not being installed);
    the manifest, or BundleRefused (exit 2).

    ``platform`` is the conda platform and ``python`` the minor version ("3.12") the
    environment will have; ``expected_lock`` the checkout's lock when not run from the bundle.
    """
    manifest = check_structure(bundle, platform, python, expected_lock)
    check_contents(bundle, manifest, workers=workers)
    return manifest
