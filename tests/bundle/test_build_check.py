"""Real bundles from the committed CPU lock (PyPI downloads once, into a persistent verified
cache), their manifests, re-runs, and every bad bundle the checker must refuse."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.markers import Marker

from envs.contract.errors import UsageError
from envs.contract.platforms import PLATFORMS
from envs.contract.pylock import read_pylock
from setup.installer.bundle.archive import write_archive
from setup.installer.bundle.build import BundleRequest, make_bundle
from setup.installer.bundle.check import BundleRefused, check_bundle, open_bundle
from setup.installer.bundle.manifest import BUILDING_MARKER, MANIFEST, SCHEMA, read_manifest
from setup.installer.bundle.select import select_wheels, wheel_fits

from .conftest import LINUX, MNIST, REPO, WHEEL_CACHE, WIN, link_copy, python_for, replace_file

pytestmark = [pytest.mark.slow, pytest.mark.network]  # the first run downloads the wheels


def _cli(*args: str | Path, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installer's real command line (setup/bootstrap.py)."""
    env = {**os.environ, "KERASUP_WHEEL_CACHE": str(WHEEL_CACHE)}
    if home is not None:
        env.update(HOME=str(home), UV_CACHE_DIR=str(home / "uv-cache"))
    return subprocess.run([sys.executable, str(REPO / "setup" / "bootstrap.py"),
                           *map(str, args)], capture_output=True, text=True, env=env,
                          check=False, cwd=REPO)


def _install(bundle: Path, prefix: Path) -> subprocess.CompletedProcess[str]:
    python = python_for("3.12")
    if python is None:
        pytest.skip("needs a CPython 3.12 interpreter")
    home = prefix.with_name(prefix.name + "-home")
    home.mkdir(exist_ok=True)
    return _cli("--from-bundle", bundle, "--prefix", prefix, "--python-exe", python,
                "--no-verify", "--no-kernel", home=home)


def test_linux_bundle_contents(linux_bundle):
    root, manifest = linux_bundle.directory, linux_bundle.manifest
    doc = json.loads((root / MANIFEST).read_text())
    assert doc["schema"] == SCHEMA and doc["variant"] == "cpu"
    assert doc["targets"] == [{"platform": "linux-64", "python": "3.12"}]
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert doc["toolkit"]["commit"] == head
    wheels = select_wheels(read_pylock(REPO / "envs/cpu/pylock.toml").packages, [LINUX])
    assert {f"wheels/{w.filename}" for w in wheels} == {
        rel for rel in manifest.files if rel.startswith("wheels/")}
    for w in wheels:
        assert manifest.files[f"wheels/{w.filename}"].sha256 == w.sha256
    assert list(manifest.uv) == ["linux-64"] and manifest.uv["linux-64"] in manifest.files
    for rel in ("install.sh", "install.ps1", "README.txt", "toolkit/setup/ubuntu.sh",
                "toolkit/envs/cpu/requirements.txt", "mnist/t10k-images-idx3-ubyte.gz"):
        assert rel in manifest.files, rel
    assert os.access(root / "install.sh", os.X_OK)
    assert manifest.data == "mnist" and manifest.lock == "toolkit/envs/cpu/requirements.txt"
    assert not (root / BUILDING_MARKER).exists()
    assert linux_bundle.archive is not None and linux_bundle.archive.stat().st_size > 300e6
    sbom = json.loads((root / "sbom.cdx.json").read_text())
    assert {c["purl"] for c in sbom["components"]} == {
        f"pkg:pypi/{w.name}@{w.version}" for w in wheels}


def test_rerun_reuses_and_writes_the_same_manifest(linux_bundle, tmp_path):
    copy = link_copy(linux_bundle.directory, tmp_path / "again")
    before = (copy / MANIFEST).read_bytes()
    stale = copy / "wheels" / "stale-0-py3-none-any.whl"
    stale.write_bytes(b"left by an older build")
    doc = json.loads(before)  # the older build listed it: it is the builder's own file
    doc["files"]["wheels/" + stale.name] = {
        "size": stale.stat().st_size, "sha256": hashlib.sha256(stale.read_bytes()).hexdigest()}
    replace_file(copy / MANIFEST, json.dumps(doc).encode())
    result = make_bundle(BundleRequest(out=copy, targets=(LINUX,), data=MNIST,
                                       cache=WHEEL_CACHE))
    assert (copy / MANIFEST).read_bytes() == before
    assert not stale.exists()
    assert result.manifest.files == linux_bundle.manifest.files


