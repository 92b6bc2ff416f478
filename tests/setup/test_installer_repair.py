"""A recorded environment that lost installed files is repaired, not called up to date: setup
runs verify's fast RECORD check in it and reinstalls the damaged distributions."""

from __future__ import annotations

import json
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


def test_verify_report_names_the_damaged_distributions(tmp_path: Path) -> None:
    """A run that verifies reads the lost files from verify's packages check; a report that
    cannot say (missing, not JSON, check skipped) sends setup back to its own scan."""
    from setup.installer.filescan import from_report

    report = tmp_path / "verify-report.json"
    assert from_report(report) is None
    report.write_text("{not json")
    assert from_report(report) is None

    def write(status: str, details: dict) -> None:
        report.write_text(json.dumps({"checks": [
            {"name": "python_platform", "status": "pass", "details": {}},
            {"name": "packages", "status": status, "details": details}]}))

    write("skip", {})
    assert from_report(report) is None
    write("pass", {"files_checked": "existence and size"})
    assert from_report(report) == ()
    write("fail", {"damaged_files": {"six": ["six.py (missing)"], "h5py": ["x (size)"]}})
    assert from_report(report) == ("h5py", "six")
