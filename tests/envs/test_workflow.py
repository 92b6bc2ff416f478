"""envs/lock/workflow.py: locking reproduces the committed locks; --check spots staleness."""

from __future__ import annotations

import re

import pytest

from envs.lock.conda_solve import snapshot_channel
from envs.lock.spec import ENVS_DIR, load_spec
from envs.lock.workflow import LOCK_FILES, check_variant, lock_variant


@pytest.mark.parametrize("variant", ["cpu", "gpu"])
def test_committed_locks_are_fresh(variant):
    assert check_variant(load_spec(variant)) == []


def _edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_pip_edit_makes_every_lock_stale(envs_copy):
    _edit(envs_copy / "cpu" / "environment.yml", "- rich\n", "- rich>=13\n")
    problems = check_variant(load_spec("cpu", envs_copy))
    for name in ("requirements.txt", "pylock.toml"):
        assert any(str(envs_copy / "cpu" / name) in p and "stale" in p for p in problems)
    assert all("nox -s lock" in p and "\n" not in p for p in problems)


def test_conda_edit_makes_only_conda_lock_stale(envs_copy):
    _edit(envs_copy / "gpu" / "environment.yml", "- graphviz ", "- graphviz>=12 ")
    problems = check_variant(load_spec("gpu", envs_copy))
    assert len(problems) == 1
    assert str(envs_copy / "gpu" / "conda-lock.yml") in problems[0]
    assert "content_hash differs for linux-64" in problems[0]


def test_platform_edit_is_caught(envs_copy):
    _edit(envs_copy / "cpu" / "environment.yml", "  - win-64\n", "")
    problems = check_variant(load_spec("cpu", envs_copy))
    assert any("conda-lock.yml covers" in p for p in problems)


def test_tampered_pip_entry_and_missing_file_are_caught(envs_copy):
    lock = envs_copy / "gpu" / "conda-lock.yml"
    text = lock.read_text()
    sha = re.search(r"manager: pip\n(?:.*\n)*?\s+sha256: ([0-9a-f]{64})", text)[1]
    lock.write_text(text.replace(sha, "ab" * 32, 1))
    assert any("not in pylock.toml" in p for p in check_variant(load_spec("gpu", envs_copy)))
    lock.unlink()
    assert any("conda-lock.yml is missing" in p
               for p in check_variant(load_spec("gpu", envs_copy)))


@pytest.mark.parametrize("variant", ["cpu", "gpu"])
def test_conda_only_relock_reproduces_the_committed_file(envs_copy, conda_forge_snapshot,
                                                         variant):
    """Offline: the snapshot solve plus the committed pip locks give the committed lock."""
    spec = load_spec(variant, envs_copy)
    lock_variant(spec, snapshot_channel(conda_forge_snapshot), conda_only=True)
    for name in LOCK_FILES:
        assert (envs_copy / variant / name).read_bytes() == \
            (ENVS_DIR / variant / name).read_bytes(), name


# The full relock (uv's resolver against the recorded index snapshot, offline) is
# tests/envs/test_reproduce.py: re-resolving against the live index would make this suite
# depend on what the registry serves today.
