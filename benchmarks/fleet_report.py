"""The fleet report over 1,000 schema-valid verify reports with mixed failures: how long
reading (with schema validation), aggregating and rendering each format take.

    python benchmarks/fleet_report.py [--hosts 1000] [--json FILE]

Reports are made with verify's own Report model (the shape ``python -m verify --json``
writes); one host in ten has a theano keras.json, one in 25 a drifted numpy, one in 50 is
slow to import TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import write_json
from verify.fleet.aggregate import build_fleet
from verify.fleet.load import load_reports
from verify.fleet.render import to_html, to_json, to_junit, to_text
from verify.result import CheckResult, Report


def _checks(n: int) -> list[CheckResult]:
    theano, drift, slow = n % 10 == 0, n % 25 == 0, n % 50 == 0
    keras = CheckResult("keras_json", "fail" if theano else "pass", 0.0,
                        f"/home/h{n}/.keras/keras.json backend is 'theano'" if theano
                        else "backend tensorflow",
                        fix="python -m verify --only keras_json --fix" if theano else None)
    table = [{"package": "numpy", "locked": "2.3.5", "installed": "2.4.0",
              "problem": "mismatch"}] if drift else []
    return [
        CheckResult("python_platform", "pass", 0.1, "CPython 3.12.1 on linux-64"), keras,
        CheckResult("gpu", "pass", 30.0 if slow else 9.0 + (n % 7) / 10, "CPU only",
                    details={"build": {"tf_version": "2.21.0"}, "driver": {}}),
        CheckResult("packages", "fail" if drift else "pass", 0.2, "packages",
                    details={"table": table}, fix="setup/ubuntu.sh" if drift else None),
        CheckResult("mnist", "pass", 3.0, "accuracy 0.95", details={"train_seconds": 2.0}),
        CheckResult("model_graph", "pass", 0.1, "model.png"),
    ]


def write_reports(folder: Path, hosts: int) -> None:
    for n in range(hosts):
        machine = {"host": f"h{n}", "os": "Linux", "os_release": "6", "architecture": "x86_64",
                   "conda_platform": "linux-64", "python": "3.12.1",
                   "python_implementation": "CPython", "python_executable": "/opt/k/bin/python",
                   "prefix": "/opt/k", "variant": "cpu", "variant_source": "record",
                   "lock": "/srv/k/requirements.txt", "lock_source": "record",
                   "lock_sha256": "a" * 64, "expect_gpu": False}
        report = Report(1, {"name": "kerasup-verify", "version": "0.1.0"}, machine, {},
                        _checks(n), "2026-11-29T03:00:00Z", 14.0)
        (folder / f"h{n:04d}.json").write_text(json.dumps(report.to_dict()))


def measure(hosts: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="kerasup-fleet-bench-") as tmp:
        folder = Path(tmp)
        write_reports(folder, hosts)
        t0 = time.perf_counter()
        reports = load_reports(folder)
        t1 = time.perf_counter()
        fleet = build_fleet(reports)
        t2 = time.perf_counter()
        sizes = {name: len(render(fleet)) for name, render in
                 (("text", to_text), ("html", to_html), ("junit", to_junit), ("json", to_json))}
        t3 = time.perf_counter()
    return {"hosts": hosts, "load_and_validate_s": t1 - t0, "aggregate_s": t2 - t1,
            "render_all_s": t3 - t2, "total_s": t3 - t0, "failing": fleet.counts()["failing"],
            "groups": len(fleet.groups), **{f"{k}_bytes": v for k, v in sizes.items()}}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hosts", type=int, default=1000)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    figures = measure(args.hosts)
    for key, value in figures.items():
        print(f"fleet report  {key:<22} {value:.3f}" if isinstance(value, float)
              else f"fleet report  {key:<22} {value}")
    if args.json:
        write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
