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

from envs.contract.fileio import file_sha256
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


def test_version_spread_reads_the_schema_2_versions_block(tmp_path: Path) -> None:
    """A v2 report's versions block (Keras, Graphviz...) joins the spread; v1 reports stay
    readable beside it."""
    reports = tmp_path / "reports"
    reports.mkdir()
    _write(reports, "old", _report("old"))
    new = {**_report("new"), "schema_version": 2,
           "versions": {"python": "3.12.1", "tensorflow": "2.21.0", "keras": "3.15.1",
                        "numpy": "2.5.5", "pydot": "4.0.1", "nvidia_driver": None,
                        "graphviz": "dot - graphviz version 2.43.0 (0)"}}
    jsonschema.validate(new, json.loads(SCHEMA_PATH.read_text()))
    without = {k: v for k, v in new.items() if k != "versions"}
    with pytest.raises(jsonschema.ValidationError, match="versions"):
        jsonschema.validate(without, json.loads(SCHEMA_PATH.read_text()))
    _write(reports, "new", new)
    fleet = build_fleet(load_reports(reports))
    assert {h.host: h.state for h in fleet.hosts} == {"old": "ready", "new": "ready"}
    assert fleet.spread["keras"] == {"3.15.1": ["new"]}
    assert fleet.spread["graphviz"] == {"dot - graphviz version 2.43.0 (0)": ["new"]}
    assert fleet.spread["tensorflow"] == {"2.21.0": ["new", "old"]}


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
    assert blocked.returncode == 2 and "Traceback" not in blocked.stderr  # refused up-front
    assert len(blocked.stderr.splitlines()) == 1 and "--html" in blocked.stderr


def test_setup_errors_are_failures_with_cause_and_fix(tmp_path: Path) -> None:
    _write(tmp_path, "pc01", _report("pc01"))
    (tmp_path / "pc02.setup-error.txt").write_text(
        "host: pc02\ntask: Install or update the environment\nerror: kerasup: error: too little "
        "disk: 1.1 GB free at /opt/kerasup/cpu, needs about 3 GB (fix: free space on /opt or "
        "set kerasup_prefix)\n")
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[lab]\npc01\npc02\npc03\n")
    code = main([str(tmp_path), "--inventory", str(inventory), "--json",
                 str(tmp_path / "fleet.json")])
    summary = json.loads((tmp_path / "fleet.json").read_text())
    assert code == 1
    states = {h["host"]: h["state"] for h in summary["hosts"]}
    assert states == {"pc01": "ready", "pc02": "failing", "pc03": "no-report"}
    [group] = summary["failure_groups"]
    assert group["check"] == "setup (Install or update the environment)"
    assert group["cause"] == "too little disk: 1.1 GB free at /opt/kerasup/cpu, needs about 3 GB"
    assert group["fix"] == "free space on /opt or set kerasup_prefix" and group["hosts"] == [
        "pc02"]
    # a second run never reads its own summary as a host called "fleet"
    assert main([str(tmp_path), "--inventory", str(inventory)]) == 1
    again = build_fleet(load_reports(tmp_path))
    assert [h.host for h in again.hosts] == ["pc01"]


def test_a_report_against_pylock_is_judged_by_its_resolved_set(tmp_path: Path) -> None:
    lock = REPO / "envs" / "cpu" / "requirements.txt"
    pylock = REPO / "envs" / "cpu" / "pylock.toml"
    _write(tmp_path, "a", _report("a", lock_sha=file_sha256(lock)))
    _write(tmp_path, "b", _report("b", lock_sha=file_sha256(pylock), drift=True))
    _write(tmp_path, "c", _report("c", lock_sha="c" * 64))
    fleet = build_fleet(load_reports(tmp_path), locks=LockSets(lock))
    assert {h.host: h.state for h in fleet.hosts} == {"a": "ready", "b": "failing",
                                                      "c": "stale"}


def test_untrustworthy_reports_are_invalid_and_say_why(tmp_path: Path) -> None:
    _write(tmp_path, "pc02", _report("pc01"))  # copied from another host
    _write(tmp_path, "pc03", _report("pc03", started="2099-01-01T00:00:00Z"))
    empty = _report("pc04")
    empty["checks"] = [dict(c, status="skip") for c in empty["checks"]]
    _write(tmp_path, "pc04", empty)
    _write(tmp_path, "pc05", _report("pc05.example.edu"))  # the short name matches
    fleet = build_fleet(load_reports(tmp_path))
    why = {h.host: (h.state, " ".join(h.reasons)) for h in fleet.hosts}
    assert why["pc02"][0] == "invalid" and "made on host 'pc01'" in why["pc02"][1]
    assert why["pc03"][0] == "invalid" and "in the future" in why["pc03"][1]
    assert why["pc04"][0] == "invalid" and "no check ran" in why["pc04"][1]
    assert why["pc05"][0] == "ready"


def test_since_applies_to_the_hosts_the_play_ran(tmp_path: Path) -> None:
    _write(tmp_path, "pc01", _report("pc01", started="2026-11-28T00:00:00Z"))
    _write(tmp_path, "pc02", _report("pc02", started="2026-11-29T05:00:00+00:00"))
    code = main([str(tmp_path), "--since", "2026-11-29T04:00:00", "--ran", "pc02"])
    assert code == 0  # pc01 was not in this --limit run; a naive --since is UTC
    assert main([str(tmp_path), "--since", "2026-11-29T04:00:00Z"]) == 1


