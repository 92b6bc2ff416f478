"""Atomic writes, exclusive backups and keras.json rewriting, on real files, links and mounts."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from envs.contract import fileio, keras_json, record
from envs.contract.errors import ExitCode, KerasupError, UsageError
from envs.contract.flags import env_flag, env_number, offline
from envs.contract.layout import Layout
from tests.realfs import tmpfs


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs (root only), unmounted afterwards."""
    with tmpfs(tmp_path / "mnt") as mnt:
        yield mnt


def test_write_atomic_keeps_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    target.write_text("old")
    target.chmod(0o640)
    fileio.write_atomic(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


@pytest.mark.parametrize("planted", ["existing", "dangling"])
def test_write_atomic_refuses_a_link_never_follows_nor_replaces_it(tmp_path: Path,
                                                                  planted: str) -> None:
    """The one output rule holds in write_atomic itself, for every caller."""
    victim = tmp_path / "victim"
    if planted == "existing":
        victim.write_text("precious")
    link = tmp_path / "out.json"
    link.symlink_to(victim)
    with pytest.raises(fileio.UnsafeTarget, match="symbolic link") as refused:
        fileio.write_atomic(link, "report")
    assert isinstance(refused.value, OSError) and refused.value.filename == str(link)
    assert link.is_symlink() and link.readlink() == victim
    assert victim.read_text() == "precious" if planted == "existing" else not victim.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["out.json", *(["victim"] if planted == "existing" else [])])


def test_write_atomic_writes_to_a_fifo_and_leaves_it_one(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    fileio.write_atomic(fifo, "through")
    reader.join(10)
    assert got == [b"through"] and stat.S_ISFIFO(fifo.lstat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="making device nodes needs root")
def test_write_atomic_writes_to_a_char_device_and_refuses_a_block_device(tmp_path: Path,
                                                                         ) -> None:
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a second /dev/null
    disk = tmp_path / "disk"
    os.mknod(disk, 0o600 | stat.S_IFBLK, os.makedev(240, 0))  # a local-use major: no disk
    fileio.write_atomic(null, "gone")
    with pytest.raises(fileio.UnsafeTarget, match="block device"):
        fileio.write_atomic(disk, "x")
    assert stat.S_ISCHR(null.lstat().st_mode) and stat.S_ISBLK(disk.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disk", "null"]


def test_write_atomic_on_a_full_disk_changes_nothing(tiny_tmpfs: Path) -> None:
    target = tiny_tmpfs / "report.json"
    target.write_text("complete earlier report")
    with pytest.raises(OSError):
        fileio.write_atomic(target, "x" * (256 * 1024))
    assert target.read_text() == "complete earlier report"
    assert [p.name for p in tiny_tmpfs.iterdir()] == ["report.json"]


@pytest.mark.parametrize("planted", ["dangling", "existing"])
def test_backup_never_writes_through_a_planted_link(tmp_path: Path, planted: str) -> None:
    source = tmp_path / "keras.json"
    source.write_text('{"backend": "theano"}')
    source.chmod(0o644)
    victim = tmp_path / "victim"
    if planted == "existing":
        victim.write_text("do not touch")
    stamp = fileio.timestamp()
    (tmp_path / f"keras.json.bak-{stamp}").symlink_to(victim)
    backup = fileio.backup_exclusive(source)
    assert backup.name.startswith(f"keras.json.bak-{stamp}-")
    assert backup.read_text() == '{"backend": "theano"}'
    assert stat.S_IMODE(backup.lstat().st_mode) == 0o644
    assert victim.read_text() == "do not touch" if planted == "existing" else not victim.exists()


def test_backup_refuses_a_link_or_directory_as_source(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("{}")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(OSError):
        fileio.backup_exclusive(tmp_path / "link")
    (tmp_path / "dir").mkdir()
    with pytest.raises(OSError):
        fileio.backup_exclusive(tmp_path / "dir")


def test_move_aside_picks_a_free_name(tmp_path: Path) -> None:
    first = tmp_path / "env"
    first.mkdir()
    (first / "notebook.ipynb").write_text("work")
    moved = fileio.move_aside(first)
    assert (moved / "notebook.ipynb").read_text() == "work" and not first.exists()
    first.mkdir()
    again = fileio.move_aside(first)
    assert again != moved and again.is_dir() and moved.is_dir()


def test_keras_json_location_follows_keras(tmp_path: Path, tiny_tmpfs: Path) -> None:
    assert keras_json.location({"KERAS_HOME": str(tmp_path)}) == tmp_path / "keras.json"
    assert keras_json.location({"KERAS_HOME": ""}) == Path("keras.json")
    assert keras_json.location({"HOME": str(tmp_path)}) == tmp_path / ".keras" / "keras.json"
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_tmpfs)], check=True)
    assert keras_json.location({"HOME": str(tiny_tmpfs)}) == Path("/tmp/.keras/keras.json")


