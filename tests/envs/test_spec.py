"""envs/lock/spec.py: the variants' environment.yml files and one-line errors on bad ones."""

from __future__ import annotations

import pytest

from envs.lock.errors import LockError
from envs.lock.spec import load_spec, read_spec

GOOD = """\
name: t
channels: [conda-forge]
platforms: [linux-64]
dependencies:
  - python=3.12
  - pip
  - pip:
      - numpy>=1.26
"""


def test_committed_specs_hold_what_the_issue_asks():
    cpu, gpu = load_spec("cpu"), load_spec("gpu")
    assert set(cpu.platforms) == {"linux-64", "linux-aarch64", "osx-arm64", "win-64"}
    assert gpu.platforms == ("linux-64",)
    for spec in (cpu, gpu):
        assert spec.channels == ("conda-forge",)
        assert {"python=3.12", "pip", "graphviz"} <= set(spec.conda)
        names = {r.name for r in spec.pip_requirements()}
        assert {"keras", "numpy", "scipy", "pyyaml", "pydot", "matplotlib", "h5py"} <= names
    assert {"tensorflow-cpu", "tensorflow"} <= {r.name for r in cpu.pip_requirements()}
    tf = next(r for r in gpu.pip_requirements() if r.name == "tensorflow")
    assert tf.extras == {"and-cuda"} and tf.specifier.contains("2.21.0")


def _spec_error(tmp_path, text: str, variant: str = "cpu") -> str:
    path = tmp_path / "environment.yml"
    path.write_text(text)
    with pytest.raises(LockError) as info:
        read_spec(path, variant)
    message = str(info.value)
    assert "\n" not in message, message
    return message


def test_good_spec_reads(tmp_path):
    (tmp_path / "environment.yml").write_text(GOOD)
    spec = read_spec(tmp_path / "environment.yml", "cpu")
    assert spec.pip == ("numpy>=1.26",) and spec.conda == ("python=3.12", "pip")


@pytest.mark.parametrize(("text", "expected"), [
    ("name: t\nchannels: [conda-forge\n", "not valid YAML at line"),
    ("- a list\n", "must be a YAML mapping"),
    (GOOD.replace("platforms: [linux-64]", "platforms: []"), "`platforms:` must be"),
    (GOOD.replace("  - python=3.12\n", ""), "must pin python"),
    (GOOD.replace("  - pip\n  - pip:", "  - pip:"), "needs `- pip`"),
    (GOOD.replace("numpy>=1.26", "numpy>=>1.26"), "not valid PEP 508"),
    (GOOD.replace("numpy>=1.26", "-e ."), "not supported"),
    (GOOD.replace("numpy>=1.26", "numpy @ https://example.invalid/n.whl"), "direct URL"),
    (GOOD.replace("  - pip\n", "  - pip\n  - {}\n"), "unexpected dependency entry"),
    (GOOD.replace("  - pip\n", "  - pip\n  - 'numpy >=1 ; bad'\n"), "not a valid match spec"),
    (GOOD.replace("[linux-64]", "[osx-64]"), "no macOS x86_64 wheels after 2.16"),
    (GOOD.replace("[conda-forge]", "[conda-forge, nvidia]"), "must be [conda-forge]"),
    (GOOD.replace("[linux-64]", "[linux-32]"), "unknown platform"),
])
def test_bad_specs_give_one_line_errors(tmp_path, text, expected):
    assert expected in _spec_error(tmp_path, text)


def test_gpu_on_windows_is_refused_with_the_reason(tmp_path):
    message = _spec_error(tmp_path, GOOD.replace("[linux-64]", "[linux-64, win-64]"), "gpu")
    assert "native-Windows GPU" in message and "WSL2" in message


def test_missing_file(tmp_path):
    with pytest.raises(LockError, match="not found"):
        read_spec(tmp_path / "nope.yml", "cpu")
