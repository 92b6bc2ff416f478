"""The play's record beside each report (<host>.play.txt, written by the Ansible role): the
machine's own name decides whether a report was made there, and a first verify after install
is left out of the speed comparison."""

from __future__ import annotations

import json
from pathlib import Path

from tests.verify.test_fleet import _report, _write
from verify.fleet.__main__ import main


def _play_record(folder: Path, host: str, node: str, *, started: str = "2026-11-29T03:00:00Z",
                 first: bool = False) -> None:
    """What the role writes beside a fetched report (tasks/verify.yml)."""
    (folder / f"{host}.play.txt").write_text(
        f"host: {host}\nreport_started: {started}\n"
        f"first_after_install: {'yes' if first else 'no'}\nnode: {node}\n")


def test_the_hosts_own_name_as_the_play_read_it_decides(tmp_path: Path) -> None:
    """An inventory alias is fine when the play recorded the machine's own name; a report
    copied from another machine is not ready, naming the machine it was made on."""
    _write(tmp_path, "lab-a", _report("pc01.lab.example"))  # alias lab-a for pc01
    _play_record(tmp_path, "lab-a", "pc01")
    _write(tmp_path, "lab-b", _report("pc01"))  # pc01's report, fetched from pc02
    _play_record(tmp_path, "lab-b", "pc02")
    _write(tmp_path, "pc03", _report("pc03"))  # its record says another name: the record wins
    _play_record(tmp_path, "pc03", "pc04")
    (tmp_path / "pc05.play.txt").write_bytes(b"node: \xff\n")  # unreadable: ignored
    _write(tmp_path, "pc05", _report("pc05"))
    code = main([str(tmp_path), "--json", str(tmp_path / "fleet.json")])
    hosts = {h["host"]: h for h in json.loads((tmp_path / "fleet.json").read_text())["hosts"]}
    assert code == 1
    assert hosts["lab-a"]["state"] == "ready" and hosts["pc05"]["state"] == "ready"
    [why] = hosts["lab-b"]["reasons"]
    assert hosts["lab-b"]["state"] == "invalid" and "made on host 'pc01'" in why
    assert "lab-b is 'pc02'" in why and "fix: run the playbook for lab-b" in why
    assert hosts["pc03"]["state"] == "invalid" and "made on host 'pc03'" in hosts["pc03"][
        "reasons"][0]


def test_a_first_verify_after_install_is_not_a_speed_outlier(tmp_path: Path) -> None:
    for host in ("pc01", "pc02", "pc03"):
        _write(tmp_path, host, _report(host, tf_import_s=4.7))
    _write(tmp_path, "pc04", _report("pc04", tf_import_s=11.2))  # cold caches after install
    _play_record(tmp_path, "pc04", "pc04", first=True)
    _write(tmp_path, "pc05", _report("pc05", tf_import_s=11.2, started="2026-11-29T04:00:00Z"))
    _play_record(tmp_path, "pc05", "pc05", first=True)  # a later report than the first one
    code = main([str(tmp_path), "--json", str(tmp_path / "fleet.json")])
    summary = json.loads((tmp_path / "fleet.json").read_text())
    assert code == 0 and summary["first_runs"] == ["pc04"]
    assert [(o["host"], o["median_s"]) for o in summary["outliers"]] == [("pc05", 4.7)]
