"""envs/lock/conda_solve.py: py-rattler solves against local channels and the snapshot."""

from __future__ import annotations

import pytest

from envs.lock.conda_solve import (
    CONDA_FORGE_URL,
    conda_forge_reachable,
    snapshot_channel,
    solve,
)
from envs.lock.conda_solve import local_channel as make_source
from envs.lock.errors import LockError
from envs.lock.platforms import TARGETS
from envs.lock.workflow import choose_conda_source


def test_solves_each_platform_of_a_local_channel(local_channel):
    channel = local_channel
    src = make_source(channel.path)
    for subdir in channel.subdirs:
        solved = solve(["python=3.12", "pip", "hello"], TARGETS[subdir], "cpu", src)
        by_name = {p.name: p for p in solved}
        assert set(by_name) == {"python", "pip", "hello"}
        assert by_name["hello"].subdir == subdir  # the platform's own build, not another's
        assert by_name["pip"].subdir == "noarch"
        # A local channel is named as it is: file URLs that exist.
        assert by_name["hello"].url.startswith("file://")
        assert len(by_name["hello"].md5) == 32


def test_virtual_packages_are_the_targets_not_this_machines(local_channel):
    src = make_source(local_channel.path)
    with pytest.raises(LockError) as info:
        solve(["needs-new-glibc"], TARGETS["linux-64"], "cpu", src)
    message = str(info.value)
    assert "\n" not in message and "linux-64" in message and "needs-new-glibc" in message


@pytest.mark.parametrize(("subdir", "count"), [
    ("linux-64", 104), ("linux-aarch64", 104), ("osx-arm64", 57), ("win-64", 64)])
def test_snapshot_solve_names_conda_forge_urls(conda_forge_snapshot, subdir, count):
    src = snapshot_channel(conda_forge_snapshot)
    solved = solve(["python=3.12", "pip", "graphviz"], TARGETS[subdir], "cpu", src)
    assert len(solved) == count  # the snapshot README's table
    assert all(p.url.startswith(f"{CONDA_FORGE_URL}/{p.subdir}/") for p in solved)
    python = next(p for p in solved if p.name == "python")
    assert python.version.startswith("3.12.")
    assert "snapshot" in src.solved_against and src.lock_channel == "conda-forge"


def test_offline_without_snapshot_is_refused_naming_the_flag(monkeypatch):
    monkeypatch.setenv("KERASUP_OFFLINE", "1")
    monkeypatch.delenv("KERASUP_CONDA_SNAPSHOT", raising=False)
    assert not conda_forge_reachable()
    with pytest.raises(LockError, match="--conda-snapshot DIR"):
        choose_conda_source(None)


def test_snapshot_is_chosen_explicitly_by_env_var(monkeypatch, local_channel):
    monkeypatch.setenv("KERASUP_OFFLINE", "1")
    monkeypatch.setenv("KERASUP_CONDA_SNAPSHOT", str(local_channel.path))
    source = choose_conda_source(None)
    assert source.publish_as == CONDA_FORGE_URL and "snapshot" in source.solved_against


def test_a_directory_that_is_no_channel_is_refused(tmp_path):
    with pytest.raises(LockError, match="not a conda channel"):
        snapshot_channel(tmp_path)
    with pytest.raises(LockError, match="not a conda channel"):
        make_source(tmp_path)