HOSTILE = {
    "deep": "[" * 100_000 + "]" * 100_000,
    "inf": '{"schema_version": 1, "duration_s": 1e999}',
    "nan": '{"schema_version": NaN}',
    "list": "[1, 2]",
    "latin1": b'{"a": "caf\xe9"}',
    "naive": None,  # a valid report whose start time has no zone
    "ctl": None,  # a failing report whose texts carry terminal escapes and XML-forbidden bytes
}


def test_hostile_reports_are_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = tmp_path / "r"
    reports.mkdir()
    for name, body in HOSTILE.items():
        if isinstance(body, bytes):
            (reports / f"{name}.json").write_bytes(body)
        elif body is not None:
            _write(reports, name, body)
    _write(reports, "naive", _report("naive", started="2026-11-29T05:00:00"))
    ctl = _report("ctl", backend="theano", started="2026-11-29T05:00:00Z")
    ctl["checks"][1]["summary"] = "\x1b[2J\x1b]0;owned\x07bad\x00 <b>&\ud800"
    _write(reports, "ctl", json.dumps(ctl))
    (reports / os.fsdecode(b"caf\xe9.json")).write_bytes(b"{}")
    (reports / "big.json").write_bytes(b" " * (17 << 20))
    out = tmp_path / "o"
    code = main([str(reports), "--since", "2026-11-29T04:00:00Z", "--junit", str(out / "f.xml"),
                 "--json", str(out / "f.json"), "--html", str(out / "f.html")])
    text = capsys.readouterr().out
    assert code == 1
    assert "\x1b" not in text and "\x07" not in text and "\x00" not in text
    ET.parse(out / "f.xml")  # well-formed
    summary = json.loads((out / "f.json").read_text(),
                         parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    states = {h["host"]: (h["state"], h["reasons"]) for h in summary["hosts"]}
    for name in ("deep", "inf", "nan", "list", "latin1", "big", "caf\\xe9"):
        assert states[name][0] == "invalid" and states[name][1][0].startswith("invalid: ")
    assert states["naive"][0] == "ready" and states["ctl"][0] == "failing"


def _ansible_lists(inventory: Path) -> list[str]:
    listed = json.loads(subprocess.run(
        [sys.executable, "-m", "ansible.cli.inventory", "-i", str(inventory), "--list"],
        capture_output=True, text=True, check=True).stdout)
    return sorted({h for name, g in listed.items() if name != "_meta" for h in g.get("hosts", [])})


def test_inventories_give_the_hosts_ansible_gives(tmp_path: Path) -> None:
    ini = tmp_path / "lab.ini"
    ini.write_text("[lab]\nlab[01:05]\npc-[a:c] ansible_host=10.0.0.9\n\n[gpu]\nbig[1:2]\n\n"
                   "[site:children]\nlab\ngpu\n\n[lab:vars]\nkerasup_offline=false\n")
    yml = tmp_path / "lab.yml"
    yml.write_text("all:\n  children:\n    site:\n      children:\n        lab:\n          hosts:\n"
                   "            lab[01:05]:\n            pc-[a:c]:\n              ansible_host: "
                   "10.0.0.9\n        gpu:\n          hosts:\n            big[1:2]:\n")
    from_ini, from_yml = read_inventory(ini), read_inventory(yml)
    assert sorted(from_ini.hosts) == _ansible_lists(ini) == sorted(from_yml.hosts)
    assert "lab03" in from_ini.hosts and "pc-b" in from_ini.hosts and len(from_ini.hosts) == 10
    assert from_yml.addresses["pc-c"] == "10.0.0.9"


@pytest.mark.parametrize("text, says", [
    ("[lab]\nlab[1:100000000]\n", "expands to 100,000,000 hosts"),
    ("all:\n  hosts: [unclosed\n", "ansible-inventory cannot read"),
])
def test_bad_inventories_are_one_line(tmp_path: Path, text: str, says: str) -> None:
    inventory = tmp_path / ("hosts.yml" if text.startswith("all") else "hosts.ini")
    inventory.write_text(text)
    (tmp_path / "r").mkdir()
    run = subprocess.run([sys.executable, "-m", "verify.fleet", str(tmp_path / "r"),
                          "--inventory", str(inventory)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=tmp_path, timeout=120)
    assert run.returncode == 2 and says in run.stderr, run.stderr
    assert len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr


def test_without_ansible_an_inventory_is_refused_naming_it(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[lab]\npc01\n")
    run = subprocess.run([str(bare / "bin" / "python"), "-m", "verify.fleet", str(tmp_path),
                          "--inventory", str(inventory)], capture_output=True, text=True,
                         cwd=REPO / "setup" / "ansible", timeout=120)
    assert run.returncode == 2 and "needs Ansible (ansible-core)" in run.stderr, run.stderr
    assert len(run.stderr.splitlines()) == 1


def test_the_readme_command_runs_from_setup_ansible_twice(tmp_path: Path) -> None:
    """As setup/ansible/README.md runs it: from setup/ansible, the example inventory, --json
    inside the reports folder, twice (the second run must not read the first one's output)."""
    reports = tmp_path / "reports"
    reports.mkdir()
    _write(reports, "lab-gpu01.example.edu", _report("lab-gpu01"))
    command = [sys.executable, "-m", "verify.fleet", str(reports), "--inventory",
               "inventory.example.ini", "--json", str(reports / "fleet.json")]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for _ in range(2):
        run = subprocess.run(command, cwd=REPO / "setup" / "ansible", capture_output=True,
                             text=True, env=env, timeout=120)
        assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
        counts = json.loads((reports / "fleet.json").read_text())["counts"]
        assert counts["ready"] == 1 and counts["no-report"] == 24 and counts["invalid"] == 0
