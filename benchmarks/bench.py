"""kerasup benchmarks: how long verify takes, how fast the smoke model trains against what the
CPU's matrix multiply allows, and how long the CPU environment takes to create, uv vs pip.

    python benchmarks/bench.py --python .nox/verify-env/bin/python --data ../shared/data/mnist-t10k
    nox -s bench                       # the same, in the environment nox builds from the lock

Prints a table and the JSON report (also written to --json). This driver needs only the
standard library and :mod:`verify.tutorial` (standard library at import); the measurements
are the scripts in ``benchmarks/probes/`` run by path in --python, the environment under test
(numpy, TensorFlow and Keras from the CPU lock). Every section records a "status" (ok,
failed, unavailable, skipped) with a reason, so a missing piece (no `verify` yet, no uv) is
reported rather than crashing the run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# In a kerasup environment `verify` is importable; from a bare checkout, the toolkit root is.
if importlib.util.find_spec("verify") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from verify.tutorial import LAYERS, flops_per_sample

__all__ = [
    "FLOPS_PER_SAMPLE",
    "SCHEMA_VERSION",
    "SECTIONS",
    "bench_env_create",
    "bench_matmul",
    "bench_smoke",
    "bench_verify",
    "flops_per_sample",
    "main",
    "peak_gflops",
    "render_table",
]

REPO = Path(__file__).resolve().parent.parent
PROBES = Path(__file__).resolve().parent / "probes"
CPU_LOCK = REPO / "envs" / "cpu" / "requirements.txt"
SCHEMA_VERSION = 1
SECTIONS = ("verify", "matmul", "smoke", "env_create")
FLOPS_PER_SAMPLE = flops_per_sample(LAYERS)  # 6 * (784*512 + 512*10) = 2,439,168


def _run(cmd: Sequence[str | os.PathLike[str]], *, timeout: float, cwd: Path | None = None,
         env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run a command, capturing output; return it and its wall-clock seconds."""
    started = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
                                                **(env or {})})
    return proc, time.perf_counter() - started


def _tail(proc: subprocess.CompletedProcess[str], lines: int = 3) -> str:
    text = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
    return " | ".join(text[-lines:])


def _probe(python: Path, probe: str, *args: str | os.PathLike[str],
           timeout: float = 600) -> dict[str, Any]:
    """Run ``probes/<probe>.py ARGS`` in the environment under test; its last stdout line
    is a JSON object."""
    proc, seconds = _run([python, PROBES / f"{probe}.py", *args], timeout=timeout, cwd=REPO)
    if proc.returncode != 0:
        return {"status": "failed", "reason": _tail(proc), "seconds": round(seconds, 2)}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"status": "ok", **result}


# --- verify ------------------------------------------------------------------------------

def bench_verify(python: Path, data: Path | None, *, timeout: float = 900) -> dict[str, Any]:
    """Wall-clock time of `python -m verify` (quick and --full), with its own figures."""
    probe, _ = _run([python, "-m", "verify", "--version"], timeout=120, cwd=Path.home())
    if probe.returncode != 0:
        return {"status": "unavailable",
                "reason": f"`python -m verify` cannot be imported in {python}: {_tail(probe, 1)}"}
    result: dict[str, Any] = {"status": "ok"}
    for mode, extra in (("quick", []), ("full", ["--full"])):
        with tempfile.TemporaryDirectory(prefix="kerasup-bench-") as tmp:
            report = Path(tmp) / "verify.json"
            cmd: list[str | os.PathLike[str]] = [python, "-m", "verify", "--json", report,
                                                 "--no-color", *extra]
            if data is not None:
                cmd += ["--data", data]
            proc, seconds = _run(cmd, timeout=timeout, cwd=Path(tmp))
            entry: dict[str, Any] = {"seconds": round(seconds, 2), "exit_code": proc.returncode}
            if report.is_file():  # the timing stands even when a check fails
                entry.update(_verify_figures(json.loads(report.read_text())))
            else:
                entry["reason"] = _tail(proc)
                result["status"] = "failed"
        result[mode] = entry
    return result


