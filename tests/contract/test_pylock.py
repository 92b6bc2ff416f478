"""envs.contract.pylock, the one pylock.toml reader: tomllib where Python has it, and on 3.10
(the installer's bare Python) a line reader for uv's shape. Both give the same result on every
committed lock, and the same one-line errors for what they refuse."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from envs.contract import pylock
from envs.contract.errors import LockError
from envs.contract.facts import VARIANTS
from envs.contract.piplock import canonical_name

REPO = Path(__file__).resolve().parents[2]
READERS = {"lines (3.10)": pylock._read_lines, "tomllib": pylock._read_toml}


@pytest.mark.parametrize("variant", VARIANTS)
def test_both_readings_agree_with_tomllib_on_the_committed_locks(variant):
    text = (REPO / "envs" / variant / "pylock.toml").read_text(encoding="utf-8")
    lines, toml = (read(text, "pylock.toml") for read in READERS.values())
    assert lines == toml and pylock.parse_pylock(text).packages == tuple(toml[0])
    doc = tomllib.loads(text)
    packages, environments = toml
    assert environments == tuple(doc["environments"])
    assert [(p.name, p.version, p.marker) for p in packages] == [
        (canonical_name(p["name"]), p["version"], p.get("marker")) for p in doc["packages"]]
    assert [[(w.url, w.size, w.sha256) for w in p.wheels] for p in packages] == [
        [(w["url"], w.get("size"), w["hashes"]["sha256"]) for w in p.get("wheels", [])]
        for p in doc["packages"]]
    assert all(w.filename.endswith(".whl") and "/" not in w.filename
               for p in packages for w in p.wheels)


_SIX = '[[packages]]\nname = "six"\nversion = "1"\n'


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(("text", "why"), [
    ('lock-version = "1.0"\n', "names no packages"),
    ('[[packages]]\nname = "six"\n', "lacks name or version"),
    ('environments = [1]\n' + _SIX, "environments"),
    (_SIX + 'wheels = [{ url = "https://x/six-1-py3-none-any.whl" }]\n', "no url or sha256"),
])
def test_what_both_refuse_is_one_line_with_the_fix(reader, text, why):
    with pytest.raises(LockError) as info:
        packages, _envs = READERS[reader](text, "x/pylock.toml")
        if not packages:
            raise pylock._bad("x/pylock.toml", "it names no packages")
    line = str(info.value)
    assert why in line and "x/pylock.toml is not a valid pylock.toml" in line
    assert "nox -s lock" in line and "\n" not in line


def test_the_line_reader_refuses_other_shapes_and_tomllib_reads_them():
    other = _SIX + '[[packages.wheels]]\nurl = "https://x/six-1-py3-none-any.whl"\n' \
        'hashes = { sha256 = "' + "0" * 64 + '" }\n'
    with pytest.raises(LockError, match="unexpected table"):
        pylock._read_lines(other, "pylock.toml")
    packages, _envs = pylock._read_toml(other, "pylock.toml")
    assert [w.filename for w in packages[0].wheels] == ["six-1-py3-none-any.whl"]
    with pytest.raises(LockError, match="not TOML"):
        pylock.parse_pylock("[[packages]\n")
