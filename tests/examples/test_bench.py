"""benchmarks/bench.py: the FLOP arithmetic, the figures table, absent pieces, a real run."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks" / "bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("kerasup_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_flops_per_sample_of_the_tutorial_network(bench):
    assert bench.FLOPS_PER_SAMPLE == 6 * (784 * 512 + 512 * 10) == 2_439_168
    assert bench.flops_per_sample((10, 20, 3)) == 6 * (200 + 60)


def test_peak_gflops_is_the_best_rate_measured(bench):
    assert bench.peak_gflops({"numpy_gflops": 20.0, "tf_layer_gflops": 31.5,
                              "tf_gflops": None}) == 31.5
    assert bench.peak_gflops({"status": "failed"}) is None


def test_figures_table_shows_values_targets_and_reasons():
    from benchmarks.compare import render_figures
    from benchmarks.report import figure, missing

    table = render_figures({
        "verify_over_import_wall": figure(1.25, "x", "lower", target=1.3),
        "smoke_fraction_of_floor": figure(0.31, "x", "higher", target=0.4),
        "lock_check_s": missing("s", "lower", "no lock tooling"),
    })
    assert "1.250x" in table and "<= 1.3" in table and ">= 0.4" in table
    assert "MISSED TARGET" in table and "no lock tooling" in table


def test_missing_verify_is_reported_not_a_crash(tmp_path, monkeypatch):
    """With an interpreter that cannot import `verify`, the section says so; JSON is written."""
    monkeypatch.delenv("PYTHONPATH", raising=False)
    out = tmp_path / "bench.json"
    (tmp_path / "py").symlink_to(sys.executable)  # a relative --python works from any cwd
    proc = subprocess.run([sys.executable, BENCH, "--python", "py", "--json", out,
                           "--skip", "setup_rerun,verify_full,matmul,smoke,env_create,lock,tests,"
                           "fleet_report,bundle,pristine"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(out.read_text())
    assert report["schema_version"] == 2
    assert report["verify"]["status"] == "unavailable", report["verify"]
    assert report["figures"]["verify_over_import_wall"]["status"] == "unavailable"
    assert report["python"] == str(tmp_path / "py")
    assert "python -m verify" in report["verify"]["reason"]
    assert report["matmul"]["status"] == "skipped"
    assert "unavailable" in proc.stdout  # the table
    assert "verify: unavailable" in proc.stdout


def test_unknown_section_is_a_usage_error(tmp_path):
    proc = subprocess.run([sys.executable, BENCH, "--skip", "nope"], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2 and "unknown section" in proc.stderr


@pytest.mark.slow
def test_matmul_and_smoke_model_in_the_cpu_env(cpu_env, mnist_t10k, tmp_path):
    out = tmp_path / "bench.json"
    proc = cpu_env.run(BENCH, "--python", cpu_env.python, "--data", mnist_t10k, "--json", out,
                       "--skip", "verify,setup_rerun,verify_full,env_create,lock,tests,"
                       "fleet_report,bundle,pristine", "--matmul-size", "1024",
                       "--smoke-epochs", "2", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    matmul, smoke = report["matmul"], report["smoke"]
    assert matmul["numpy_gflops"] > 0.5 and matmul["tf_gflops"] > 0.5
    assert matmul["n"] == 1024 and smoke["epochs"] == 2 and len(smoke["epoch_seconds"]) == 2
    assert smoke["is_mnist"] is True and smoke["samples"] == 8000
    assert smoke["params"] == 407_050
    assert smoke["samples_per_second"] > 100
    assert smoke["floor_samples_per_second"] == pytest.approx(
        bench_peak(matmul) * 1e9 / 2_439_168, rel=1e-3)
    assert "smoke_fraction_of_floor" in proc.stdout
    assert report["figures"]["smoke_samples_per_s"]["value"] == smoke["samples_per_second"]


def bench_peak(matmul):
    return max(matmul[k] for k in ("numpy_gflops", "numpy_layer_gflops", "tf_gflops",
                                   "tf_layer_gflops"))
