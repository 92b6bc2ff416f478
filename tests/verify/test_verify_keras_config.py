"""keras.json logic, without Keras: where the file is, what is wrong with it, the repair."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from verify.keras_config import (
    config_path,
    evaluate,
    fixed_config,
    read_config,
    unset_env_command,
    write_fixed,
)

INSTALLED = {"tensorflow", "numpy"}


def _eval(tmp_path: Path, text: str | None, environ: dict[str, str] | None = None):
    path = tmp_path / "keras.json"
    if text is not None:
        path.write_text(text)
    return evaluate(read_config(path), environ or {}, "tensorflow", INSTALLED, "Linux")


def test_path_follows_keras_home_then_home(tmp_path: Path, monkeypatch) -> None:
    assert config_path({"KERAS_HOME": str(tmp_path)}) == tmp_path / "keras.json"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config_path({}) == tmp_path / ".keras" / "keras.json"


def test_no_file_means_keras_defaults(tmp_path: Path) -> None:
    f = _eval(tmp_path, None)
    assert (f.backend, f.backend_source, f.problems, f.fixable) == (
        "tensorflow", "Keras default", [], False)


def test_valid_file_passes(tmp_path: Path) -> None:
    f = _eval(tmp_path, json.dumps({"backend": "tensorflow", "floatx": "float32",
                                    "epsilon": 1e-07, "image_data_format": "channels_last"}))
    assert f.problems == [] and f.backend_source.endswith("keras.json")


def test_malformed_json_fails_although_keras_ignores_it(tmp_path: Path) -> None:
    f = _eval(tmp_path, '{"backend": "tensorflow",}')
    (problem, fix), = f.problems
    assert "not valid JSON (line 1 column" in problem and "silently ignores" in problem
    assert "--fix" in fix and f.fixable


def test_json_list_fails(tmp_path: Path) -> None:
    f = _eval(tmp_path, "[1, 2]")
    assert "not an object" in f.problems[0][0]


@pytest.mark.parametrize("legacy", ["theano", "cntk"])
def test_legacy_backend_fails(tmp_path: Path, legacy: str) -> None:
    f = _eval(tmp_path, json.dumps({"backend": legacy}))
    (problem, fix), = f.problems
    assert f.backend == legacy and "legacy Keras 2 backend" in problem
    assert "import tensorflow" in problem and "--fix" in fix


def test_uninstalled_and_unexpected_backends(tmp_path: Path) -> None:
    assert "not installed" in _eval(tmp_path, '{"backend": "jax"}').problems[0][0]
    f = evaluate(read_config(tmp_path / "keras.json"), {}, "tensorflow",
                 {"tensorflow", "jax"}, "Linux")
    assert "built for 'tensorflow'" in f.problems[0][0]
    assert "not a Keras 3 backend" in _eval(tmp_path, '{"backend": "mxnetz"}').problems[0][0]


@pytest.mark.parametrize(("key", "value"), [("floatx", "float8"), ("epsilon", 0),
                                            ("epsilon", "1e-7"),
                                            ("image_data_format", "channels_middle")])
def test_invalid_settings_fail(tmp_path: Path, key: str, value: object) -> None:
    f = _eval(tmp_path, json.dumps({key: value}))
    assert len(f.problems) == 1 and key in f.problems[0][0] and f.fixable


def test_keras_backend_overrides_the_file(tmp_path: Path) -> None:
    f = _eval(tmp_path, '{"backend": "tensorflow"}', {"KERAS_BACKEND": "torch"})
    assert (f.backend, f.backend_source) == ("torch", "KERAS_BACKEND environment variable")
    (problem, fix), = f.problems
    assert "overrides keras.json" in problem and fix.startswith("unset KERAS_BACKEND")
    assert not f.fixable  # --fix cannot change the user's environment


def test_good_env_over_bad_file_warns(tmp_path: Path) -> None:
    f = _eval(tmp_path, '{"backend": "theano"}', {"KERAS_BACKEND": "tensorflow"})
    assert f.backend == "tensorflow" and f.problems == []
    assert "every shell without that variable breaks" in f.warnings[0][0] and f.fixable


def test_empty_keras_backend_is_ignored_like_keras_does(tmp_path: Path) -> None:
    f = _eval(tmp_path, '{"backend": "tensorflow"}', {"KERAS_BACKEND": ""})
    assert f.backend_source.endswith("keras.json")


def test_unset_command_per_os() -> None:
    assert "Remove-Item Env:KERAS_BACKEND" in unset_env_command("KERAS_BACKEND", "Windows")
    assert unset_env_command("KERAS_BACKEND", "Linux").startswith("unset KERAS_BACKEND")


def test_fixed_config_keeps_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "keras.json"
    path.write_text(json.dumps({"backend": "theano", "floatx": "float64", "epsilon": 1,
                                "image_data_format": "channels_first", "mine": [1]}))
    fixed = fixed_config(read_config(path))
    assert fixed == {"backend": "tensorflow", "floatx": "float64", "epsilon": 1e-07,
                     "image_data_format": "channels_first", "mine": [1]}


def test_write_fixed_backs_up_then_replaces(tmp_path: Path) -> None:
    path = tmp_path / "keras.json"
    original = '{"backend": "theano", "mine": true,}'
    path.write_text(original)
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    backup = write_fixed(read_config(path), now=now)
    assert backup == tmp_path / "keras.json.bak-20260102T030405Z"
    assert backup.read_text() == original
    assert json.loads(path.read_text())["backend"] == "tensorflow"
    second = write_fixed(read_config(path), now=now)  # same second: a new name, no overwrite
    assert second is not None and second != backup and backup.read_text() == original
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