def test_update_keeps_other_keys_mode_and_backs_up(tmp_path: Path) -> None:
    path = tmp_path / "keras.json"
    path.write_text('{"backend": "theano", "mine": 1, "floatx": "float64"}')
    path.chmod(0o644)
    done = keras_json.update(path)
    assert done.action == "updated" and done.backup is not None
    assert json.loads(done.backup.read_text())["backend"] == "theano"
    data = json.loads(path.read_text())
    assert data["backend"] == "tensorflow" and data["mine"] == 1 and data["floatx"] == "float64"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert keras_json.update(path).action == "unchanged"


def test_update_dry_run_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "keras.json"
    assert keras_json.update(path, dry_run=True).action == "created"
    assert not path.exists()


def test_update_moves_a_directory_aside(tmp_path: Path) -> None:
    path = tmp_path / "keras.json"
    path.mkdir()
    (path / "inside").write_text("kept")
    assert keras_json.read(path).error
    done = keras_json.update(path)
    assert done.action == "replaced" and (done.backup / "inside").read_text() == "kept"
    assert json.loads(path.read_text())["backend"] == "tensorflow"


def test_update_refuses_to_write_through_a_link(tmp_path: Path) -> None:
    dotfile = tmp_path / "dotfiles-keras.json"
    dotfile.write_text('{"backend": "jax"}')
    path = tmp_path / "keras.json"
    path.symlink_to(dotfile)
    with pytest.raises(KerasupError) as err:
        keras_json.update(path)
    assert err.value.code == ExitCode.CANNOT_PROCEED and str(dotfile) in err.value.fix
    assert path.is_symlink() and json.loads(dotfile.read_text()) == {"backend": "jax"}
    dotfile.write_text(json.dumps(keras_json.DEFAULTS))
    assert keras_json.update(path).action == "unchanged"


def test_bom_and_deep_nesting_are_errors_not_crashes(tmp_path: Path) -> None:
    bom = tmp_path / "bom.json"
    bom.write_bytes(b'\xef\xbb\xbf{"backend": "theano", "mine": 2}')
    found = keras_json.read(bom)
    assert found.error and found.settings["mine"] == 2
    keras_json.update(bom)
    assert json.loads(bom.read_text())["mine"] == 2
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert "deeply" in (keras_json.read(deep).error or "")
    assert keras_json.update(deep).action == "updated"


def test_install_record_round_trip_matches_its_schema(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text("numpy==2.0\n")
    rec = record.InstallRecord.for_lock(variant="cpu", python="3.12", platform="linux-64",
                                        lock=lock, method="uv", toolkit_root=tmp_path)
    record.write(tmp_path, rec)
    schema = json.loads(record.SCHEMA.read_text())
    jsonschema.validate(json.loads(Layout(tmp_path).install_record.read_text()), schema)
    back, error = record.read(tmp_path)
    assert error is None and back == rec and rec.matches(back)
    assert not rec.matches(record.InstallRecord(**{**rec.__dict__, "python": "3.13"}))


@pytest.mark.parametrize("content", ["{", "[]", '{"schema_version": 1}',
                                     '{"schema_version": 99}'])
def test_bad_install_record_is_reported_not_raised(tmp_path: Path, content: str) -> None:
    Layout(tmp_path).share.mkdir(parents=True)
    Layout(tmp_path).install_record.write_text(content)
    found, error = record.read(tmp_path)
    assert found is None and error and "install.json" in error


def test_flags_parse_one_way() -> None:
    assert offline({"KERASUP_OFFLINE": "TRUE"}) and not offline({"KERASUP_OFFLINE": "0"})
    assert not offline({})
    with pytest.raises(UsageError):
        env_flag({"KERASUP_OFFLINE": "maybe"}, "KERASUP_OFFLINE")
    assert env_number({"N": "2.5"}, "N", 3.0) == 2.5 and env_number({}, "N", 3.0) == 3.0
    for bad in ("nan", "lots", "-1", "inf"):
        with pytest.raises(UsageError) as err:
            env_number({"N": bad}, "N", 3.0)
        assert err.value.fix and err.value.code == ExitCode.USAGE
