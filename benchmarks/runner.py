"""Runs bench's sections in order and assembles the one report: the machine, whether the
environment's bytecode was cached, each section's details and the flat figures."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import compute, external, setup_bench, testrecord, verify_bench
from benchmarks.compare import render_figures
from benchmarks.figures import collect
from benchmarks.report import SCHEMA_VERSION, write_json
from envs.contract.facts import PYTHONS

__all__ = ["SECTIONS", "machine", "run_sections"]

SECTIONS = ("verify", "setup_rerun", "verify_full", "matmul", "smoke", "env_create", "lock",
            "tests", "fleet_report", "bundle", "pristine")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu": _cpu_name(), "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in load] if load else None}


def _steps(args: argparse.Namespace, report: dict[str, Any]
           ) -> dict[str, Callable[[], dict[str, Any]]]:
    py = args.python
    out_dir = args.json.parent
    return {
        "verify": lambda: verify_bench.bench_verify(py, pairs=args.pairs, warmup=args.warmup),
        "setup_rerun": lambda: setup_bench.bench_setup_rerun(py, pairs=args.pairs,
                                                             warmup=args.warmup),
        "verify_full": lambda: verify_bench.bench_verify_full(py, args.data),
        "matmul": lambda: compute.bench_matmul(py, n=args.matmul_size),
        "smoke": lambda: compute.bench_smoke(py, args.data, epochs=args.smoke_epochs,
                                             gflops=compute.peak_gflops(
                                                 report.get("matmul", {}))),
        "env_create": lambda: compute.bench_env_create(py, uv=args.uv, lock=args.lock,
                                                       wheelhouse=args.wheelhouse),
        "lock": lambda: external.bench_lock(args.lock_python),
        "tests": lambda: testrecord.read_records(PYTHONS),
        "fleet_report": lambda: external.bench_fleet_report(py, out_dir),
        "bundle": lambda: external.bench_bundle(setup_bench.env_prefix(py)[1], out_dir,
                                                args.data),
        "pristine": lambda: external.bench_pristine(out_dir),
    }


def run_sections(args: argparse.Namespace, skip: set[str]) -> dict[str, Any]:
    """Run every section not skipped; write the report to args.json, print its figures."""
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": str(args.python), "machine": machine(),
        "settings": {"pairs": args.pairs, "warmup_pairs": args.warmup,
                     "skipped": sorted(skip)},
    }
    report["bytecode"] = verify_bench.bytecode_cached(args.python)
    for name, step in _steps(args, report).items():
        if name in skip:
            report[name] = {"status": "skipped", "reason": "--skip"}
            continue
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            report[name] = step()
        except (OSError, subprocess.SubprocessError, ValueError, KeyError) as exc:
            report[name] = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
        report[name]["section_seconds"] = round(time.perf_counter() - started, 2)
    report["figures"] = collect(report)
    write_json(args.json, report)
    cpu = report["machine"]
    cached = report["bytecode"].get("tensorflow_bytecode_cached")
    print(f"kerasup bench · {cpu['cpu']} · {cpu['cpu_count']} cores · {args.python} · "
          f"TensorFlow bytecode {'cached' if cached else 'NOT cached' if cached is False else '?'}")
    print(render_figures(report["figures"]))
    for name in SECTIONS:
        if report[name].get("status") not in ("ok", "skipped"):
            print(f"  {name}: {report[name]['status']}: {report[name].get('reason', '')}")
    print(f"JSON report: {args.json}", file=sys.stderr)
    return report
