"""The front end and the pytest plugin, run for real on small check modules of our own."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from verify import SCHEMA_VERSION
from verify.app import main
from verify.checks import CHECK_NAMES, HERE, check_path, describe

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "verify" / "report.schema.json").read_text())


def test_every_check_is_one_module_with_one_test_and_a_docstring() -> None:
    assert sorted(p.stem.removeprefix("check_") for p in HERE.glob("check_*.py")) == \
        sorted(CHECK_NAMES)
    for name in CHECK_NAMES:
        tree = ast.parse(check_path(name).read_text())
        tests = [n.name for n in tree.body
                 if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
        assert tests == [f"test_{name}"], name
        assert describe(name) and len(describe(name)) <= 100


def test_list_prints_names_and_descriptions(capsys) -> None:
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in CHECK_NAMES:
        assert f"{name}  " in out and describe(name) in out


@pytest.mark.parametrize("argv", [["--only", "nonsense"], ["--skip", "gpu,bogus"],
                                  ["--lock", "/no/such/lock.txt"], ["--variant", "tpu"],
                                  ["--frobnicate"], ["--only", ","], ["--only", ",", ","],
                                  ["--skip", ",".join(CHECK_NAMES)]])
def test_usage_errors_exit_2(argv: list[str], capsys) -> None:
    assert main(argv) == 2
    assert "error:" in capsys.readouterr().err


def test_unwritable_json_target_is_a_usage_error(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["--json", str(blocker / "sub" / "r.json")]) == 2
    assert "--json" in capsys.readouterr().err


def test_a_report_that_ran_nothing_is_not_ready() -> None:
    from verify.result import CheckResult, Report

    skipped = [CheckResult(n, "skip", 0.0, "not selected") for n in CHECK_NAMES]
    report = Report(SCHEMA_VERSION, {}, {}, {}, skipped, "", 0.0)
    assert report.ran == 0 and report.ok is False
    report.checks[0] = CheckResult(CHECK_NAMES[0], "pass", 0.0, "fine")
    assert report.ok is True


def test_schema_is_valid_and_versioned() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["schema_version"]["enum"][-1] == SCHEMA_VERSION
    assert SCHEMA["$defs"]["check"]["properties"]["name"]["enum"] == list(CHECK_NAMES)
    readme = (REPO / "verify" / "README.md").read_text()
    for key in [*SCHEMA["required"], *SCHEMA["$defs"]["check"]["required"],
                *SCHEMA["properties"]["machine"]["required"],
                *SCHEMA["properties"]["versions"]["required"], "versions"]:
        assert f"`{key}`" in readme, f"{key} is not documented in verify/README.md"


# Stand-ins for the six checks, each ending a different way, to drive the real plugin.
FAKE_CHECKS = {
    "python_platform": "def test_python_platform(check):\n    check.info('fine', a=1)\n",
    "keras_json": "def test_keras_json(check):\n"
                  "    check.warning('odd', 'do this')\n    check.info('ok')\n",
    "gpu": "def test_gpu(check):\n    raise RuntimeError('boom\\nsecond line')\n",
    "packages": "def test_packages(check):\n    check.problem('p1', 'fix1')\n"
                "    check.problem('p2', 'fix2')\n",
    "mnist": "def test_mnist(check):\n    check.fail('stop', 'fix3')\n"
             "    raise AssertionError('never')\n",
    "model_graph": "import nonexistent_module_xyz\n",
    "jupyter_kernel": "def test_jupyter_kernel(check):\n    check.skip('no kernels here')\n",
}

DRIVER = """
import sys
from pathlib import Path
from verify.app import run_checks
from verify.cli import parse_args
from verify.machine import resolve_context
from verify.render_human import render
from verify.render_json import to_json
opts = parse_args(sys.argv[2:])
report = run_checks(opts, resolve_context("cpu", None, None), checks_dir=Path(sys.argv[1]),
                    junit=opts.junit)
