"""benchmarks/: the pair statistics on real child processes, the figures schema, the
comparison of two real reports and bad input. No timed assertions: only orderings that hold
by construction (a child that sleeps longer than another's whole run, one that allocates
hundreds of MiB more)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import report as report_mod
from benchmarks.compare import caveats, compare
from benchmarks.figures import TARGETS, collect
from benchmarks.pairs import Command, run_child, run_pairs, spread
from benchmarks.report import SCHEMA_VERSION, figure, load_json
from benchmarks.testrecord import junit_counts, read_records, write_record

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks" / "bench.py"
PY = sys.executable
# B sleeps 0.6 s; A allocates 300 MiB and touches it. Wall: A/B < 1; memory: A/B > 1.
ALLOC = Command("alloc", [PY, "-c", "b = bytearray(300 * 1024 * 1024); b[::4096] = b'x' * "
                                    "len(b[::4096])"])
SLEEP = Command("sleep", [PY, "-c", "import time; time.sleep(0.6)"])


def from_a_small_parent(expr: str):
    """``expr`` (over this module's names) evaluated in a fresh interpreter. A child's
    ru_maxrss counts the address space it was forked with (Linux keeps the old one's peak at
    exec), so peak memory is measured from a small parent, as `nox -s bench` measures it:
    this pytest worker may hold TensorFlow from an earlier test (1.1 GiB, seen in CI)."""
    code = ("import pickle, sys; from tests.benchmarks.test_bench_figures import *; "
            f"sys.stdout.buffer.write(pickle.dumps({expr}))")
    done = subprocess.run([PY, "-c", code], cwd=REPO, capture_output=True, check=True)
    return pickle.loads(done.stdout)


def test_a_child_reports_its_peak_memory_and_exit_status():
    big, small = from_a_small_parent("(run_child(ALLOC), run_child(SLEEP))")
    assert big.returncode == 0 and small.returncode == 0
    assert big.maxrss_kib > 300 * 1024 > small.maxrss_kib  # KiB, the child's own peak
    assert small.wall_s >= 0.6
    failed = run_child(Command("fail", [PY, "-c", "import sys; sys.exit('boom')"]))
    assert failed.returncode == 1 and "boom" in failed.tail


def test_a_child_past_its_timeout_is_killed():
    run = run_child(Command("hang", [PY, "-c", "import time; time.sleep(60)"], timeout=0.5))
    assert run.returncode == -9 and run.wall_s < 60


def test_pairs_alternate_and_ratios_are_medians_of_per_pair_ratios():
    result = from_a_small_parent("run_pairs(ALLOC, SLEEP, pairs=3, warmup=1)")
    assert len(result.a) == len(result.b) == 3 and not result.failed
    ratios = sorted(x.wall_s / y.wall_s for x, y in zip(result.a, result.b, strict=True))
    assert result.ratio("wall_s") == ratios[1]
    assert result.ratio("maxrss_kib") > 1  # A holds 300 MiB more than B in every pair
    summary = result.summary("alloc", "sleep")
    assert summary["pairs"] == 3 and summary["warmup_pairs"] == 1
    assert summary["sleep"]["wall_s"]["min"] >= 0.6
    assert summary["alloc"]["peak_rss_mib"]["median"] > 300
    assert summary["rss_ratio_median"] == round(result.ratio("maxrss_kib"), 3)


def test_a_failing_child_stops_the_pairs_and_is_named():
    bad = Command("bad", [PY, "-c", "raise SystemExit(3)"])
    result = run_pairs(bad, SLEEP, pairs=5, warmup=1)
    assert len(result.a) == 1 and result.failed.startswith("exit 3")


def test_spread_and_bad_pair_counts():
    assert spread([3.0, 1.0, 2.0]) == {"min": 1.0, "median": 2.0, "max": 3.0}
    with pytest.raises(ValueError):
        run_pairs(SLEEP, SLEEP, pairs=0)


def test_figure_status_follows_target_and_direction():
    assert figure(1.2, "x", "lower", target=1.3)["status"] == "ok"
    assert figure(1.31, "x", "lower", target=1.3)["status"] == "missed"
    assert figure(0.39, "x", "higher", target=0.40)["status"] == "missed"
    assert figure(None, "s", "lower")["status"] == "unavailable"
    assert figure(None, "s", "lower", failed=True)["status"] == "failed"
    with pytest.raises(ValueError):
        figure(1.0, "s", "sideways")


def _spread(median: float) -> dict[str, float]:
    return {"min": median - 1, "median": median, "max": median + 1}


def test_figures_from_sections_carry_the_targets():
    sections = {
        "verify": {"status": "ok", "verify": {"wall_s": _spread(13.0),
                                              "peak_rss_mib": _spread(700.0)},
                   "bare_import": {"wall_s": _spread(10.0), "peak_rss_mib": _spread(500.0)},
                   "wall_ratio_median": 1.31, "rss_ratio_median": 1.39},
        "smoke": {"status": "failed", "reason": "no data"},
        "matmul": {"status": "skipped"},
    }
    figures = collect(sections)
    wall = figures["verify_over_import_wall"]
    assert wall == {"value": 1.31, "unit": "x", "better": "lower", "target": 1.3,
                    "status": "missed"}
    assert figures["verify_over_import_peak_rss"]["status"] == "ok"
    assert figures["verify_wall_s"] == {"value": 13.0, "unit": "s", "better": "lower",
                                        "status": "ok", "min": 12.0, "max": 14.0}
    assert figures["smoke_fraction_of_floor"]["status"] == "failed"
    assert "no data" in figures["smoke_fraction_of_floor"]["reason"]
    assert figures["smoke_fraction_of_floor"]["target"] == TARGETS["smoke_fraction_of_floor"][1]
    assert not any(name.startswith("matmul") for name in figures)  # skipped: no figures


def test_test_records_round_trip_through_junit(tmp_path):
    junit = tmp_path / "3.12.xml"
    junit.write_text('<testsuites><testsuite tests="7" failures="0" errors="0" skipped="2"/>'
                     "</testsuites>")
    assert junit_counts(junit) == {"tests": 7, "failures": 0, "errors": 0, "skipped": 2}
    write_record(tmp_path, "3.12", wall_s=61.26, exit_ok=True, junit=junit, command="pytest")
    section = read_records(("3.12", "3.13"), tmp_path)
    ok, absent = section["figures"]["tests_3.12_wall_s"], section["figures"]["tests_3.13_wall_s"]
    assert section["status"] == "ok"
    assert ok["value"] == 61.3 and ok["status"] == "ok" and ok["counts"]["tests"] == 7
    assert ok["whole_suite"] is True and ok["date"].endswith("Z")
    assert absent["status"] == "unavailable" and "nox -s tests-3.13" in absent["reason"]
    write_record(tmp_path, "3.13", wall_s=5, exit_ok=False, junit=tmp_path / "none.xml",
                 command="pytest")
    assert read_records(("3.13",), tmp_path)["figures"]["tests_3.13_wall_s"]["status"] == \
        "failed"


def _report(path: Path, **values: float) -> Path:
    figures = {"verify_wall_s": figure(values["wall"], "s", "lower"),
               "smoke_samples_per_s": figure(values["smoke"], "samples/s", "higher"),
               **({"only_here": figure(1.0, "s", "lower")} if values.get("extra") else {})}
    report_mod.write_json(path, {"schema_version": SCHEMA_VERSION, "created": "now",
                                 "machine": {"cpu": "test"}, "figures": figures})
    return path


def test_compare_marks_regressions_by_direction(tmp_path):
    base = load_json(_report(tmp_path / "base.json", wall=10.0, smoke=1000.0))
    cur = load_json(_report(tmp_path / "cur.json", wall=12.0, smoke=1200.0, extra=1))
    rows = {r["figure"]: r for r in compare(cur, base, 0.10)}
    assert rows["verify_wall_s"]["ratio"] == 1.2
    assert rows["verify_wall_s"]["verdict"] == "REGRESSED"  # lower is better: 20% slower
    assert rows["smoke_samples_per_s"]["verdict"] == "better"  # higher is better
    assert rows["only_here"]["verdict"] == "not in the baseline"
    assert caveats(cur, base) == []
    assert "bytecode was not cached in this run but cached" in caveats(
        {**cur, "bytecode": {"tensorflow_bytecode_cached": False}},
        {**base, "bytecode": {"tensorflow_bytecode_cached": True}})[0]


def test_compare_two_files_standalone(tmp_path):
    base = _report(tmp_path / "base.json", wall=10.0, smoke=1000.0)
    cur = _report(tmp_path / "cur.json", wall=10.5, smoke=500.0)
    proc = subprocess.run([PY, BENCH, "--compare", base, "--report", cur],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "current/baseline" in proc.stdout and "REGRESSED" in proc.stdout
    line = next(x for x in proc.stdout.splitlines() if x.startswith("verify_wall_s"))
    assert "1.05" in line and "same" in line


@pytest.mark.parametrize(("content", "cause"), [
    (None, "does not exist"), ("{not json", "is not JSON"), ("[1]", "not a JSON object")])
def test_a_bad_baseline_is_one_line_and_exit_2(tmp_path, content, cause):
    base = tmp_path / "baseline.json"
    if content is not None:
        base.write_text(content)
    cur = _report(tmp_path / "cur.json", wall=1.0, smoke=1.0)
    proc = subprocess.run([PY, BENCH, "--compare", base, "--report", cur],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and cause in lines[0] and "(fix: " in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_report_without_compare_is_a_usage_error(tmp_path):
    proc = subprocess.run([PY, BENCH, "--report", tmp_path / "x.json"], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2 and "--compare" in proc.stderr


def test_a_section_that_cannot_run_says_so_in_json_table_and_exit_code(tmp_path):
    """The lock section given a Python without the lock tooling: unavailable, exit 1."""
    out = tmp_path / "bench.json"
    bare = tmp_path / "bare"  # a venv with nothing installed: no conda-lock, no pyyaml
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", bare], check=True,
                   timeout=120)
    bare_python = bare / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    others = ("verify,setup_rerun,verify_full,matmul,smoke,env_create,tests,fleet_report,bundle,"
              "pristine")
    proc = subprocess.run([PY, BENCH, "--python", PY, "--lock-python", bare_python,
                           "--skip", others, "--json", out], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    report = load_json(out)
    assert proc.returncode == 1, proc.stderr
    assert report["lock"]["status"] == "unavailable"
    assert "lock step's tooling" in report["lock"]["reason"]
    assert report["figures"]["lock_check_s"]["status"] == "unavailable"
    assert "lock: unavailable" in proc.stdout and "lock" in proc.stderr
    assert "Traceback" not in proc.stderr
