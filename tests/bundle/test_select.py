"""The stdlib lock reader, marker evaluator and wheel selection, held to the committed locks
and to ``packaging`` (the reference implementation, available in the test tier)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.tags import parse_tag

from envs.contract.facts import PYTHONS, VARIANTS
from envs.contract.piplock import parse_requirements
from envs.contract.platforms import PLATFORMS
from envs.contract.pylock import read_pylock
from setup.installer.bundle.markers import MarkerError, evaluate
from setup.installer.bundle.select import BUNDLE_PLATFORMS, BundleTarget, select_wheels, wheel_fits
from setup.installer.bundle.uvwheel import UV_VERSION, uv_wheel

REPO = Path(__file__).resolve().parents[2]
_PLATFORM_TAG = {"linux-64": "x86_64", "linux-aarch64": "aarch64", "osx-arm64": "macosx",
                 "win-64": "win_amd64"}


@pytest.mark.parametrize("variant", VARIANTS)
def test_pylock_agrees_with_requirements(variant):
    packages = read_pylock(REPO / "envs" / variant / "pylock.toml").packages
    hashes: dict[tuple[str, str], set[str]] = {}
    for req in parse_requirements(
            (REPO / "envs" / variant / "requirements.txt").read_text(encoding="utf-8")):
        hashes.setdefault((req.name, req.version), set()).update(
            h.removeprefix("sha256:") for h in req.hashes)
    assert {(p.name, p.version) for p in packages} == set(hashes)
    for pkg in packages:
        assert pkg.wheels, pkg.name
        for wheel in pkg.wheels:
            assert wheel.sha256 in hashes[(pkg.name, pkg.version)], wheel.filename
            assert wheel.url.startswith("https://") and wheel.filename.endswith(".whl")


@pytest.mark.parametrize("variant", VARIANTS)
def test_markers_match_packaging(variant):
    packages = read_pylock(REPO / "envs" / variant / "pylock.toml").packages
    markers = {p.marker for p in packages if p.marker}
    assert markers
    for platform in BUNDLE_PLATFORMS:
        for python in PYTHONS:
            env = PLATFORMS[platform].marker_environment(python)
            for marker in markers:
                assert evaluate(marker, env) == Marker(marker).evaluate(env), (marker, env)


def test_marker_errors_are_reported():
    env = PLATFORMS["linux-64"].marker_environment("3.12")
    for bad in ("platform_machine ==", "(sys_platform == 'linux'", "nonsense == 'x'",
                "sys_platform @ 'linux'"):
        with pytest.raises(MarkerError):
            evaluate(bad, env)
    assert evaluate(None, env) and evaluate("python_version >= '3.12'", env)


@pytest.mark.parametrize("variant", VARIANTS)
def test_wheel_fits_agrees_with_packaging_tags(variant):
    """Every locked wheel judged fit for a target has a tag that CPython target accepts."""
    packages = read_pylock(REPO / "envs" / variant / "pylock.toml").packages
    for platform in BUNDLE_PLATFORMS:
        for python in PYTHONS:
            target = BundleTarget(platform, python)
            for wheel in (w for p in packages for w in p.wheels):
                if not wheel_fits(wheel.filename, target):
                    continue
                tags = parse_tag("-".join(wheel.filename[:-4].split("-")[-3:]))
                minor = int(python.split(".")[1])
                assert any(t.interpreter in (f"cp3{minor}", "py3", "py2", f"py3{minor}")
                           or (t.abi == "abi3" and int(t.interpreter[3:]) <= minor)
                           for t in tags), (wheel.filename, target)
                assert any(t.platform == "any" or _PLATFORM_TAG[platform] in t.platform
                           for t in tags), (wheel.filename, target)
                assert not any(t.abi.endswith("t") and t.abi.startswith("cp") for t in tags)


@pytest.mark.parametrize("platform", BUNDLE_PLATFORMS)
def test_every_needed_package_has_a_wheel(platform):
    packages = read_pylock(REPO / "envs" / "cpu" / "pylock.toml").packages
    wheels = select_wheels(packages, [BundleTarget(platform, "3.12")])
    names = {w.name for w in wheels}
    assert "keras" in names and ("tensorflow" in names or "tensorflow-cpu" in names)
    for wheel in wheels:
        assert not re.search(r"musllinux|pypy|graalpy|cp313t|ios|emscripten", wheel.filename)
    assert wheels == sorted(wheels, key=lambda w: w.filename)


def test_uv_wheels_are_the_pinned_ones():
    text = (REPO / "setup" / "tools-requirements.txt").read_text(encoding="utf-8")
    assert f"uv=={UV_VERSION}" in text
    pinned = set(re.findall(r"sha256:([0-9a-f]{64})", text))
    for platform in BUNDLE_PLATFORMS:
        wheel = uv_wheel(platform)
        assert wheel.sha256 in pinned, platform
        assert wheel_fits(wheel.filename, BundleTarget(platform, "3.12")), wheel.filename
