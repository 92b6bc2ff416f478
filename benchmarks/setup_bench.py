"""Re-running setup with nothing to do: `setup/bootstrap.py` on the environment it built
(it installs nothing and re-runs verify) against that verify alone, in alternated pairs; and
the `--no-verify` re-run on its own. Passes what `nox` passes (`_locked_cpu_env`):
KERASUP_BOOTSTRAP_TOOLS, --no-kernel (no kernel in the user's home) and the caller's
KERAS_HOME, so the re-run writes nothing nox's own runs do not."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.pairs import Command, run_child, run_pairs
from envs.contract.layout import Layout

__all__ = ["BOOTSTRAP", "bench_setup_rerun", "env_prefix"]

REPO = Path(__file__).resolve().parents[1]
BOOTSTRAP = REPO / "setup" / "bootstrap.py"


def env_prefix(python: Path) -> tuple[Path, str]:
    """The environment's prefix and its base interpreter (what it was made from)."""
    proc = subprocess.run([str(python), "-I", "-c", "import sys; print(sys.prefix); "
                           "print(sys._base_executable)"], capture_output=True, text=True,
                          timeout=120, check=False)
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) < 2:
        raise OSError(f"{python} cannot report its prefix: {proc.stderr.strip()[-300:]}")
    return Path(lines[0]), lines[1]


def _not_rerunnable(prefix: Path) -> str:
    """'' when setup's re-run at ``prefix`` is a no-op of this checkout's, else why not."""
    record = Layout(prefix).install_record
    if not record.is_file():
        return (f"{prefix} has no install record ({record}): build the environment with "
                "setup/bootstrap.py (as nox -s bench does) to time its re-run")
    root = json.loads(record.read_text(encoding="utf-8")).get("toolkit_root")
    if root and Path(root).resolve() != REPO:
        return (f"{prefix} was installed from another checkout ({root}); its re-run from "
                f"{REPO} would change it: build one from this checkout")
    return ""


def _bootstrap(prefix: Path, base: str, *extra: str) -> Command:
    env = {"KERASUP_BOOTSTRAP_TOOLS": os.environ.get("KERASUP_BOOTSTRAP_TOOLS",
                                                     str(REPO / ".nox" / "setup-tools"))}
    argv = [base, BOOTSTRAP, "--variant", "cpu", "--prefix", prefix, "--python-exe", base,
            "--no-kernel", "--yes", *extra]
    return Command("setup re-run" + (" " + " ".join(extra) if extra else ""), argv, cwd=REPO,
                   env=env)


def bench_setup_rerun(python: Path, *, pairs: int, warmup: int,
                      no_verify_runs: int = 5) -> dict[str, Any]:
    """The re-run (with verify) against verify alone, alternated; the --no-verify re-run."""
    prefix, base = env_prefix(python)
    why = _not_rerunnable(prefix)
    if why:
        return {"status": "unavailable", "reason": why}
    record = Layout(prefix).install_record
    stamp = record.stat().st_mtime_ns
    layout = Layout(prefix)
    verify = Command("verify", layout.verify_argv(str(python)), cwd=REPO)
    result = run_pairs(_bootstrap(prefix, base), verify, pairs=pairs, warmup=warmup)
    out: dict[str, Any] = {"status": "ok", "prefix": str(prefix), "base_python": base,
                           "commands": {"setup_rerun": "python setup/bootstrap.py --variant "
                                        "cpu --prefix ENV --python-exe BASE --no-kernel --yes",
                                        "verify": "python -m verify --json … --junit …"},
                           **result.summary("setup_rerun", "verify")}
    no_verify = [run_child(_bootstrap(prefix, base, "--no-verify"))
                 for _ in range(max(1, no_verify_runs))]
    out["no_verify_wall_s"] = {"median": round(statistics.median(r.wall_s for r in no_verify),
                                               3),
                               "runs": [round(r.wall_s, 3) for r in no_verify]}
    failed = result.failed or next((f"--no-verify: exit {r.returncode}: {r.tail}"
                                    for r in no_verify if r.returncode), "")
    if record.stat().st_mtime_ns != stamp:
        failed = failed or "the re-run rewrote the install record: it was not a no-op"
    if failed:
        out.update(status="failed", reason=failed)
    return out
