"""benchmarks/bench.py: the FLOP arithmetic, the report's table and JSON, absent pieces."""

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


def test_table_shows_figures_and_reasons(bench):
    report = {
        "python": "/env/bin/python", "machine": {"cpu": "Test CPU", "cpu_count": 2},
        "verify": {"status": "unavailable", "reason": "`python -m verify` cannot be imported"},
        "matmul": {"status": "ok", "n": 2048, "numpy_gflops": 40.0, "numpy_layer_gflops": 35.5,
                   "tf_gflops": 50.25, "tf_layer_gflops": 45.0},
        "smoke": {"status": "ok", "samples_per_second": 9000.0, "flops_per_sample": 2_439_168,
                  "achieved_gflops": 21.95, "floor_samples_per_second": 20_600.4,
                  "peak_gflops_used": 50.25, "fraction_of_floor": 0.437},
        "env_create": {"status": "ok", "uv": {"status": "ok", "seconds": 8.0, "version": "uv"},
                       "pip": {"status": "failed", "reason": "no network"}},
    }
    table = bench.render_table(report)
    assert "verify" in table and "cannot be imported" in table
    assert "50.2 GFLOP/s" in table and "9,000.0 samples/s" in table
    assert "20,600.4 samples/s" in table and "44%" in table
    assert "8.0 s" in table and "no network" in table


def test_missing_verify_is_reported_not_a_crash(tmp_path, monkeypatch):
    """With an interpreter that cannot import `verify`, the section says so; JSON is written."""
    monkeypatch.delenv("PYTHONPATH", raising=False)
    out = tmp_path / "bench.json"
    (tmp_path / "py").symlink_to(sys.executable)  # a relative --python works from any cwd
    proc = subprocess.run([sys.executable, BENCH, "--python", "py", "--json", out,
                           "--skip", "matmul,smoke,env_create"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(out.read_text())
    assert report["schema_version"] == 1
    assert report["verify"]["status"] == "unavailable", report["verify"]
    assert report["python"] == str(tmp_path / "py")
    assert "python -m verify" in report["verify"]["reason"]
    assert report["matmul"]["status"] == "skipped"
    assert "unavailable" in proc.stdout  # the table
    assert json.loads(proc.stdout[proc.stdout.index("\n{") + 1:]) == report  # then the JSON


def test_unknown_section_is_a_usage_error(tmp_path):
    proc = subprocess.run([sys.executable, BENCH, "--skip", "nope"], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2 and "unknown section" in proc.stderr


@pytest.mark.slow
def test_matmul_and_smoke_model_in_the_cpu_env(cpu_env, mnist_t10k, tmp_path):
    out = tmp_path / "bench.json"
    proc = cpu_env.run(BENCH, "--python", cpu_env.python, "--data", mnist_t10k, "--json", out,
                       "--skip", "verify,env_create", "--matmul-size", "1024",
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
    assert "smoke model 784-512-10" in proc.stdout


def bench_peak(matmul):
    return max(matmul[k] for k in ("numpy_gflops", "numpy_layer_gflops", "tf_gflops",
                                   "tf_layer_gflops"))
