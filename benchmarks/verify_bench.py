"""verify against a bare import, in the environment under test: `python -m verify` (quick)
and `python -c "import tensorflow, keras"` in alternated pairs, wall time and peak memory;
and one `python -m verify --full` for its own figures."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.pairs import Command, run_child, run_pairs

__all__ = ["BARE_IMPORT", "bench_verify", "bench_verify_full", "bytecode_cached",
           "verify_figures"]

BARE_IMPORT = "import tensorflow, keras"


def bytecode_cached(python: Path) -> dict[str, Any]:
    """Whether TensorFlow's bytecode is cached in the environment (it changes the import
    time 2.5x; PYTHONDONTWRITEBYTECODE=1 keeps a fresh environment from caching it)."""
    proc = subprocess.run([str(python), "-I", "-c", "import importlib.util; "
                           "print(importlib.util.find_spec('tensorflow').origin)"],
                          capture_output=True, text=True, timeout=120, check=False)
    info: dict[str, Any] = {"pythondontwritebytecode":
                            os.environ.get("PYTHONDONTWRITEBYTECODE", "")}
    if proc.returncode != 0 or not proc.stdout.strip():
        return {**info, "tensorflow_bytecode_cached": None,
                "bytecode_reason": proc.stderr.strip()[-300:]}
    cache = Path(proc.stdout.strip()).parent / "__pycache__"
    return {**info, "tensorflow_bytecode_cached": any(cache.glob("*.pyc"))}


def _unavailable(python: Path) -> str:
    """'' when `python -m verify` runs in ``python``, else why not."""
    run = run_child(Command("verify --version", [python, "-m", "verify", "--version"],
                            cwd=Path.home(), timeout=120))
    if run.returncode == 0:
        return ""
    return f"`python -m verify` cannot be imported in {python}: {run.tail}"


def bench_verify(python: Path, *, pairs: int, warmup: int) -> dict[str, Any]:
    """`python -m verify` against the bare import, alternated; the pairs' summary."""
    why = _unavailable(python)
    if why:
        return {"status": "unavailable", "reason": why}
    with tempfile.TemporaryDirectory(prefix="kerasup-bench-") as tmp:
        report = Path(tmp) / "verify.json"
        verify = Command("verify", [python, "-m", "verify", "--no-color", "--json", report,
                                    "--out", Path(tmp) / "out"], cwd=Path(tmp))
        bare = Command("bare_import", [python, "-c", BARE_IMPORT], cwd=Path(tmp))
        result = run_pairs(verify, bare, pairs=pairs, warmup=warmup)
        out: dict[str, Any] = {"status": "ok",
                               "commands": {"verify": "python -m verify",
                                            "bare_import": f'python -c "{BARE_IMPORT}"'},
                               **result.summary("verify", "bare_import")}
        if report.is_file():
            out["verify_report"] = verify_figures(json.loads(report.read_text()))
    if result.failed:
        out.update(status="failed", reason=result.failed)
    out.update(bytecode_cached(python))
    return out


def bench_verify_full(python: Path, data: Path | None) -> dict[str, Any]:
    """One `python -m verify --full` (with --data when given): its wall time and figures."""
    why = _unavailable(python)
    if why:
        return {"status": "unavailable", "reason": why}
    with tempfile.TemporaryDirectory(prefix="kerasup-bench-") as tmp:
        report = Path(tmp) / "verify.json"
        argv: list[str | os.PathLike[str]] = [python, "-m", "verify", "--full", "--no-color",
                                              "--json", report, "--out", Path(tmp) / "out"]
        if data is not None:
            argv += ["--data", data]
        run = run_child(Command("verify --full", argv, cwd=Path(tmp), timeout=1800))
        out: dict[str, Any] = {"status": "ok" if run.returncode == 0 else "failed",
                               "seconds": round(run.wall_s, 2), "exit_code": run.returncode,
                               "peak_rss_mib": round(run.maxrss_kib / 1024, 1)}
        if report.is_file():  # the timing stands even when a check fails
            out.update(verify_figures(json.loads(report.read_text())))
        if run.returncode:
            out["reason"] = "; ".join(out.get("failed_checks") or []) or run.tail
    return out


def verify_figures(report: dict[str, Any]) -> dict[str, Any]:
    """verify's own duration, check counts and the smoke model's figures from its report."""
    checks = report.get("checks", [])
    figures: dict[str, Any] = {"verify_duration_s": report.get("duration_s"),
                               "counts": report.get("counts")}
    for check in checks:
        if check.get("name") == "mnist":
            details = check.get("details") or {}
            figures["smoke_samples_per_second"] = details.get("samples_per_second")
            figures["smoke_test_accuracy"] = details.get("test_accuracy")
            figures["mnist_status"] = check.get("status")
    figures["check_seconds"] = {c.get("name"): c.get("duration_s") for c in checks}
    figures["failed_checks"] = [f"{c.get('name')}: {c.get('summary')}" for c in checks
                                if c.get("status") in ("fail", "error")]
    return figures