def _verify_figures(report: dict[str, Any]) -> dict[str, Any]:
    """verify's own duration, check counts and the smoke model's figures from its report."""
    figures: dict[str, Any] = {"verify_duration_s": report.get("duration_s"),
                               "counts": report.get("counts")}
    for check in report.get("checks", []):
        if check.get("name") == "mnist":
            details = check.get("details") or {}
            figures["smoke_samples_per_second"] = details.get("samples_per_second")
            figures["smoke_test_accuracy"] = details.get("test_accuracy")
            figures["mnist_status"] = check.get("status")
    figures["check_seconds"] = {c.get("name"): c.get("duration_s")
                                for c in report.get("checks", [])}
    figures["failed_checks"] = [f"{c.get('name')}: {c.get('summary')}"
                                for c in report.get("checks", [])
                                if c.get("status") in ("fail", "error")]
    return figures


# --- matmul and the smoke model ----------------------------------------------------------

def bench_matmul(python: Path, *, n: int = 2048, repeat: int = 5) -> dict[str, Any]:
    """float32 matrix-multiply GFLOP/s (numpy and TensorFlow): big square and layer-shaped."""
    result = _probe(python, "matmul", "--n", str(n), "--repeat", str(repeat))
    for key in ("numpy_gflops", "numpy_layer_gflops", "tf_gflops", "tf_layer_gflops"):
        if key in result:
            result[key] = round(result[key], 2)
    return result


def peak_gflops(matmul: dict[str, Any]) -> float | None:
    """The best float32 matmul rate measured (numpy or TF, square or layer-shaped)."""
    rates = [matmul[k] for k in ("numpy_gflops", "numpy_layer_gflops", "tf_gflops",
                                 "tf_layer_gflops") if isinstance(matmul.get(k), int | float)]
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


# --- environment creation, uv vs pip (probes/env_create.py, run by this Python) ----------

def bench_env_create(python: Path, *, uv: str | None, lock: Path = CPU_LOCK,
                     wheelhouse: Path | None = None) -> dict[str, Any]:
    """Seconds to create the CPU env from the lock with a warm cache: uv vs pip."""
    args: list[str | os.PathLike[str]] = ["--python", python, "--lock", lock,
                                          "--wheelhouse",
                                          wheelhouse or REPO / ".cache" / "bench-wheelhouse"]
    if uv:
        args += ["--uv", uv]
    return _probe(Path(sys.executable), "env_create", *args, timeout=3600)


# --- report -------------------------------------------------------------------------------

def _fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{value}{unit}"


Row = tuple[str, str, str]


