"""tests/conftest.py: the prebuilt environment handed over in KERASUP_TEST_ENV is checked."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from envs.contract.layout import Layout
from tests.conftest import _prebuilt_env, venv_python_version

HERE = sysconfig.get_python_version()


def fake_env(prefix: Path, version: str = HERE, record: bool = True) -> Path:
    """A prefix shaped like an installed venv (pyvenv.cfg, bin/python, install record)."""
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "python").write_text("")
    (prefix / "pyvenv.cfg").write_text(f"home = /usr/bin\nversion_info = {version}.4\n")
    if record:
        Layout(prefix).install_record.parent.mkdir(parents=True)
        Layout(prefix).install_record.write_text("{}")
    return prefix


def test_an_installer_made_env_for_this_python_is_used_as_is(tmp_path):
    prefix = fake_env(tmp_path / "env")
    assert _prebuilt_env(str(prefix)).prefix == prefix.resolve()


def test_an_env_the_installer_did_not_make_is_refused(tmp_path):
    with pytest.raises(pytest.fail.Exception, match=r"not an environment setup/bootstrap\.py"):
        _prebuilt_env(str(fake_env(tmp_path / "env", record=False)))
    with pytest.raises(pytest.fail.Exception, match=r"not an environment setup/bootstrap\.py"):
        _prebuilt_env(str(tmp_path / "nowhere"))


def test_an_env_for_another_python_is_refused(tmp_path):
    with pytest.raises(pytest.fail.Exception, match=r"holds Python 3\.9"):
        _prebuilt_env(str(fake_env(tmp_path / "env", version="3.9")))


def test_venv_python_version_reads_uv_and_venv_configs(tmp_path):
    (tmp_path / "pyvenv.cfg").write_text("home = /x\nimplementation = CPython\n"
                                         "version = 3.13.2\n")
    assert venv_python_version(tmp_path) == "3.13"
    assert venv_python_version(tmp_path / "missing") is None
