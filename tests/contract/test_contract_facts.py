"""The contract layer's facts agree with every file that restates them, and it stays stdlib-only."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from envs.contract import facts, lockheader, platforms

REPO = Path(__file__).resolve().parents[2]
LOCKS = sorted((REPO / "envs").glob("*/requirements.txt")) + sorted(
    (REPO / "envs").glob("*/pylock.toml"))
PY310 = Path.home() / ".pyenv" / "versions" / "3.10.13" / "bin" / "python3.10"


def test_pyproject_requires_python_is_exactly_the_supported_pythons() -> None:
    spec = SpecifierSet(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
                        ["requires-python"])
    admitted = [f"3.{minor}" for minor in range(6, 20) if f"3.{minor}.0" in spec]
    assert tuple(admitted) == facts.PYTHONS
    assert facts.DEFAULT_PYTHON in facts.PYTHONS


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_lock_header_covers_known_unrefused_platforms(lock: Path) -> None:
    covered = lockheader.coverage(lock)
    assert covered is not None, f"{lock} has no kerasup header"
    assert covered.pythons == facts.PYTHONS
    variant = lock.parent.name
    assert variant in facts.VARIANTS
    for name in covered.platforms:
        assert name in platforms.PLATFORMS
        assert platforms.refusal(variant, name) is None


def test_every_variant_has_a_spec_and_locks() -> None:
    for name in facts.VARIANTS:
        for file in ("environment.yml", "requirements.txt", "pylock.toml", "conda-lock.yml"):
            assert (REPO / "envs" / name / file).is_file()
        assert facts.variant(name).min_free_gb > facts.variant(name).installed_gb
    with pytest.raises(KeyError):
        facts.variant("tpu")


@pytest.mark.parametrize(("system", "machine", "expected"), [
    ("linux", "x86_64", "linux-64"), ("Linux", "AMD64", "linux-64"),
    ("linux", "aarch64", "linux-aarch64"), ("Linux", "arm64", "linux-aarch64"),
    ("Linux", "ppc64le", "linux-ppc64le"), ("darwin", "arm64", "osx-arm64"),
    ("Darwin", "aarch64", "osx-arm64"), ("Darwin", "x86_64", "osx-64"),
    ("win32", "AMD64", "win-64"), ("Windows", "x86_64", "win-64"),
    ("Windows", "ARM64", "win-arm64"), ("linux", "riscv64", "linux-riscv64"),
])
def test_one_normaliser_for_every_spelling(system: str, machine: str, expected: str) -> None:
    assert platforms.normalise(system, machine) == expected


def test_refusals_carry_reason_and_fix() -> None:
    assert platforms.refusal("cpu", "linux-64") is None
    for variant, name in [("cpu", "osx-64"), ("gpu", "osx-64"), ("cpu", "win-arm64"),
                          ("cpu", "linux-ppc64le"), ("gpu", "win-64"), ("gpu", "osx-arm64"),
                          ("gpu", "linux-aarch64")]:
        found = platforms.refusal(variant, name)
        assert found is not None and found.reason and found.fix, (variant, name)


def test_header_round_trip_and_stop_at_body() -> None:
    text = lockheader.format_header({"pythons": "3.11 3.12", "platforms": "linux-64"})
    text += "numpy==2.0\n# kerasup-platforms: win-64\n"
    fields = lockheader.read_header("# generated\n" + text)
    assert fields == {"pythons": "3.11 3.12", "platforms": "linux-64"}


def test_coverage_of_a_file_without_header(tmp_path: Path) -> None:
    plain = tmp_path / "requirements.txt"
    plain.write_text("numpy==2.0\n")
    assert lockheader.coverage(plain) is None
    binary = tmp_path / "garbage.txt"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert lockheader.coverage(binary) is None
    assert lockheader.coverage(tmp_path / "missing.txt") is None


@pytest.mark.skipif(not PY310.exists(), reason="Python 3.10 (pyenv) not installed")
def test_contract_imports_on_python_310_with_the_standard_library_only() -> None:
    code = (
        "import sys, importlib, pkgutil; sys.path.insert(0, sys.argv[1]);"
        "import envs.contract as c;"
        "[importlib.import_module('envs.contract.' + m.name)"
        " for m in pkgutil.iter_modules(c.__path__)];"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] not in sys.stdlib_module_names"
        " and n.split('.')[0] not in ('envs', '__main__'));"
        "print(','.join(bad))"
    )
    out = subprocess.run([str(PY310), "-I", "-S", "-c", code, str(REPO)], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == ""


def test_contract_imports_nothing_heavy_in_this_interpreter() -> None:
    out = subprocess.run(
        [sys.executable, "-I", "-c",
         "import sys; sys.path.insert(0, sys.argv[1]); import envs.contract.record, "
         "envs.contract.keras_json, envs.contract.flags; print('numpy' in sys.modules, "
         "'packaging' in sys.modules)", str(REPO)],
        capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_the_readme_clones_the_canonical_repository() -> None:
    readme = (REPO / "README.md").read_text()
    assert f"git clone {facts.REPOSITORY_URL}\n" in readme