def _verify_rows(part: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for mode in ("quick", "full"):
        entry = part.get(mode, {})
        extra = f"verify itself {_fmt(entry.get('verify_duration_s'), ' s')}"
        if entry.get("smoke_samples_per_second"):
            extra += f"; smoke {_fmt(entry['smoke_samples_per_second'], ' samples/s')}"
        if entry.get("exit_code"):
            why = "; ".join(entry.get("failed_checks") or [entry.get("reason", "")])
            extra += f"; exit {entry['exit_code']} ({why})"
        label = "python -m verify" + (" --full" if mode == "full" else "")
        rows.append((label, _fmt(entry.get("seconds"), " s"), extra))
    return rows


def _matmul_rows(part: dict[str, Any]) -> list[Row]:
    n = part.get("n")
    return [(f"numpy matmul f32 {n}x{n}", _fmt(part.get("numpy_gflops"), " GFLOP/s"),
             f"(128x784)@(784x512): {_fmt(part.get('numpy_layer_gflops'), ' GFLOP/s')}"),
            (f"TF matmul f32 {n}x{n}", _fmt(part.get("tf_gflops"), " GFLOP/s"),
             f"(128x784)@(784x512): {_fmt(part.get('tf_layer_gflops'), ' GFLOP/s')}")]


def _smoke_rows(part: dict[str, Any]) -> list[Row]:
    rows = [("smoke model 784-512-10 train", _fmt(part.get("samples_per_second"), " samples/s"),
             f"{_fmt(part.get('achieved_gflops'), ' GFLOP/s')} at "
             f"{part['flops_per_sample']:,} FLOP/sample, batch 128")]
    if part.get("floor_samples_per_second"):
        rows.append(("  matmul floor for it", _fmt(part["floor_samples_per_second"],
                                                   " samples/s"),
                     f"at the best matmul rate, {part['peak_gflops_used']:,.1f} GFLOP/s; "
                     f"reached {part['fraction_of_floor']:.0%} of it"))
    return rows


def _env_create_rows(part: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for tool in ("uv", "pip"):
        entry = part.get(tool, {})
        ok = entry.get("status") == "ok"
        value = _fmt(entry.get("seconds"), " s") if ok else entry.get("status", "-")
        note = entry.get("version", "") if ok else entry.get("reason", "")
        rows.append((f"create CPU env, {tool} (warm)", value, note))
    if part.get("pip_over_uv"):
        rows.append(("  pip / uv", f"{part['pip_over_uv']}x", ""))
    return rows


_SECTION_ROWS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "verify": _verify_rows, "matmul": _matmul_rows, "smoke": _smoke_rows,
    "env_create": _env_create_rows,
}


def _rows(report: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for name, render in _SECTION_ROWS.items():
        part = report.get(name)
        if part is None:
            continue
        status = part.get("status")
        if status in ("unavailable", "skipped") or (status == "failed" and "reason" in part):
            rows.append((name, status, part.get("reason", "")))
        else:
            rows += render(part)
    return rows


def render_table(report: dict[str, Any]) -> str:
    """The report as a fixed-width table for people (the JSON is the contract)."""
    rows = [("benchmark", "result", "notes"), *_rows(report)]
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    lines = [f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c}".rstrip() for a, b, c in rows]
    lines.insert(1, "-" * min(100, max(len(line) for line in lines)))
    machine = report.get("machine", {})
    title = (f"kerasup bench · {machine.get('cpu', '?')} · {machine.get('cpu_count')} cores · "
             f"{report.get('python')}")
    return "\n".join([title, *lines])


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks; 0 when every section ran, 1 when one failed or was unavailable."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", type=Path, default=Path(sys.executable),
                        help="the CPU environment's interpreter (default: this one)")
    parser.add_argument("--data", type=Path, help="MNIST for verify and the smoke model")
    parser.add_argument("--json", type=Path, default=REPO / "out" / "bench" / "bench.json",
                        help="where the JSON report goes (default: %(default)s)")
    parser.add_argument("--uv", default=shutil.which("uv"), help="uv executable")
    parser.add_argument("--lock", type=Path, default=CPU_LOCK)
    parser.add_argument("--wheelhouse", type=Path,
                        help="pip's local wheel folder (default: .cache/bench-wheelhouse)")
    parser.add_argument("--matmul-size", type=int, default=2048,
                        help="n of the n x n matmul (default: %(default)s)")
    parser.add_argument("--smoke-epochs", type=int, default=4,
                        help="epochs of the smoke model; the first (tracing) is not counted "
                             "(default: %(default)s)")
    parser.add_argument("--skip", default="", help=f"comma-separated, of {','.join(SECTIONS)}")
    args = parser.parse_args(argv)
    skip = {s for s in args.skip.split(",") if s}
    if skip - set(SECTIONS):
        parser.error(f"--skip: unknown section(s) {sorted(skip - set(SECTIONS))}")
    if args.smoke_epochs < 2 or args.matmul_size < 1:
        parser.error("--smoke-epochs must be at least 2 and --matmul-size at least 1")
    if not args.python.exists():
        parser.error(f"--python {args.python}: no such interpreter")
    # Absolute (not resolved: a venv's python is a symlink that must stay one), as the
    # measurements run in other directories.
    args.python = args.python.absolute()
    args.data = args.data.absolute() if args.data else None

    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": str(args.python),
        "machine": {"cpu": _cpu_name(), "cpu_count": os.cpu_count(),
                    "platform": platform.platform()},
    }
    steps: dict[str, Callable[[], dict[str, Any]]] = {
        "verify": lambda: bench_verify(args.python, args.data),
        "matmul": lambda: bench_matmul(args.python, n=args.matmul_size),
        "smoke": lambda: bench_smoke(args.python, args.data, epochs=args.smoke_epochs,
                                     gflops=peak_gflops(report.get("matmul", {}))),
        "env_create": lambda: bench_env_create(args.python, uv=args.uv, lock=args.lock,
                                               wheelhouse=args.wheelhouse),
    }
    for name, step in steps.items():
        if name in skip:
            report[name] = {"status": "skipped", "reason": "--skip"}
            continue
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            report[name] = step()
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            report[name] = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
        report[name]["section_seconds"] = round(time.perf_counter() - started, 2)

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(render_table(report))
    print(json.dumps(report, indent=2))
    print(f"JSON report: {args.json}", file=sys.stderr)
    bad = [n for n in SECTIONS if report[n].get("status") not in ("ok", "skipped")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
