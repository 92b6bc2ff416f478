"""The fleet report over real, schema-valid verify reports written by verify's own Report model."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from verify.fleet.__main__ import main
from verify.fleet.aggregate import build_fleet
from verify.fleet.inventory import read_inventory
from verify.fleet.load import SCHEMA_PATH, load_reports
from verify.fleet.locks import LockSets
from verify.result import CheckResult, Report

REPO = Path(__file__).resolve().parents[2]
LOCK_SHA = "a" * 64


def _report(host: str, *, backend: str = "tensorflow", lock_sha: str = LOCK_SHA,
            tf_import_s: float = 9.0, started: str = "2026-11-29T03:00:00Z",
            drift: bool = False) -> dict:
    keras_ok = backend == "tensorflow"
    checks = [
        CheckResult("python_platform", "pass", 0.1, "CPython 3.12.1 on linux-64"),
        CheckResult("keras_json", "pass" if keras_ok else "fail", 0.0,
                    f"backend {backend}" if keras_ok else
                    f"/home/{host}/.keras/keras.json backend is '{backend}', a legacy Keras 2 "
                    "backend",
                    fix=None if keras_ok else f"python -m verify --only keras_json --fix   "
                                              f"(rewrites /home/{host}/.keras/keras.json)"),
        CheckResult("gpu", "pass", tf_import_s, "CPU only, as the variant expects",
                    details={"build": {"tf_version": "2.21.0", "is_cuda_build": False},
                             "driver": {"found": False}}),
        CheckResult("packages", "fail" if drift else "pass", 0.2, "72 of 72 match",
                    details={"table": [{"package": "numpy", "locked": "2.3.5",
                                        "installed": "2.4.0", "problem": "mismatch"}]
                             if drift else []}, fix="setup/ubuntu.sh" if drift else None),
        CheckResult("mnist", "pass", 3.0, "test accuracy 0.95",
                    details={"train_seconds": 2.5}),
        CheckResult("model_graph", "pass", 0.1, "model.png"),
    ]
    machine = {"host": host, "os": "Linux", "os_release": "6", "architecture": "x86_64",
               "conda_platform": "linux-64", "python": "3.12.1",
               "python_implementation": "CPython", "python_executable": "/opt/kerasup/bin/python",
               "prefix": "/opt/kerasup", "variant": "cpu", "variant_source": "install record",
               "lock": "/srv/kerasup/envs/cpu/requirements.txt", "lock_source": "install record",
               "lock_sha256": lock_sha, "expect_gpu": False}
    report = Report(1, {"name": "kerasup-verify", "version": "0.1.0"}, machine, {}, checks,
                    started, 14.0)
    return report.to_dict()


def _write(folder: Path, host: str, data: dict | str) -> None:
    text = data if isinstance(data, str) else json.dumps(data)
    (folder / f"{host}.json").write_text(text)


@pytest.fixture
def lab(tmp_path: Path) -> tuple[Path, Path]:
    reports = tmp_path / "reports"
    reports.mkdir()
    for host in ("lab01", "lab02", "lab03"):
        _write(reports, host, _report(host))
    _write(reports, "lab04", _report("lab04", backend="theano"))
    _write(reports, "lab05", _report("lab05", backend="theano", tf_import_s=30.0))
    _write(reports, "lab06", _report("lab06", lock_sha="b" * 64))
    _write(reports, "lab07", _report("lab07", drift=True))
    _write(reports, "lab08", "{not json")
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("# the lab\n[lab]\nlab0[1:8] ansible_user=student\nlab09\n\n"
                         "[lab:vars]\nkerasup_variant=cpu\n")
    return reports, inventory


def test_generated_reports_match_the_schema() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.validate(_report("x", backend="theano", drift=True), schema)


def test_fleet_groups_causes_and_counts_every_expected_host(lab: tuple[Path, Path]) -> None:
    reports, inventory = lab
    fleet = build_fleet(load_reports(reports), read_inventory(inventory).hosts)
    states = {h.host: h.state for h in fleet.hosts}
    assert states == {"lab01": "ready", "lab02": "ready", "lab03": "ready", "lab04": "failing",
                      "lab05": "failing", "lab06": "stale", "lab07": "failing",
                      "lab08": "invalid", "lab09": "no-report"}
    assert not fleet.ok
    theano = next(g for g in fleet.groups if g.check == "keras_json")
    assert theano.hosts == ["lab04", "lab05"] and "theano" in theano.cause
    # one real host's words, verbatim: a path anyone can paste
    assert theano.fix == ("python -m verify --only keras_json --fix   (rewrites "
                          "/home/lab04/.keras/keras.json)")
    assert theano.cause.startswith("/home/lab04/.keras/keras.json backend is 'theano'")
    assert fleet.drift["numpy"] == {"mismatch: locked 2.3.5, installed 2.4.0": ["lab07"]}
    assert [(o.host, o.metric) for o in fleet.outliers] == [
        ("lab05", "tensorflow import (gpu check)")]
    assert fleet.spread["tensorflow"] == {"2.21.0": sorted(
        ["lab01", "lab02", "lab03", "lab04", "lab05", "lab06", "lab07"])}


def test_cli_writes_every_format_and_exits_non_zero(lab: tuple[Path, Path], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    reports, inventory = lab
    out = tmp_path / "out"
    code = main([str(reports), "--inventory", str(inventory), "--html", str(out / "f.html"),
                 "--junit", str(out / "f.xml"), "--json", str(out / "f.json")])
    assert code == 1
    text = capsys.readouterr().out
    assert "2 hosts — keras_json" in text and "NOT every host is ready" in text
    summary = json.loads((out / "f.json").read_text())
    assert summary["counts"] == {"ready": 3, "failing": 3, "stale": 1, "no-report": 1,
                                 "invalid": 1}
    suites = ET.parse(out / "f.xml").getroot().findall("testsuite")
    assert len(suites) == 9
    lab04 = next(s for s in suites if s.get("name") == "lab04")
    assert lab04.get("tests") == "6" and lab04.get("failures") == "1"
    assert [c.get("name") for c in lab04.findall("testcase")][1] == "keras_json"
    lab09 = next(s for s in suites if s.get("name") == "lab09")
    assert lab09.find("testcase/error") is not None
    page = (out / "f.html").read_text()
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")
    assert "lab09" in page and "theano" in page


def test_all_ready_exits_zero(tmp_path: Path) -> None:
    for host in ("a", "b"):
        _write(tmp_path, host, _report(host))
    assert main([str(tmp_path)]) == 0


def test_reports_older_than_the_run_are_stale(tmp_path: Path) -> None:
    _write(tmp_path, "old", _report("old", started="2026-01-01T00:00:00Z"))
    _write(tmp_path, "new", _report("new", started="2026-11-29T05:00:00Z"))
    fleet = build_fleet(load_reports(tmp_path), since=dt.datetime(2026, 11, 29, 4,
                                                                    tzinfo=dt.UTC))
    assert {h.host: h.state for h in fleet.hosts} == {"new": "ready", "old": "stale"}


def test_a_thousand_mixed_reports_aggregate(tmp_path: Path) -> None:
    for n in range(1000):
        backend = "theano" if n % 10 == 0 else "tensorflow"
        _write(tmp_path, f"h{n:04d}", _report(f"h{n:04d}", backend=backend, drift=n % 25 == 0))
    fleet = build_fleet(load_reports(tmp_path))
    counts = fleet.counts()
    assert sum(counts.values()) == 1000
    assert counts["failing"] == len({n for n in range(1000) if n % 10 == 0 or n % 25 == 0})
    assert len(next(g for g in fleet.groups if g.check == "keras_json").hosts) == 100


def test_yaml_inventory(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n    lab:\n      hosts:\n        pc[1:3]:\n"
                         "        teacher:\n      vars:\n        kerasup_variant: cpu\n")
    assert read_inventory(inventory).hosts == ["pc1", "pc2", "pc3", "teacher"]


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    missing = subprocess.run([sys.executable, "-m", "verify.fleet", str(tmp_path / "nope")],
                             capture_output=True, text=True, env=env, cwd=tmp_path)
    assert missing.returncode == 2 and len(missing.stderr.splitlines()) == 1
    (tmp_path / "r").mkdir()
    _write(tmp_path / "r", "a", _report("a"))
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "f.html").mkdir()  # a directory where the file should go
    blocked = subprocess.run([sys.executable, "-m", "verify.fleet", str(tmp_path / "r"),
                              "--html", str(tmp_path / "ro" / "f.html")],
                             capture_output=True, text=True, env=env, cwd=tmp_path)
    assert blocked.returncode == 3 and "Traceback" not in blocked.stderr
    assert len(blocked.stderr.splitlines()) == 1
