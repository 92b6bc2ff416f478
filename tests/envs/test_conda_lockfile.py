"""envs/lock/conda_lockfile.py: conda-lock.yml written through conda-lock's own models, read
back with conda-lock's parser, and installed with py-rattler."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from conda_lock.lockfile import parse_conda_lock_file
from packaging.utils import parse_wheel_filename

from envs.contract.pylock import parse_pylock, read_pylock
from envs.lock.conda_lockfile import pip_entries
from envs.lock.conda_solve import CONDA_FORGE_URL
from envs.lock.conda_solve import local_channel as channel_source
from envs.lock.errors import LockError
from envs.lock.pip_lock import read_requirements
from envs.lock.platforms import TARGETS
from envs.lock.spec import ENVS_DIR, load_spec, read_spec
from envs.lock.workflow import conda_lock_text


def _file_of(url: str) -> Path:
    return Path(unquote(urlsplit(url).path))


@pytest.fixture(scope="module")
def locked_against_local_channel(local_channel, tmp_path_factory):
    """environment.yml (the cpu pip part, tiny conda part) locked for two platforms."""
    pip_part = list(load_spec("cpu").pip)  # the lock step's one environment.yml reader
    env = {"name": "t", "channels": ["conda-forge"],
           "platforms": list(local_channel.subdirs),
           "dependencies": ["python=3.12", "pip", "hello", {"pip": pip_part}]}
    root = tmp_path_factory.mktemp("lockenv")
    (root / "environment.yml").write_text(yaml.safe_dump(env, sort_keys=False))
    spec = read_spec(root / "environment.yml", "cpu")
    text = conda_lock_text(spec, channel_source(local_channel.path),
                           (ENVS_DIR / "cpu" / "pylock.toml").read_text(),
                           (ENVS_DIR / "cpu" / "requirements.txt").read_text())
    path = root / "conda-lock.yml"
    path.write_text(text)
    return path


def test_lock_reads_back_with_conda_locks_parser(locked_against_local_channel, local_channel):
    lock = parse_conda_lock_file(locked_against_local_channel)
    assert sorted(lock.metadata.platforms) == sorted(local_channel.subdirs)
    assert set(lock.metadata.content_hash) == set(local_channel.subdirs)
    assert "local channel" in (lock.metadata.custom_metadata or {})["kerasup_solved_against"]
    for subdir in local_channel.subdirs:
        conda = {p.name: p for p in lock.package if p.platform == subdir and
                 p.manager == "conda"}
        assert set(conda) == {"python", "pip", "hello"}
        assert conda["hello"].url.endswith(f"/{subdir}/hello-1.0-0.conda")
        pip = {p.name for p in lock.package if p.platform == subdir and p.manager == "pip"}
        assert {"keras", "numpy", "h5py"} <= pip
        assert ("tensorflow-cpu" in pip) == (subdir in ("linux-64", "win-64"))


def test_host_part_installs_with_rattler(locked_against_local_channel, tmp_path):
    import rattler

    lock = parse_conda_lock_file(locked_against_local_channel)
    host = str(rattler.Subdir.current())
    entries = [p for p in lock.package if p.platform == host and p.manager == "conda"]
    records = []
    for entry in entries:
        archive = _file_of(entry.url)
        # The lock's hashes are the files' hashes.
        assert hashlib.md5(archive.read_bytes()).hexdigest() == entry.hash.md5
        records.append(asyncio.run(rattler.RepoDataRecord.from_package_archive(archive)))
    prefix = tmp_path / "prefix"
    asyncio.run(rattler.install(records, target_prefix=prefix, cache_dir=tmp_path / "cache",
                                show_progress=False, execute_link_scripts=False))
    assert (prefix / "share" / "hello" / "hello.txt").read_text() == f"hello from {host}\n"
    assert (prefix / "share" / "kerasup-test" / "pip.txt").is_file()
    installed = {p.name.split("-")[0] for p in (prefix / "conda-meta").glob("*.json")}
    assert {"python", "pip", "hello"} <= installed


@pytest.mark.parametrize("variant", ["cpu", "gpu"])
def test_committed_lock_names_every_platform_and_fitting_wheels(variant):
    spec = load_spec(variant)
    lock = parse_conda_lock_file(ENVS_DIR / variant / "conda-lock.yml")
    assert sorted(lock.metadata.platforms) == sorted(spec.platforms)
    custom = lock.metadata.custom_metadata or {}
    assert "conda-forge" in custom["kerasup_solved_against"]
    for subdir in spec.platforms:
        here = [p for p in lock.package if p.platform == subdir]
        conda = [p for p in here if p.manager == "conda"]
        pip = [p for p in here if p.manager == "pip"]
        assert {"python", "pip", "graphviz"} <= {p.name for p in conda}
        assert all(p.url.startswith(f"{CONDA_FORGE_URL}/") and p.hash.md5 for p in conda)
        python = next(p.version for p in conda if p.name == "python")
        accepted = set(TARGETS[subdir].wheel_tags(python))
        assert {"keras", "numpy"} <= {p.name for p in pip}
        for entry in pip:
            tags = parse_wheel_filename(_file_of(entry.url).name)[3]
            assert tags & accepted, f"{entry.url} does not fit CPython {python} on {subdir}"
            assert len(entry.hash.sha256 or "") == 64


def test_no_fitting_wheel_is_a_one_line_error():
    pylock = parse_pylock(
        'lock-version = "1.0"\ncreated-by = "test"\n\n[[packages]]\nname = "winonly"\n'
        'version = "1.0"\nwheels = [{ url = "https://example.invalid/winonly-1.0-cp312-cp312-'
        f'win_amd64.whl", hashes = {{ sha256 = "{"0" * 64}" }} }}]\n')
    with pytest.raises(LockError) as info:
        pip_entries(pylock, {}, TARGETS["linux-64"], "3.12.4")
    assert "\n" not in str(info.value) and "winonly" in str(info.value)


def test_pip_entries_follow_markers_and_the_requirements_graph():
    pylock = read_pylock(ENVS_DIR / "cpu" / "pylock.toml")
    requirements = read_requirements(ENVS_DIR / "cpu" / "requirements.txt")
    mac = {e.name: e for e in pip_entries(pylock, requirements, TARGETS["osx-arm64"], "3.12.4")}
    win = {e.name: e for e in pip_entries(pylock, requirements, TARGETS["win-64"], "3.12.4")}
    assert "tensorflow" in mac and "tensorflow-cpu" not in mac
    assert "tensorflow-cpu" in win and "tensorflow" not in win
    assert "keras" in mac["tensorflow"].dependencies
    assert "macosx" in mac["numpy"].url and mac["numpy"].url.endswith("arm64.whl")
