"""tests/pristine_run.py's root-filesystem cache: keyed by what made it, made again when old."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests import pristine_run


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(pristine_run, "CACHE", tmp_path)
    monkeypatch.setattr(pristine_run, "apt_mirror", lambda: "http://deb.example/debian")
    return tmp_path


def test_the_key_changes_with_the_packages_the_suite_or_the_mirror(cache, monkeypatch) -> None:
    first = pristine_run.cache_tar("12")
    assert first.parent == cache and first.name.startswith("debian-12-")
    assert pristine_run.cache_tar("13") != first
    monkeypatch.setattr(pristine_run, "INCLUDE", pristine_run.INCLUDE + ",sudo")
    assert pristine_run.cache_tar("12") != first
    monkeypatch.setattr(pristine_run, "apt_mirror", lambda: "http://other.example/debian")
    monkeypatch.setattr(pristine_run, "INCLUDE", pristine_run.INCLUDE.removesuffix(",sudo"))
    assert pristine_run.cache_tar("12") != first


def test_an_old_root_filesystem_is_stale(cache, monkeypatch) -> None:
    tar = pristine_run.cache_tar("12")
    assert not pristine_run.is_fresh(tar)  # none yet: cold
    tar.write_bytes(b"")
    assert pristine_run.is_fresh(tar)
    eight_days_ago = time.time() - 8 * 86400
    os.utime(tar, (eight_days_ago, eight_days_ago))
    assert not pristine_run.is_fresh(tar)
    monkeypatch.setenv(pristine_run.MAX_AGE_ENV, "10")
    assert pristine_run.is_fresh(tar)


def test_a_max_age_that_is_not_a_number_is_one_line(cache, monkeypatch) -> None:
    monkeypatch.setenv(pristine_run.MAX_AGE_ENV, "a week")
    with pytest.raises(SystemExit, match=r"is not a number of days \(fix: "):
        pristine_run.max_age_days()
