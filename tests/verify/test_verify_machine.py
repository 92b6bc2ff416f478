"""Variant, lock and GPU expectation: command line > install record > inference."""

from __future__ import annotations

from pathlib import Path

from envs.contract.layout import Layout
from envs.contract.record import InstallRecord, write
from verify.machine import resolve_context, toolkit_root


def _record(prefix: Path, variant: str, lock: Path) -> Path:
    lock.write_text("six==1.17.0\n")
    rec = InstallRecord.for_lock(variant=variant, python="3.12", platform="linux-64",
                                 lock=lock, method="uv", toolkit_root=toolkit_root())
    return write(prefix, rec)


def test_install_record_gives_variant_lock_and_gpu_expectation(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"
    path = _record(tmp_path, "gpu", lock)
    ctx = resolve_context(None, None, None, prefix=str(tmp_path))
    assert (ctx.variant, ctx.lock, ctx.expect_gpu) == ("gpu", lock.resolve(), True)
    assert ctx.variant_source == ctx.lock_source == f"install record {path}"
    assert ctx.to_dict()["install_record"] == str(path)


def test_command_line_overrides_the_record(tmp_path: Path) -> None:
    _record(tmp_path, "gpu", tmp_path / "requirements.txt")
    other = tmp_path / "mine.txt"
    ctx = resolve_context("cpu", other, None, prefix=str(tmp_path))
    assert (ctx.variant, ctx.variant_source, ctx.lock, ctx.lock_source, ctx.expect_gpu) == (
        "cpu", "--variant", other, "--lock", False)
    assert resolve_context("gpu", None, False, prefix=str(tmp_path)).expect_gpu is False
    assert resolve_context("cpu", None, True, prefix=str(tmp_path)).expect_gpu is True


def test_without_a_record_the_repository_lock_is_used(tmp_path: Path) -> None:
    ctx = resolve_context(None, None, None, prefix=str(tmp_path))
    assert ctx.variant_source.startswith("inferred")
    assert ctx.lock == toolkit_root() / "envs" / ctx.variant / "requirements.txt"


def test_a_broken_record_is_reported_not_fatal(tmp_path: Path) -> None:
    path = Layout(tmp_path).install_record
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    ctx = resolve_context(None, None, None, prefix=str(tmp_path))
    assert ctx.record is None and ctx.record_error and str(path) in ctx.record_error
