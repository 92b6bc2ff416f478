"""Seconds to create the CPU environment from its lock with a warm cache: uv against pip.
Run by bench.py with its own Python (the tools, not the environment under test); prints one
JSON object.

    python benchmarks/probes/env_create.py --python .venv/bin/python --uv uv \\
        --lock envs/cpu/requirements.txt --wheelhouse .cache/bench-wheelhouse
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from envs.contract.fileio import file_sha256

__all__ = ["bench_env_create", "main"]


def _run(cmd: Sequence[str | os.PathLike[str]], *, timeout: float,
         env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, check=False)
    return proc, time.perf_counter() - started


def _tail(proc: subprocess.CompletedProcess[str], lines: int = 3) -> str:
    text = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
    return " | ".join(text[-lines:])


def _base_python(python: Path) -> str:
    proc, _ = _run([python, "-c", "import sys; print(sys._base_executable)"], timeout=60)
    return proc.stdout.strip() or str(python)


def _venv_bin(prefix: Path, name: str) -> Path:
    return prefix / ("Scripts" if os.name == "nt" else "bin") / name


def _timed_uv(uv: str, base: str, lock: Path, prefix: Path) -> tuple[float, str]:
    shutil.rmtree(prefix, ignore_errors=True)
    env = {"UV_PYTHON_DOWNLOADS": "never"}
    started = time.perf_counter()
    proc, _ = _run([uv, "venv", "--quiet", "--python", base, prefix], timeout=300, env=env)
    if proc.returncode == 0:
        proc, _ = _run([uv, "pip", "sync", "--quiet", "--require-hashes", "--python",
                        _venv_bin(prefix, "python"), lock], timeout=1800, env=env)
    seconds = time.perf_counter() - started
    return seconds, "" if proc.returncode == 0 else _tail(proc)


def _wheelhouse(base: str, lock: Path, wheelhouse: Path) -> str:
    """Download the lock's wheels once into a local folder (pip's warm cache); '' if ready."""
    stamp = wheelhouse / ".lock-sha256"
    digest = file_sha256(lock)
    if stamp.is_file() and stamp.read_text() == digest:
        return ""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    proc, _ = _run([base, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                    "--require-hashes", "--only-binary=:all:", "--dest", wheelhouse,
                    "-r", lock], timeout=1800)
    if proc.returncode != 0:
        return _tail(proc)
    stamp.write_text(digest)
    return ""


def _timed_pip(base: str, lock: Path, prefix: Path, wheelhouse: Path) -> tuple[float, str]:
    shutil.rmtree(prefix, ignore_errors=True)
    started = time.perf_counter()
    proc, _ = _run([base, "-m", "venv", prefix], timeout=300)
    if proc.returncode == 0:
        proc, _ = _run([_venv_bin(prefix, "python"), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "--no-index", "--find-links",
                        wheelhouse, "--require-hashes", "-r", lock], timeout=1800)
    seconds = time.perf_counter() - started
    return seconds, "" if proc.returncode == 0 else _tail(proc)


def bench_env_create(python: Path, *, uv: str | None, lock: Path, wheelhouse: Path,
                     scratch: Path | None = None) -> dict[str, Any]:
    """Seconds to create the CPU env from the lock with a warm cache: uv vs pip."""
    base = _base_python(python)
    result: dict[str, Any] = {"status": "ok", "lock": str(lock), "base_python": base}
    with tempfile.TemporaryDirectory(prefix="kerasup-bench-env-", dir=scratch) as tmp:
        if uv is None:
            result["uv"] = {"status": "unavailable", "reason": "uv not found (pass --uv)"}
        else:
            # First run warms uv's cache (a no-op when the lock was installed before).
            first, error = _timed_uv(uv, base, lock, Path(tmp) / "uv-env")
            warm, error = (first, error) if error else _timed_uv(uv, base, lock,
                                                                 Path(tmp) / "uv-env")
            result["uv"] = ({"status": "failed", "reason": error} if error else
                            {"status": "ok", "seconds": round(warm, 2),
                             "first_run_seconds": round(first, 2),
                             "version": _run([uv, "--version"], timeout=60)[0].stdout.strip()})
        shutil.rmtree(Path(tmp) / "uv-env", ignore_errors=True)
        error = _wheelhouse(base, lock, wheelhouse)
        if error:
            result["pip"] = {"status": "failed", "reason": f"pip download: {error}"}
        else:
            seconds, error = _timed_pip(base, lock, Path(tmp) / "pip-env", wheelhouse)
            pip_version = _run([_venv_bin(Path(tmp) / "pip-env", "python"), "-m", "pip",
                                "--version"], timeout=60)[0].stdout.split(" from ")[0]
            result["pip"] = ({"status": "failed", "reason": error} if error else
                             {"status": "ok", "seconds": round(seconds, 2),
                              "wheelhouse": str(wheelhouse), "version": pip_version})
    if result["uv"].get("seconds") and result["pip"].get("seconds"):
        result["pip_over_uv"] = round(result["pip"]["seconds"] / result["uv"]["seconds"], 1)
    if "ok" not in (result["uv"]["status"], result["pip"]["status"]):
        result["status"] = "failed"
    return result



def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", type=Path, required=True)
    parser.add_argument("--uv", default=None)
    parser.add_argument("--lock", type=Path, required=True)
    parser.add_argument("--wheelhouse", type=Path, required=True)
    args = parser.parse_args(argv)
    print(json.dumps(bench_env_create(args.python, uv=args.uv, lock=args.lock,
                                      wheelhouse=args.wheelhouse)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
