"""setup/installer/target.py: every platform's paths, quoting, and where dot is found."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from envs.contract import platforms
from envs.contract.errors import UsageError
from setup.installer.target import Target, find_dot, path_with

POSIX = ["linux-64", "linux-aarch64", "osx-arm64"]


def test_current_target_uses_the_contract_normaliser():
    import platform as _platform

    here = Target.current()
    assert here.platform == platforms.normalise(sys.platform, _platform.machine())
    assert here.os == ("win32" if os.name == "nt" else sys.platform)


@pytest.mark.parametrize("name", list(platforms.PLATFORMS))
def test_every_contract_platform_is_a_target(name):
    target = Target.from_platform(name)
    assert target.platform == name
    assert (target.os, target.machine) == (platforms.PLATFORMS[name].os,
                                           platforms.PLATFORMS[name].machine)


def test_unknown_platform_is_a_usage_error():
    with pytest.raises(UsageError) as info:
        Target.from_platform("solaris-sparc")
    assert "linux-64" in info.value.one_line() and info.value.code == 2


@pytest.mark.parametrize("name", POSIX)
def test_posix_paths(name):
    t = Target.from_platform(name)
    assert str(t.venv_python("/envs/k")) == "/envs/k/bin/python"
    assert str(t.conda_python("/envs/k")) == "/envs/k/bin/python"
    assert str(t.site_packages("/envs/k", "3.12")) == "/envs/k/lib/python3.12/site-packages"
    assert [str(d) for d in t.env_bin_dirs("/envs/k", conda=True)] == ["/envs/k/bin"]
    assert t.pathsep == ":" and t.exe_suffix == ""
    assert t.activate_command("/envs/k", method="uv") == "source /envs/k/bin/activate"
    assert isinstance(t.venv_python("/x"), (Path, PurePosixPath))


def test_windows_paths_use_scripts_and_python_exe():
    t = Target.from_platform("win-64")
    assert t.is_windows and t.pathsep == ";" and t.exe_suffix == ".exe"
    assert t.venv_python(r"C:\envs\k") == PureWindowsPath(r"C:\envs\k\Scripts\python.exe")
    # a conda environment keeps python.exe at its top and dot in Library\bin
    assert str(t.conda_python(r"C:\envs\k")) == r"C:\envs\k\python.exe"
    assert [str(d) for d in t.env_bin_dirs(r"C:\envs\k", conda=True)] == [
        r"C:\envs\k", r"C:\envs\k\Library\bin", r"C:\envs\k\Scripts"]
    assert str(t.site_packages(r"C:\envs\k", "3.12")) == r"C:\envs\k\Lib\site-packages"
    assert t.activate_command(r"C:\envs\k", method="uv") == \
        r"& 'C:\envs\k\Scripts\Activate.ps1'"
    assert t.activate_command(r"C:\Bob's envs\k", method="uv") == \
        r"& 'C:\Bob''s envs\k\Scripts\Activate.ps1'"


def test_activate_command_survives_spaces_and_quotes_in_a_real_shell(tmp_path):
    prefix = tmp_path / "my env's $HOME"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "activate").write_text("echo activated\n")
    line = Target.from_platform("linux-64").activate_command(prefix, method="uv")
    assert shlex.split(line) == ["source", str(prefix / "bin" / "activate")]
    out = subprocess.run(["bash", "-c", line], capture_output=True, text=True, check=True)
    assert out.stdout == "activated\n"
    conda = Target.from_platform("linux-64").activate_command(prefix, method="conda")
    assert shlex.split(conda) == ["micromamba", "activate", str(prefix)]


def test_find_dot_windows_program_files(tmp_path):
    bindir = tmp_path / "Program Files" / "Graphviz" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "dot.exe").write_text("")
    environ = {"PATH": "", "ProgramFiles": str(tmp_path / "Program Files")}
    assert find_dot(Target.from_platform("win-64"), environ) == bindir
    (bindir / "dot.exe").unlink()
    (bindir / "dot").write_text("")  # not what Windows runs
    assert find_dot(Target.from_platform("win-64"), environ) is None


def test_find_dot_windows_user_and_choco_installs(tmp_path):
    local = tmp_path / "Local" / "Programs" / "Graphviz" / "bin"
    choco = tmp_path / "choco" / "bin"
    for d in (local, choco):
        d.mkdir(parents=True)
    (choco / "dot.exe").write_text("")
    win = Target.from_platform("win-64")
    environ = {"LOCALAPPDATA": str(tmp_path / "Local"),
               "ChocolateyInstall": str(tmp_path / "choco")}
    assert find_dot(win, environ) == choco
    (local / "dot.exe").write_text("")
    assert find_dot(win, environ) == local


def test_find_dot_prefers_the_conda_environment_library_bin(tmp_path):
    env = tmp_path / "env"
    (env / "Library" / "bin").mkdir(parents=True)
    (env / "Library" / "bin" / "dot.exe").write_text("")
    other = tmp_path / "other"
    other.mkdir()
    (other / "dot.exe").write_text("")
    found = find_dot(Target.from_platform("win-64"), {"PATH": str(other)}, env_prefix=env,
                     conda=True)
    assert found == env / "Library" / "bin"


def test_find_dot_on_path_for_posix(tmp_path):
    (tmp_path / "dot").write_text("")
    assert find_dot(Target.from_platform("linux-64"),
                    {"PATH": f"/nonexistent:{tmp_path}"}) == tmp_path


def test_path_with_windows_separator_and_case():
    win = Target.from_platform("win-64")
    path = r"C:\Windows;c:\program files\graphviz\bin\;C:\Tools"
    assert path_with([r"C:\Program Files\Graphviz\bin"], path, win) == \
        r"C:\Program Files\Graphviz\bin;C:\Windows;C:\Tools"


def test_path_with_posix():
    linux = Target.from_platform("linux-64")
    assert path_with(["/env/bin", "/usr/bin"], "/usr/bin:/bin:/env/bin", linux) == \
        "/env/bin:/usr/bin:/bin"
