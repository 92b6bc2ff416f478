"""keras.json logic, without Keras: where the file is, what is wrong with it, the repair."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from envs.contract.keras_json import KerasJsonLinkError, read, update
from verify.keras_config import evaluate, import_failure_fix, unset_env_command

INSTALLED = {"tensorflow", "numpy"}


def _eval(tmp_path: Path, text: str | None, environ: dict[str, str] | None = None):
    path = tmp_path / "keras.json"
    if text is not None:
        path.write_text(text)
    return evaluate(read(path), environ or {}, "tensorflow", INSTALLED, "Linux")


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
    f = evaluate(read(tmp_path / "keras.json"), {}, "tensorflow",
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


def _judge(path: Path, environ: dict[str, str] | None = None):
    return evaluate(read(path), environ or {}, "tensorflow", INSTALLED, "Linux")


def test_a_directory_fails_and_fix_moves_it_aside(tmp_path: Path) -> None:
    path = tmp_path / "keras.json"
    (path / "inside").mkdir(parents=True)
    f = _judge(path)
    (problem, fix), = f.problems
    assert "not a regular file" in problem and "--fix" in fix and f.fixable
    done = update(path, "tensorflow")
    assert done.action == "replaced" and done.backup and (done.backup / "inside").is_dir()
    assert path.is_file() and _judge(path).problems == []


def test_a_fifo_fails(tmp_path: Path) -> None:
    path = tmp_path / "keras.json"
    os.mkfifo(path)
    f = _judge(path)
    assert "not a regular file" in f.problems[0][0] and f.fixable


def test_a_symlink_is_judged_by_its_target_and_never_rewritten(tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "keras.json"
    target.parent.mkdir()
    target.write_text('{"backend": "theano"}')
    path = tmp_path / "keras.json"
    path.symlink_to(target)
    f = _judge(path)
    (problem, fix), = f.problems
    assert "legacy Keras 2" in problem and str(target) in fix and "--fix" not in fix.split()[0]
    assert not f.fixable  # --fix would have to write through the link
    with pytest.raises(KerasJsonLinkError) as info:
        update(path, "tensorflow")
    assert "\n" not in info.value.one_line() and info.value.fix
    assert path.is_symlink() and target.read_text() == '{"backend": "theano"}'


def test_a_dangling_symlink_fails(tmp_path: Path) -> None:
    path = tmp_path / "keras.json"
    path.symlink_to(tmp_path / "gone.json")
    f = _judge(path)
    assert "symbolic link" in f.problems[0][0] and not f.fixable


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_says_chmod(tmp_path: Path) -> None:
    path = tmp_path / "keras.json"
    path.write_text('{"backend": "tensorflow"}')
    path.chmod(0)
    try:
        f = _judge(path)
    finally:
        path.chmod(0o600)
    (problem, fix), = f.problems
    assert "unreadable" in problem and fix.startswith("chmod") and not f.fixable


def test_deeply_nested_json_fails_without_crashing(tmp_path: Path) -> None:
    path = tmp_path / "keras.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    f = _judge(path)
    assert "nested too deeply" in f.problems[0][0] and f.fixable
    update(path, "tensorflow")
    assert json.loads(path.read_text())["backend"] == "tensorflow"


def test_a_bom_file_fails_and_the_fix_keeps_its_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "keras.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"backend": "tensorflow", "mine": [1],
                                                     "floatx": "float64"}).encode())
    f = _judge(path)
    assert "byte-order mark" in f.problems[0][0] and f.fixable
    done = update(path, "tensorflow")
    assert done.action == "updated" and done.backup and done.backup.read_bytes()[:3] == \
        b"\xef\xbb\xbf"
    data = json.loads(path.read_bytes())  # no BOM any more
    assert data["mine"] == [1] and data["floatx"] == "float64"
    assert _judge(path).problems == []


def test_import_failure_fix_does_not_point_back_in_a_circle(tmp_path: Path) -> None:
    """A link --fix cannot repair: the fix is the link's own, not "run --fix"."""
    target = tmp_path / "real.json"
    target.write_text('{"backend": "theano"}')
    (tmp_path / "keras.json").symlink_to(target)
    fix = import_failure_fix(ValueError("backend"), {"KERAS_HOME": str(tmp_path)})
    assert str(target) in fix and not fix.startswith("python -m verify")
    (tmp_path / "keras.json").unlink()
    fix = import_failure_fix(ImportError("libfoo.so"), {"KERAS_HOME": str(tmp_path)})
    assert "keras_json" not in fix and "packages" in fix
