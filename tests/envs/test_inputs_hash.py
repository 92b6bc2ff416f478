"""envs/lock/inputs_hash.py: what counts as a change of a lock's inputs."""

from __future__ import annotations

from envs.contract.lockheader import read_header
from envs.lock.inputs_hash import (
    conda_content_hashes,
    pip_inputs_hash,
    read_lock_header,
    render_header,
)
from envs.lock.spec import ENVS_DIR, read_spec


def _spec(tmp_path, text: str, name: str = "a"):
    path = tmp_path / name / "environment.yml"
    path.parent.mkdir()
    path.write_text(text)
    return read_spec(path, "cpu")


def test_pip_hash_ignores_formatting_but_not_content(tmp_path):
    base = (ENVS_DIR / "cpu" / "environment.yml").read_text()
    same = base.replace("keras>=3.10,<4", "keras >= 3.10, < 4").replace("# used by", "# for")
    bumped = base.replace("keras>=3.10,<4", "keras>=3.11,<4")
    one, two, three = (_spec(tmp_path, t, n) for t, n in ((base, "a"), (same, "b"),
                                                          (bumped, "c")))
    assert pip_inputs_hash(one) == pip_inputs_hash(two)
    assert pip_inputs_hash(one) != pip_inputs_hash(three)


def test_conda_content_hash_is_per_platform_and_tracks_the_spec(tmp_path):
    base = (ENVS_DIR / "cpu" / "environment.yml").read_text()
    one = conda_content_hashes(_spec(tmp_path, base, "a"))
    two = conda_content_hashes(_spec(tmp_path, base.replace("- graphviz", "- graphviz>=12"),
                                     "b"))
    assert set(one) == {"linux-64", "linux-aarch64", "osx-arm64", "win-64"}
    assert len(set(one.values())) == 4  # virtual packages differ per platform
    assert all(one[p] != two[p] for p in one)
    # The pip part is an input of conda-lock.yml too.
    three = conda_content_hashes(_spec(tmp_path, base.replace("- rich", "- rich>=13"), "c"))
    assert all(one[p] != three[p] for p in one)


def test_header_round_trip(tmp_path):
    text = render_header("cpu", {"inputs-sha256": "ab" * 32, "exclude-newer": "2026-01-01"})
    path = tmp_path / "requirements.txt"
    path.write_text(text + "six==1.0\n# kerasup-inputs-sha256: not-a-header\n")
    assert read_lock_header(path) == {"inputs-sha256": "ab" * 32,
                                      "exclude-newer": "2026-01-01"}
    assert read_header("six==1.0\n") == {}
