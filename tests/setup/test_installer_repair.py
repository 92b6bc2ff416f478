"""A recorded environment that lost installed files is repaired, not called up to date: setup
runs verify's fast RECORD check in it and reinstalls the damaged distributions."""

from __future__ import annotations

import shutil
from pathlib import Path

from setup_helpers import REPO, toy_plan, toy_repo, toy_setup


def _sync(plan: dict) -> list[str]:
    return next(a["command"] for a in plan["actions"] if a["kind"] == "sync")


def test_a_deleted_installed_file_is_reinstalled(tmp_path: Path) -> None:
    root = toy_repo(tmp_path)
    shutil.copytree(REPO / "verify", root / "verify",
                    ignore=shutil.ignore_patterns("__pycache__"))
    prefix = tmp_path / "env"
    first = toy_setup(root, tmp_path, "--prefix", str(prefix), "--no-kernel")
    assert first.returncode == 0, first.stderr
    assert toy_plan(root, tmp_path, "--prefix", str(prefix), "--no-kernel")["up_to_date"]
    module = next(prefix.glob("lib/python3.*/site-packages/six.py"))
    module.unlink()

    plan = toy_plan(root, tmp_path, "--prefix", str(prefix), "--no-kernel")
    assert plan["up_to_date"] is False and plan["damaged"] == ["six"]
    assert _sync(plan)[-3:-1] == ["--reinstall-package", "six"]
    again = toy_setup(root, tmp_path, "--prefix", str(prefix), "--no-kernel")
    assert again.returncode == 0, again.stderr
    assert module.is_file()
    after = toy_plan(root, tmp_path, "--prefix", str(prefix), "--no-kernel")
    assert after["up_to_date"] is True and after["damaged"] == []
