"""Lock parsing and comparison, on the real CPU lock and small locks of our own."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from envs.contract.facts import PYTHONS
from verify.locks import (
    LockEntry,
    LockError,
    applicable,
    broken_requirements,
    compare,
    load_lock,
    parse_conda_lock,
    parse_pylock,
    parse_requirements_lock,
)

REPO = Path(__file__).resolve().parents[2]
CPU_LOCK = REPO / "envs" / "cpu" / "requirements.txt"


def _env(system: str, machine: str, python: str) -> dict[str, str]:
    sys_platform = {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}[system]
    return {"sys_platform": sys_platform, "platform_system": system,
            "platform_machine": machine, "python_version": python,
            "python_full_version": f"{python}.1", "implementation_name": "cpython",
            "platform_python_implementation": "CPython", "os_name": "posix"}


def test_real_cpu_lock_picks_one_tensorflow_per_platform() -> None:
    entries = parse_requirements_lock(CPU_LOCK.read_text())
    assert all(e.version for e in entries)
    for system, machine, want in [("Linux", "x86_64", "tensorflow-cpu"),
                                  ("Windows", "AMD64", "tensorflow-cpu"),
                                  ("Linux", "aarch64", "tensorflow"),
                                  ("Darwin", "arm64", "tensorflow")]:
        here, notes = applicable(entries, _env(system, machine, "3.12"))
        tf = {"tensorflow", "tensorflow-cpu"} & here.keys()
        assert tf == {want}, (system, machine)
        assert notes == []
    numpy311 = applicable(entries, _env("Linux", "x86_64", "3.11"))[0]["numpy"].version
    numpy312 = applicable(entries, _env("Linux", "x86_64", "3.12"))[0]["numpy"].version
    assert numpy311 != numpy312  # python_full_version markers are evaluated


def test_requirements_lock_syntax() -> None:
    text = textwrap.dedent("""\
        # a comment
        --index-url https://pypi.org/simple
        Rich==14.0.0 ; python_version >= '3.8' \\
            --hash=sha256:aaaa \\
            --hash=sha256:bbbb
            # via me
        six==1.17.0  # trailing comment
        """)
    assert parse_requirements_lock(text) == [
        LockEntry("rich", "14.0.0", 'python_version >= "3.8"'), LockEntry("six", "1.17.0")]


@pytest.mark.parametrize(("text", "message"), [
    ("rich>=14\n", "not pinned"), ("not a requirement!!\n", "not a requirement"),
    ("# nothing\n", "no pinned requirements")])
def test_bad_requirements_locks(text: str, message: str) -> None:
    with pytest.raises(LockError, match=message):
        parse_requirements_lock(text)


CONDA_LOCK = textwrap.dedent("""\
    version: 1
    metadata:
      platforms: [linux-64, win-64]
    package:
    - {name: python, version: 3.12.7, manager: conda, platform: linux-64}
    - {name: graphviz, version: 12.2.1, manager: conda, platform: linux-64}
    - {name: numpy, version: 2.1.0, manager: conda, platform: linux-64}
    - {name: rich, version: 14.0.0, manager: pip, platform: linux-64}
    - {name: rich, version: 13.0.0, manager: pip, platform: win-64}
    """)


def test_conda_lock_picks_this_platform() -> None:
    entries = parse_conda_lock(CONDA_LOCK, "linux-64")
    assert {(e.name, e.version, e.manager) for e in entries} == {
        ("python", "3.12.7", "conda"), ("graphviz", "12.2.1", "conda"),
        ("numpy", "2.1.0", "conda"), ("rich", "14.0.0", "pip")}
    with pytest.raises(LockError, match="no entries for osx-arm64"):
        parse_conda_lock(CONDA_LOCK, "osx-arm64")


def test_conda_lock_compare_ignores_non_python_conda_packages() -> None:
    locked, _ = applicable(parse_conda_lock(CONDA_LOCK, "linux-64"))
    cmp = compare(locked, {"rich": "15.0.0", "numpy": "2.1.0"}, "conda-lock")
    assert cmp.missing == []  # python and graphviz are not Python distributions here
    assert cmp.mismatched == [("rich", "14.0.0", "15.0.0")] and cmp.matched == 1


def test_pylock() -> None:
    text = textwrap.dedent("""\
        lock-version = "1.0"
        [[packages]]
        name = "Rich"
        version = "14.0.0"
        [[packages]]
        name = "appnope"
        version = "1.0.0"
        marker = "sys_platform == 'darwin'"
        """)
    entries = parse_pylock(text)
    here, _ = applicable(entries, _env("Linux", "x86_64", "3.12"))
    assert set(here) == {"rich"}


def test_load_lock_dispatches_on_name(tmp_path: Path) -> None:
    (tmp_path / "conda-lock.yml").write_text(CONDA_LOCK)
    assert load_lock(tmp_path / "conda-lock.yml", "linux-64")[0] == "conda-lock"
    (tmp_path / "requirements.txt").write_text("rich==14.0.0\n")
    assert load_lock(tmp_path / "requirements.txt", "linux-64")[0] == "requirements"
    with pytest.raises(LockError, match="unreadable"):
        load_lock(tmp_path / "missing.txt", "linux-64")


def test_compare_reports_missing_mismatched_and_relevant_extras() -> None:
    locked = {"rich": LockEntry("rich", "14.0.0"), "six": LockEntry("six", "1.17.0"),
              "numpy": LockEntry("numpy", "2.0")}
    installed = {"rich": "15.0.0", "numpy": "2.0.0", "graphviz": "0.20",
                 "tensorflow": "2.21.0", "pandas": "2.0"}
    cmp = compare(locked, installed)
    assert cmp.missing == [("six", "1.17.0")]
    assert cmp.mismatched == [("rich", "14.0.0", "15.0.0")]
    assert cmp.matched == 1  # 2.0 == 2.0.0
    assert cmp.unexpected == [("graphviz", "0.20"), ("tensorflow", "2.21.0")]  # not pandas
    assert [r["problem"] for r in cmp.rows()] == ["missing", "mismatch", "unexpected",
                                                  "unexpected"]
    # an environment built from the lock alone: everything else was added by hand
    assert compare(locked, installed, every=True).unexpected == [
        ("graphviz", "0.20"), ("pandas", "2.0"), ("tensorflow", "2.21.0")]


def test_broken_requirements_runs_on_this_interpreter() -> None:
    assert isinstance(broken_requirements(), list)


def test_declared_coverage_of_the_real_locks() -> None:
    from verify.locks import lock_coverage

    req = lock_coverage(CPU_LOCK, "linux-64")
    assert req.pythons == list(PYTHONS)
    assert req.platforms == ["linux-64", "linux-aarch64", "osx-arm64", "win-64"]
    gpu_lock = REPO / "envs" / "gpu" / "requirements.txt"
    if gpu_lock.is_file():
        assert lock_coverage(gpu_lock, "linux-64").platforms == ["linux-64"]
    conda = CPU_LOCK.with_name("conda-lock.yml")
    if conda.is_file():
        cov = lock_coverage(conda, "linux-64")
        assert cov.platforms and "linux-64" in cov.platforms
        assert cov.pythons and len(cov.pythons) == 1  # conda's own python package
    pylock = CPU_LOCK.with_name("pylock.toml")
    if pylock.is_file():
        cov = lock_coverage(pylock, "linux-64")
        assert cov.environments and cov.pythons == list(PYTHONS)


@pytest.mark.parametrize("name", ["requirements.txt", "pylock.toml", "mine.lock"])
def test_a_file_without_the_kerasup_header_is_not_a_kerasup_lock(tmp_path: Path,
                                                                 name: str) -> None:
    garbage = tmp_path / name
    garbage.write_bytes(b"\x00\x01 not a lock at all\n")
    from verify.locks import lock_coverage

    with pytest.raises(LockError) as info:
        lock_coverage(garbage, "linux-64")
    assert f"{garbage} is not a kerasup lock" in info.value.message
    assert "kerasup-pythons" in info.value.message and info.value.fix


def test_conda_lock_python_is_compared_with_the_interpreter() -> None:
    locked, _ = applicable(parse_conda_lock(CONDA_LOCK, "linux-64"))
    cmp = compare(locked, {"rich": "14.0.0", "numpy": "2.1.0"}, "conda-lock", "3.11.7")
    assert cmp.mismatched == [("python", "3.12.7", "3.11.7")]