sys.stdout.write(to_json(report))
sys.stderr.write(render(report, verbose=False, color=False))
"""


def _run_fake(tmp_path: Path, *args: str) -> tuple[dict, str]:
    checks = tmp_path / "checks"
    checks.mkdir(exist_ok=True)
    for name, body in FAKE_CHECKS.items():
        (checks / f"check_{name}.py").write_text(textwrap.dedent(body))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(checks), *args], env=env,
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def test_plugin_maps_outcomes_and_a_crash_does_not_stop_the_others(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    report, human = _run_fake(tmp_path, "--junit", str(junit))
    jsonschema.validate(report, SCHEMA)
    status = {c["name"]: c["status"] for c in report["checks"]}
    assert status == {"python_platform": "pass", "keras_json": "warn", "gpu": "error",
                      "packages": "fail", "mnist": "fail", "model_graph": "error",
                      "jupyter_kernel": "skip"}
    by = {c["name"]: c for c in report["checks"]}
    assert by["gpu"]["summary"] == "crashed: RuntimeError: boom"
    assert "Traceback" in by["gpu"]["details"]["traceback"]
    assert by["packages"]["summary"] == "p1 (+1 more)"
    assert by["packages"]["fix"] == "fix1\nfix2"
    assert by["mnist"]["summary"] == "stop" and by["mnist"]["fix"] == "fix3"
    assert by["keras_json"]["fix"] == "do this" and by["python_platform"]["fix"] is None
    assert "nonexistent_module_xyz" in by["model_graph"]["summary"]
    assert report["ok"] is False
    assert report["counts"] == {"pass": 1, "warn": 1, "fail": 2, "error": 2, "skip": 1}
    # The human report: one line per check, the fix under each problem, no traceback.
    assert "Traceback" not in human
    assert "fix: fix1" in human and "- p2" in human
    assert "Not ready" in human
    # JUnit: one testcase per collected check, with our status as a property.
    root = ET.parse(junit).getroot()
    cases = root.iter("testcase")
    props = {c.get("name"): {p.get("name"): p.get("value") for p in c.iter("property")}
             for c in cases}
    assert props["test_keras_json"]["status"] == "warn"
    assert props["test_packages"]["fix"] == "fix1\nfix2"


def test_only_and_skip_report_the_rest_as_skipped(tmp_path: Path) -> None:
    report, human = _run_fake(tmp_path, "--only", "python_platform", "keras-json",
                              "--skip", "keras_json")
    status = {c["name"]: c["status"] for c in report["checks"]}
    assert status["python_platform"] == "pass"
    assert {s for n, s in status.items() if n not in ("python_platform", "model_graph")} == \
        {"skip"}
    assert report["ok"] is False  # the broken model_graph module still fails to load
    # Not-selected checks get no line of their own; the summary line names them.
    assert "SKIP  keras_json" not in human
    assert "not selected: keras_json" in human.strip().splitlines()[-1]


def test_full_on_a_small_set_says_which_bar_applies_and_why() -> None:
    from verify.checks.check_mnist import FULL_THRESHOLD, THRESHOLD, pass_bar

    assert pass_bar(True, True, 60_000) == (FULL_THRESHOLD, "--full on the full MNIST training set")
    bar, why = pass_bar(True, True, 8_000)
    assert bar == THRESHOLD and "8,000" in why and f"{FULL_THRESHOLD:.2f}" in why
    assert pass_bar(True, False, 60_000) == (THRESHOLD, "the data is not MNIST")
    assert pass_bar(False, True, 60_000) == (THRESHOLD, "quick mode")


def test_the_summary_names_what_was_skipped_and_not_selected(tmp_path: Path) -> None:
    _report, human = _run_fake(tmp_path, "--skip", "gpu")
    last = human.strip().splitlines()[-1]
    assert "skipped: jupyter_kernel" in last and "not selected: gpu" in last
    assert last.startswith(f"{len(FAKE_CHECKS) - 2} of {len(FAKE_CHECKS)} checks ran")