def test_refuses_a_foreign_directory(tmp_path):
    (tmp_path / "mine.txt").write_text("not a bundle")
    result = _cli("--make-bundle", tmp_path, "--platform", "linux-64", "--python", "3.12")
    assert result.returncode == 2 and "not part of a bundle kerasup made" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_win_bundle_has_a_windows_wheel_for_everything(win_bundle):
    manifest = win_bundle.manifest
    packages = read_pylock(REPO / "envs/cpu/pylock.toml").packages
    env = PLATFORMS["win-64"].marker_environment("3.12")
    needed = {p.name for p in packages if p.marker is None or Marker(p.marker).evaluate(env)}
    carried = {w.name for w in select_wheels(packages, [WIN])
               if f"wheels/{w.filename}" in manifest.files}
    assert needed == carried and "keras" in needed
    assert {"tensorflow", "tensorflow-cpu"} & needed
    for rel in manifest.files:
        if rel.startswith(("wheels/", "uv/")):
            name = rel.split("/", 1)[1]
            assert "win_amd64" in name or name.endswith("-none-any.whl"), name
            assert wheel_fits(name, WIN)
    assert manifest.uv == {"win-64": "uv/uv-0.13.9-py3-none-win_amd64.whl"}
    check_bundle(win_bundle.directory, "win-64", "3.12")


def test_good_bundle_and_archive_pass(linux_bundle, tmp_path):
    assert check_bundle(linux_bundle.directory, "linux-64", "3.12").files
    browsed = link_copy(linux_bundle.directory, tmp_path / "browsed")
    (browsed / ".DS_Store").write_bytes(b"Finder")  # a file manager's litter is no tampering
    (browsed / "wheels" / "Thumbs.db").write_bytes(b"Explorer")
    assert check_bundle(browsed, "linux-64", "3.12").files
    result = _cli("--from-bundle", linux_bundle.archive, "--check", "--prefix",
                  tmp_path / "env")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "env").exists()


def _tamper_wheel(root: Path) -> str:
    rel = next(r for r in sorted(read_manifest(root).files) if r.startswith("wheels/keras-"))
    data = bytearray((root / rel).read_bytes())
    data[len(data) // 2] ^= 0xFF
    replace_file(root / rel, bytes(data))
    return rel


def _delete(root: Path) -> str:
    rel = "toolkit/envs/cpu/requirements.txt"
    (root / rel).unlink()
    return rel


def _extra(root: Path) -> str:
    (root / "wheels" / "evil-1.0-py3-none-any.whl").write_bytes(b"PK")
    return "wheels/evil-1.0-py3-none-any.whl"


def _other_lock(root: Path) -> str:
    doc = json.loads((root / MANIFEST).read_text())
    gpu = REPO / "envs/gpu/requirements.txt"
    import hashlib

    doc["lock"]["sha256"] = hashlib.sha256(gpu.read_bytes()).hexdigest()
    replace_file(root / MANIFEST, json.dumps(doc).encode())
    return "toolkit/envs/cpu/requirements.txt"


def _interrupted(root: Path) -> str:
    (root / BUILDING_MARKER).write_text("build in progress\n")
    return BUILDING_MARKER


@pytest.mark.parametrize("damage", [_tamper_wheel, _delete, _extra, _other_lock, _interrupted])
def test_bad_bundle_is_refused_naming_the_file(linux_bundle, tmp_path, damage):
    root = link_copy(linux_bundle.directory, tmp_path / "bundle")
    rel = damage(root)
    with pytest.raises(BundleRefused) as refused:
        check_bundle(root, "linux-64", "3.12")
    assert refused.value.path == rel and refused.value.code == 2
    prefix = tmp_path / "env"
    result = _install(root, prefix)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and rel in errors[0] and "Traceback" not in result.stderr
    if damage is _tamper_wheel:
        # Wheels are hashed once, by uv against the lock, as they install: the environment
        # was begun, and is left unrecorded (the next run rebuilds it).
        assert not (prefix / "share/kerasup/install.json").exists()
    else:
        assert not prefix.exists()


def test_bundle_for_another_platform_says_which_to_build(win_bundle, tmp_path):
    result = _install(win_bundle.directory, tmp_path / "env")
    assert result.returncode == 2
    assert "--platform linux-64 --python" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "env").exists()


@pytest.mark.parametrize("cut", [0.5, 0.999])
def test_truncated_archive_is_one_line(linux_bundle, tmp_path, cut):
    archive = linux_bundle.archive
    assert archive is not None
    short = tmp_path / archive.name
    with archive.open("rb") as src, short.open("wb") as dst:
        dst.write(src.read(int(archive.stat().st_size * cut)))
    result = _install(short, tmp_path / "env")
    assert result.returncode == 2, result.stderr
    assert "truncated or damaged" in result.stderr or "MANIFEST.json" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "env").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".kerasup-bundle-")]


def test_zip_archive_round_trip_and_truncation(win_bundle, tmp_path):
    archive = write_archive(win_bundle.directory, tmp_path / "kerasup-cpu-win-64.zip")
    assert archive.stat().st_mode & 0o044  # readable by others: it is meant to be shared
    root = open_bundle(archive, tmp_path / "out")
    assert check_bundle(root, "win-64", "3.12").files == win_bundle.manifest.files
    again = write_archive(win_bundle.directory, tmp_path / "again.zip")
    assert again.read_bytes() == archive.read_bytes()  # reproducible
    short = tmp_path / "short.zip"
    short.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(UsageError, match="truncated or damaged"):
        open_bundle(short, tmp_path / "short-out")
