"""Variant, lock and GPU expectation: command line > install record > inference."""

from __future__ import annotations

import json
from pathlib import Path

from verify.machine import conda_platform, install_record_path, resolve_context, toolkit_root


def _record(prefix: Path, **fields: object) -> Path:
    path = install_record_path(str(prefix))
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"schema_version": 1, **fields}))
    return path


def test_install_record_gives_variant_lock_and_gpu_expectation(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"
    path = _record(tmp_path, variant="gpu", lock=str(lock), python="3.12",
                   platform="linux-64")
    ctx = resolve_context(None, None, None, prefix=str(tmp_path))
    assert (ctx.variant, ctx.lock, ctx.expect_gpu) == ("gpu", lock, True)
    assert ctx.variant_source == ctx.lock_source == f"install record {path}"
    assert ctx.to_dict()["install_record"] == str(path)


def test_command_line_overrides_the_record(tmp_path: Path) -> None:
    _record(tmp_path, variant="gpu", lock="/x/requirements.txt")
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
    path = install_record_path(str(tmp_path))
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    ctx = resolve_context(None, None, None, prefix=str(tmp_path))
    assert ctx.record is None and ctx.record_error and str(path) in ctx.record_error


def test_conda_platform_names() -> None:
    assert conda_platform("Linux", "x86_64") == "linux-64"
    assert conda_platform("Windows", "AMD64") == "win-64"
    assert conda_platform("Darwin", "arm64") == "osx-arm64"
    assert conda_platform("Linux", "riscv64") == "linux-riscv64"
