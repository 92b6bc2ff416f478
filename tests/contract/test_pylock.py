"""envs.contract.pylock, the one pylock.toml reader (stdlib, Python 3.10), held to tomllib
on every committed lock, and the errors it gives for anything uv does not write."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from envs.contract.errors import LockError
from envs.contract.facts import VARIANTS
from envs.contract.piplock import canonical_name
from envs.contract.pylock import parse_pylock, wheel_filename

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("variant", VARIANTS)
def test_reader_agrees_with_tomllib(variant):
    text = (REPO / "envs" / variant / "pylock.toml").read_text(encoding="utf-8")
    ours = parse_pylock(text)
    doc = tomllib.loads(text)
    assert ours.environments == tuple(doc["environments"])
    assert [(p.name, p.version, p.marker) for p in ours.packages] == [
        (canonical_name(p["name"]), p["version"], p.get("marker")) for p in doc["packages"]]
    assert [[(w.url, w.size, w.sha256, w.filename) for w in p.wheels] for p in ours.packages] \
        == [[(w["url"], w.get("size"), w["hashes"]["sha256"], wheel_filename(w["url"]))
             for w in p.get("wheels", [])] for p in doc["packages"]]


@pytest.mark.parametrize(("text", "why"), [
    ('lock-version = "1.0"\n', "names no packages"),
    ('[[packages]]\nname = "six"\n', "lacks name or version"),
    ('[[packages]]\nname = "six"\nversion = "1"\n[packages.tool]\n', "unexpected table"),
    ('[tool]\n[[packages]]\nname = "six"\nversion = "1"\n', "unexpected table"),
    ('environments = [1]\n[[packages]]\nname = "six"\nversion = "1"\n', "environments"),
    ('[[packages]]\nname = "six"\nversion = "1"\nwheels = [{ url = "https://x/six.whl" }]\n',
     "no url or sha256"),
])
def test_anything_else_is_one_line_with_the_fix(text, why):
    with pytest.raises(LockError) as info:
        parse_pylock(text, "x/pylock.toml")
    line = str(info.value)
    assert why in line and "x/pylock.toml is not a valid pylock.toml" in line
    assert "nox -s lock" in line and "\n" not in line
