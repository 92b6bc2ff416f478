"""envs/lock/pip_lock.py and the committed hashed pip locks (requirements.txt, pylock.toml)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.utils import parse_wheel_filename

from envs.contract.errors import LockError
from envs.contract.facts import PYTHONS, VARIANTS
from envs.contract.lockheader import read_header
from envs.contract.pylock import parse_pylock, read_pylock
from envs.lock.inputs_hash import pip_inputs_hash
from envs.lock.pip_lock import (
    parse_exclude_newer,
    parse_requirements,
    read_requirements,
    resolve,
    uv_bin,
)
from envs.lock.spec import ENVS_DIR, load_spec, read_spec


def _applies(marker, env) -> bool:
    if isinstance(marker, str):  # a lock entry's marker is text; a spec's is parsed
        marker = Marker(marker)
    return marker is None or marker.evaluate(env)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_spec_is_satisfied_by_the_locked_version(variant):
    spec = load_spec(variant)
    locked = read_requirements(ENVS_DIR / variant / "requirements.txt")
    problems = []
    for target in spec.targets:
        for python in PYTHONS:
            env = target.marker_environment(python)
            for req in spec.pip_requirements():
                if not _applies(req.marker, env):
                    continue
                here = [e for e in locked.get(req.name.lower().replace("_", "-"), [])
                        if _applies(e.marker, env)]
                if len(here) != 1 or not req.specifier.contains(here[0].version,
                                                               prereleases=True):
                    problems.append(f"{req} on {target.subdir} py{python}: "
                                    f"{[e.version for e in here]}")
    assert not problems, problems


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_locked_package_has_a_wheel_for_every_target(variant):
    """A lab laptop never builds from source: a wheel per Python x platform, hash locked."""
    spec = load_spec(variant)
    pylock = read_pylock(ENVS_DIR / variant / "pylock.toml")
    requirements = read_requirements(ENVS_DIR / variant / "requirements.txt")
    hashes = {h for entries in requirements.values() for e in entries for h in e.hashes}
    missing = []
    for target in spec.targets:
        for python in PYTHONS:
            env = target.marker_environment(python)
            accepted = set(target.wheel_tags(python))
            for pkg in pylock.packages:
                if not _applies(pkg.marker, env):
                    continue
                fitting = [w for w in pkg.wheels
                           if parse_wheel_filename(w.filename)[3] & accepted]
                if not fitting:
                    missing.append(f"{pkg.name} {pkg.version} on {target.subdir} py{python}")
                assert all(f"sha256:{w.sha256}" in hashes for w in fitting)
    assert not missing, missing


@pytest.mark.parametrize("variant", VARIANTS)
def test_requirements_and_pylock_are_one_resolution(variant):
    pylock = read_pylock(ENVS_DIR / variant / "pylock.toml")
    requirements = read_requirements(ENVS_DIR / variant / "requirements.txt")
    assert {(p.name, str(p.version)) for p in pylock.packages} == {
        (name, e.version) for name, entries in requirements.items() for e in entries}
    for name in ("keras", "numpy", "h5py"):
        assert name in requirements
    # Every requirement is pinned with hashes.
    assert all(e.hashes for entries in requirements.values() for e in entries)
    text = (ENVS_DIR / variant / "requirements.txt").read_text()
    assert "--only-binary :all:" in text.splitlines()
    assert read_header(text)["inputs-sha256"] == pip_inputs_hash(load_spec(variant))


def test_parse_errors_are_one_line():
    with pytest.raises(LockError) as info:
        parse_requirements("numpy>=1\n", "requirements.txt")
    assert "requirements.txt" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(LockError, match=r"not a valid pylock\.toml"):
        parse_pylock("lock-version = 1\n[[packages]]\n", "pylock.toml")
    with pytest.raises(LockError, match="not a date"):
        parse_exclude_newer("last tuesday")
    assert parse_exclude_newer("2026-11-20") == "2026-11-20T00:00:00Z"


def _six_line(lock: Path) -> str:
    """The `six` entry of the CPU lock, without markers: a small, pure-Python wheel."""
    text = lock.read_text()
    match = re.search(r"^six==(\S+) ;[^\n]*\\\n((?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)",
                      text, re.M)
    assert match, "six is no longer in the CPU lock; pick another small package"
    return f"six=={match[1]} \\\n{match[2]}"


@pytest.mark.network
@pytest.mark.one_python  # pip's and uv's refusal of the committed lock's line, not our code
def test_a_tampered_hash_is_refused(tmp_path):
    good = _six_line(ENVS_DIR / "cpu" / "requirements.txt")
    # Flip one hex digit of every hash.
    bad = re.sub(r"sha256:([0-9a-f])", lambda m: "sha256:" + ("1" if m[1] == "0" else "0"),
                 good)
    (tmp_path / "good.txt").write_text(good)
    (tmp_path / "bad.txt").write_text(bad)
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

    def pip_install(lock: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(python), "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check",
             "--require-hashes", "--only-binary", ":all:", "-r", str(tmp_path / lock)],
            capture_output=True, text=True, timeout=300)

    refused = pip_install("bad.txt")
    assert refused.returncode != 0
    assert "DO NOT MATCH THE HASHES" in refused.stdout + refused.stderr
    uv_refused = subprocess.run(
        [uv_bin(), "pip", "install", "--no-cache", "--require-hashes", "--python", str(python),
         "-r", str(tmp_path / "bad.txt")], capture_output=True, text=True, timeout=300,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"})
    assert uv_refused.returncode != 0 and "hash" in uv_refused.stderr.lower()
    # The same line with its real hashes installs: the refusal was the hash, nothing else.
    accepted = pip_install("good.txt")
    assert accepted.returncode == 0, accepted.stderr


@pytest.fixture
def replayed_index(tmp_path):
    """uv's network settings for the recorded index snapshot, replayed on loopback: these
    resolutions cannot change with what the live index serves today."""
    from envs.lock.index_proxy import IndexProxy, serving
    from envs.lock.index_snapshot import IndexSnapshot

    with serving(IndexProxy(IndexSnapshot.load())) as network:
        yield {**network, "UV_CACHE_DIR": str(tmp_path / "uv-cache")}


SNAPSHOT_DATE = "2026-11-27T00:00:00Z"  # envs/index-snapshot/snapshot.json's exclude-newer


def test_resolve_is_reproducible_and_consistent(tmp_path, replayed_index):
    env = tmp_path / "environment.yml"
    env.write_text("name: t\nchannels: [conda-forge]\nplatforms: [linux-64, win-64]\n"
                   "dependencies:\n  - python=3.12\n  - pip\n  - pip:\n"
                   "      - six\n      - \"colorama; sys_platform == 'win32'\"\n")
    spec = read_spec(env, "cpu")
    first = resolve(spec, SNAPSHOT_DATE, network=replayed_index)
    second = resolve(spec, SNAPSHOT_DATE, network=replayed_index)
    assert first == second  # a fixed --exclude-newer reproduces the lock byte for byte
    reqs = parse_requirements(first.requirements_txt, "requirements.txt")
    pylock = parse_pylock(first.pylock_toml, "pylock.toml")
    assert set(reqs) == {"six", "colorama"} == {p.name for p in pylock.packages}
    header = read_header(first.pylock_toml)
    assert header["exclude-newer"] == SNAPSHOT_DATE
    assert header["inputs-sha256"] == pip_inputs_hash(spec)
    assert all(w.url and w.sha256 for p in pylock.packages for w in p.wheels)


def test_unresolvable_spec_is_a_one_line_error(tmp_path, replayed_index):
    env = tmp_path / "environment.yml"
    env.write_text("name: t\nchannels: [conda-forge]\nplatforms: [linux-64]\n"
                   "dependencies:\n  - python=3.12\n  - pip\n  - pip:\n      - six==0.0.1\n")
    with pytest.raises(LockError) as info:
        resolve(read_spec(env, "cpu"), SNAPSHOT_DATE, network=replayed_index)
    assert "\n" not in str(info.value) and "six" in str(info.value)


@pytest.mark.slow
@pytest.mark.lockinstall
def test_cpu_lock_runs_tensorflow_and_keras(cpu_env):
    """The CPU lock for this Python, installed with --require-hashes (the cpu_env fixture)."""
    code = ("import tensorflow as tf, keras; "
            "x = tf.constant([[1.0, 2.0]]); y = tf.matmul(x, tf.transpose(x)); "
            "print(tf.__version__, keras.__version__, float(y[0, 0]))")
    out = cpu_env.run("-c", code, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    tf_version, keras_version, value = out.stdout.split()
    assert tf_version.startswith("2.21.") and keras_version.startswith("3.")
    assert value == "5.0"


def test_host_python_is_a_target():
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in PYTHONS


def test_exclude_newer_defaults_to_the_recorded_date(tmp_path):
    from envs.lock.pip_lock import default_exclude_newer

    recorded = read_header((ENVS_DIR / "cpu" / "requirements.txt").read_text())
    assert default_exclude_newer(ENVS_DIR / "cpu" / "requirements.txt") == \
        recorded["exclude-newer"]
    fresh = default_exclude_newer(tmp_path / "absent.txt")  # no lock yet: now
    assert fresh > recorded["exclude-newer"] and fresh.endswith("Z")
