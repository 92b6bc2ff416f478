"""envs/lock/_files.py: atomic writes."""

from __future__ import annotations

import os

import pytest

from envs.lock._files import write_text_atomic


def test_writes_whole_file_with_ordinary_permissions(tmp_path):
    path = tmp_path / "sub" / "lock.txt"
    write_text_atomic(path, "a\nb\n")
    assert path.read_bytes() == b"a\nb\n"  # LF on every OS
    if os.name == "posix":
        umask = os.umask(0)
        os.umask(umask)
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    write_text_atomic(path, "new\n")
    assert path.read_text() == "new\n"
    assert [p.name for p in path.parent.iterdir()] == ["lock.txt"]


def test_failed_write_keeps_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "lock.txt"
    path.write_text("old\n")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(path, "bad \udcff\n")  # a lone surrogate cannot be encoded
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["lock.txt"]
