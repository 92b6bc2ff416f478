"""The environment's compute and creation figures: float32 matmul GFLOP/s, the smoke model's
training rate against the matmul floor for it, and creating the CPU env uv vs pip. The
measurements are the scripts in ``benchmarks/probes/``, run by path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from verify.tutorial import LAYERS, flops_per_sample

__all__ = ["CPU_LOCK", "FLOPS_PER_SAMPLE", "bench_env_create", "bench_matmul", "bench_smoke",
           "peak_gflops"]

REPO = Path(__file__).resolve().parents[1]
PROBES = Path(__file__).resolve().parent / "probes"
CPU_LOCK = REPO / "envs" / "cpu" / "requirements.txt"
FLOPS_PER_SAMPLE = flops_per_sample(LAYERS)  # 6 * (784*512 + 512*10) = 2,439,168
RATES = ("numpy_gflops", "numpy_layer_gflops", "tf_gflops", "tf_layer_gflops")


def _probe(python: Path, probe: str, *args: str | os.PathLike[str],
           timeout: float = 600) -> dict[str, Any]:
    """Run ``probes/<probe>.py ARGS`` with ``python``; its last stdout line is JSON."""
    started = time.perf_counter()
    proc = subprocess.run([str(python), str(PROBES / f"{probe}.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=REPO, timeout=timeout,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
                               "PYTHONPATH": str(REPO)}, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-3:]
        return {"status": "failed", "reason": " | ".join(tail),
                "seconds": round(time.perf_counter() - started, 2)}
    return {"status": "ok", **json.loads(proc.stdout.strip().splitlines()[-1])}


def bench_matmul(python: Path, *, n: int = 2048, repeat: int = 5) -> dict[str, Any]:
    """float32 matrix-multiply GFLOP/s (numpy and TensorFlow): big square and layer-shaped."""
    result = _probe(python, "matmul", "--n", str(n), "--repeat", str(repeat))
    for key in RATES:
        if key in result:
            result[key] = round(result[key], 2)
    return result


def peak_gflops(matmul: dict[str, Any]) -> float | None:
    """The best float32 matmul rate measured (numpy or TF, square or layer-shaped)."""
    rates = [matmul[k] for k in RATES if isinstance(matmul.get(k), int | float)]
    return max(rates) if rates else None


def bench_smoke(python: Path, data: Path | None, *, epochs: int = 4,
                gflops: float | None = None) -> dict[str, Any]:
    """Steady-state training samples/s of 784-512-10 against the matmul floor for it."""
    result = _probe(python, "smoke_train", "--epochs", str(epochs),
                    *(["--data", data] if data else []))
    result["flops_per_sample"] = FLOPS_PER_SAMPLE
    if result.get("status") == "ok":
        result["samples_per_second"] = round(result["samples_per_second"], 1)
        achieved = result["samples_per_second"] * FLOPS_PER_SAMPLE / 1e9
        result["achieved_gflops"] = round(achieved, 2)
        if gflops:
            # The most samples/s the best measured matmul rate allows for this network: its
            # time per sample can be no lower than FLOPS_PER_SAMPLE at that rate.
            result["peak_gflops_used"] = gflops
            result["floor_samples_per_second"] = round(gflops * 1e9 / FLOPS_PER_SAMPLE, 1)
            result["fraction_of_floor"] = round(achieved / gflops, 3)
    return result


def bench_env_create(python: Path, *, uv: str | None, lock: Path = CPU_LOCK,
                     wheelhouse: Path | None = None) -> dict[str, Any]:
    """Seconds to create the CPU env from the lock with a warm cache: uv vs pip."""
    args: Sequence[str | os.PathLike[str]] = [
        "--python", python, "--lock", lock,
        "--wheelhouse", wheelhouse or REPO / ".cache" / "bench-wheelhouse",
        *(["--uv", uv] if uv else [])]
    return _probe(Path(sys.executable), "env_create", *args, timeout=3600)
