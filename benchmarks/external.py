"""Figures from other tools, run as children: the lock step (`python -m envs.lock --check`,
and a full offline relock of the CPU variant against the local conda-forge snapshot into a
scratch copy of envs/), the fleet report (benchmarks/fleet_report.py) and the offline bundle
(benchmarks/bundle_bench.py), whose own JSON files are kept beside the report."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.pairs import Command, run_child

__all__ = ["SNAPSHOT", "bench_bundle", "bench_fleet_report", "bench_lock"]

REPO = Path(__file__).resolve().parents[1]
SNAPSHOT = Path(os.environ.get("KERASUP_CONDA_SNAPSHOT",
                               REPO.parent / "shared" / "conda-forge-snapshot"))
LOCK_HOW = ("pass --lock-python with the lock step's tooling (nox -s bench does: "
            ".nox/bench/bin/python)")


def _lock_cmd(python: Path, *args: str | os.PathLike[str]) -> Command:
    return Command("lock", [python, "-m", "envs.lock", *args], cwd=REPO,
                   env={"PYTHONPATH": str(REPO)}, timeout=1800)


def _relock(python: Path) -> dict[str, Any]:
    if not (SNAPSHOT / "noarch" / "repodata.json").is_file():
        return {"status": "unavailable",
                "reason": f"no conda-forge snapshot at {SNAPSHOT} (set KERASUP_CONDA_SNAPSHOT)"}
    with tempfile.TemporaryDirectory(prefix="kerasup-bench-lock-") as tmp:
        envs = Path(tmp) / "envs"
        for variant in ("cpu", "gpu"):
            shutil.copytree(REPO / "envs" / variant, envs / variant)
        run = run_child(_lock_cmd(python, "--variant", "cpu", "--conda-snapshot", SNAPSHOT,
                                  "--offline-pip", "--envs-dir", envs, "-q"))
        changed = [p.name for p in sorted((REPO / "envs" / "cpu").iterdir()) if p.is_file()
                   and not filecmp.cmp(p, envs / "cpu" / p.name, shallow=False)]
    out = {"status": "ok" if run.returncode == 0 and not changed else "failed",
           "seconds": round(run.wall_s, 2), "exit_code": run.returncode,
           "reproduces_committed_locks": not changed,
           "command": f"python -m envs.lock --variant cpu --conda-snapshot {SNAPSHOT} "
                      "--offline-pip --envs-dir <copy>"}
    if run.returncode:
        out["reason"] = run.tail
    elif changed:
        out["reason"] = f"the relock changed {', '.join(changed)}"
    return out


def bench_lock(python: Path | None) -> dict[str, Any]:
    """`python -m envs.lock --check` (both variants, offline) and the offline CPU relock."""
    if python is None:
        return {"status": "unavailable", "reason": f"no lock tooling: {LOCK_HOW}"}
    check = run_child(_lock_cmd(python, "--check"))
    out: dict[str, Any] = {"status": "ok", "python": str(python),
                           "check": {"seconds": round(check.wall_s, 2),
                                     "exit_code": check.returncode,
                                     "command": "python -m envs.lock --check"}}
    if check.returncode == 2 and "lacks the lock step's tooling" in check.tail:
        return {"status": "unavailable", "reason": f"{check.tail} ({LOCK_HOW})"}
    if check.returncode:
        out.update(status="failed", reason=f"--check: exit {check.returncode}: {check.tail}")
    out["relock_cpu"] = _relock(python)
    if out["relock_cpu"]["status"] == "failed" and out["status"] == "ok":
        out.update(status="failed", reason=f"relock: {out['relock_cpu']['reason']}")
    return out


def _script(python: Path, script: str, json_out: Path, *args: str | os.PathLike[str],
            timeout: float) -> dict[str, Any]:
    run = run_child(Command(script, [python, REPO / "benchmarks" / script, "--json", json_out,
                                     *args], cwd=REPO, env={"PYTHONPATH": str(REPO)},
                            timeout=timeout))
    if run.returncode != 0 or not json_out.is_file():
        return {"status": "failed", "reason": f"exit {run.returncode}: {run.tail}",
                "seconds": round(run.wall_s, 2)}
    return {"status": "ok", "json": str(json_out), "seconds": round(run.wall_s, 2),
            **json.loads(json_out.read_text(encoding="utf-8"))}


def bench_fleet_report(python: Path, out_dir: Path) -> dict[str, Any]:
    """benchmarks/fleet_report.py over 1,000 generated reports, in the environment."""
    return _script(python, "fleet_report.py", out_dir / "fleet_report.json", timeout=900)


def bench_bundle(base_python: str, out_dir: Path, data: Path | None) -> dict[str, Any]:
    """benchmarks/bundle_bench.py: bundle build, size and offline install against its floor
    (its wheel cache starts empty, so it downloads the lock from PyPI)."""
    return _script(Path(sys.executable), "bundle_bench.py", out_dir / "bundle.json",
                   "--python", base_python, *(["--data", data] if data else []),
                   timeout=3600)


def bench_pristine(out_dir: Path) -> dict[str, Any]:
    """tests/pristine_run.py --bench on Debian 12 (root, debootstrap): the time to a green
    verify for a new account with cold caches, beside `python3 -m venv v && v/bin/pip install
    tensorflow` (which verifies nothing) in the same root filesystem."""
    if os.name != "posix" or os.geteuid() != 0:
        return {"status": "unavailable", "reason": "needs root (debootstrap, chroot)"}
    json_out = out_dir / "pristine.json"
    run = run_child(Command("pristine", [sys.executable, REPO / "tests" / "pristine_run.py",
                                         "--release", "12", "--bench", "--json", json_out],
                            cwd=REPO, env={}, timeout=5400))
    if not json_out.is_file():
        return {"status": "failed", "reason": f"exit {run.returncode}: {run.tail}"}
    result = json.loads(json_out.read_text(encoding="utf-8"))[0]
    green = result.get("setup", {}).get("seconds")
    pip = result.get("plain_pip", {}).get("seconds")
    ok = run.returncode == 0 and result.get("plain_pip", {}).get("exit") == 0
    return {"status": "ok" if ok else "failed", "reason": "" if ok else run.tail,
            "time_to_green_s": green, "plain_pip_s": pip,
            "green_over_plain_pip": round(green / pip, 3) if green and pip else None,
            "rootfs_cold": result.get("cold"), "debian": result}
