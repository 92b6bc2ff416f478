"""Provision and verify a simulated fleet on this machine with the real playbook.

    python benchmarks/fleet_50.py [--hosts 50] [--forks 10] [--rerun] [--full-verify]

Each simulated host is an inventory entry with ansible_connection=local and its own prefix,
toolkit folder, Jupyter prefix and HOME under --workdir; all share uv's package cache, as the
environments of one real machine would. Prints: total wall time and the per-host median
(each host's own task time, not its wait for a fork), how the CPU cores were used (/proc/stat
over the run, and the CPU seconds of ansible and everything it ran), the fleet report's build
time, and disk: one environment on its own against what the fleet adds beyond uv's cache
(uv hard-links installed files from its cache, so N environments cost little more than one).

Needs ansible-core in this Python's venv (the dev venv), the pinned uv, and a warm uv cache
for fast installs (a cold one downloads the lock once, ~450 MB for cpu).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.report import write_json  # noqa: E402
from envs.lock.pip_lock import uv_bin  # noqa: E402
from tests.fleet.sshlab import ansible_env, run_playbook  # noqa: E402

QUICK_VERIFY = ["--only", "python_platform", "keras_json", "packages"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hosts", type=int, default=50, help="simulated hosts (default 50)")
    p.add_argument("--forks", type=int, default=10, help="Ansible forks (default 10)")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/kerasup-fleet-bench"),
                   help="where the hosts' prefixes and HOMEs go (emptied first)")
    p.add_argument("--full-verify", action="store_true",
                   help="run every verify check (TensorFlow import + MNIST: ~30 s CPU a host); "
                        "default: python_platform, keras_json, packages")
    p.add_argument("--rerun", action="store_true", help="run the playbook a second time "
                   "(every host up to date) and time that too")
    p.add_argument("--keep", action="store_true", help="keep --workdir afterwards")
    p.add_argument("--json", type=Path, help="also write the figures here")
    return p


def _inventory(root: Path, hosts: int, full_verify: bool) -> Path:
    uv = uv_bin()
    cache = subprocess.run([uv, "cache", "dir"], text=True, capture_output=True,
                           check=True).stdout.strip()
    entries: dict[str, Any] = {}
    for number in range(1, hosts + 1):
        name = f"bench{number:03d}"
        host = root / "hosts" / name
        (host / "home").mkdir(parents=True)
        entries[name] = {
            "kerasup_prefix": str(host / "opt" / "kerasup" / "cpu"),
            "kerasup_toolkit_dir": str(host / "toolkit"),
            "kerasup_jupyter_prefix": str(host / "jupyter"),
            "kerasup_environment": {"HOME": str(host / "home"), "UV_CACHE_DIR": cache,
                                    "KERASUP_UV": uv},
        }
    common = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
              "kerasup_become": False, "kerasup_manage_system_packages": False,
              "kerasup_reports_dir": str(root / "reports"),
              "kerasup_ca_file": os.environ.get("SSL_CERT_FILE", ""),
              "kerasup_verify_args": [] if full_verify else QUICK_VERIFY}
    path = root / "inventory.yml"
    path.write_text(yaml.safe_dump({"lab": {"hosts": entries, "vars": common}}))
    return path


def _cpu_jiffies() -> list[tuple[int, int]]:
    """(busy, total) jiffies per CPU from /proc/stat."""
    out = []
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu") and line[3:4].isdigit():
            values = [int(v) for v in line.split()[1:]]
            idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
            out.append((sum(values) - idle, sum(values)))
    return out


def _core_use(before: list[tuple[int, int]], after: list[tuple[int, int]]) -> list[float]:
    return [round(100 * (b1 - b0) / max(t1 - t0, 1), 1)
            for (b0, t0), (b1, t1) in zip(before, after, strict=True)]


def _timed_run(inventory: Path, env: dict[str, str], times: Path) -> dict[str, Any]:
    env = {**env, "KERASUP_BENCH_TIMES": str(times)}
    cpu0, kids0, started = _cpu_jiffies(), os.times(), time.monotonic()
    run = run_playbook(inventory, env, log=times.with_suffix(".log"), timeout=7200)
    wall = time.monotonic() - started
    kids1, cpu1 = os.times(), _cpu_jiffies()
    busy = json.loads(times.read_text()) if times.exists() else {}
    children_cpu = (kids1.children_user - kids0.children_user
                    + kids1.children_system - kids0.children_system)
    return {
        "rc": run.rc, "wall_s": round(wall, 1),
        "hosts_ok": sum(1 for r in run.recap.values() if not r["failed"] and not r["unreachable"]),
        "hosts_changed": sum(1 for r in run.recap.values() if r["changed"]),
        "per_host_median_s": round(statistics.median(busy.values()), 1) if busy else None,
        "per_host_max_s": round(max(busy.values()), 1) if busy else None,
        "cores_busy_percent": _core_use(cpu0, cpu1),
        "ansible_cpu_s": round(children_cpu, 1),
        "ansible_cpu_cores_used": round(children_cpu / wall, 2),
    }


def _fleet_report(root: Path, inventory: Path) -> dict[str, Any]:
    out = root / "fleet"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "verify.fleet", str(root / "reports"),
                           "--inventory", str(inventory), "--html", str(out / "fleet.html"),
                           "--junit", str(out / "fleet.xml"), "--json", str(out / "fleet.json")],
                          cwd=REPO, text=True, capture_output=True)
    seconds = time.monotonic() - started
    counts = json.loads((out / "fleet.json").read_text())["counts"] if done.returncode < 2 else {}
    return {"rc": done.returncode, "build_s": round(seconds, 2), "counts": counts}


def _du_kib(*paths: Path) -> list[int]:
    """du's sizes in KiB, in order; a file hard-linked from an earlier argument counts once."""
    done = subprocess.run(["du", "-sk", *map(str, paths)], text=True, capture_output=True,
                          check=True)
    return [int(line.split()[0]) for line in done.stdout.splitlines()]


def _disk(root: Path) -> dict[str, Any]:
    prefixes = sorted((root / "hosts").glob("*/opt/kerasup/cpu"))
    if not prefixes:
        return {}
    cache = Path(subprocess.run([uv_bin(), "cache", "dir"], text=True, capture_output=True,
                                check=True).stdout.strip())
    one_alone = _du_kib(prefixes[0])[0]
    sizes = _du_kib(cache, *prefixes)
    beyond_cache = sum(sizes[1:])
    return {"one_env_alone_mib": one_alone // 1024, "uv_cache_mib": sizes[0] // 1024,
            "envs": len(prefixes), "all_envs_beyond_cache_mib": beyond_cache // 1024,
            "per_env_beyond_cache_mib": round(beyond_cache / len(prefixes) / 1024, 1)}


def _print(figures: dict[str, Any]) -> None:
    for name in ("first_run", "second_run"):
        run = figures.get(name)
        if not run:
            continue
        print(f"{name.replace('_', ' ')}: {run['wall_s']} s wall for {figures['hosts']} hosts "
              f"(forks {figures['forks']}); {run['hosts_ok']} ok, {run['hosts_changed']} "
              f"changed; per-host median {run['per_host_median_s']} s (max "
              f"{run['per_host_max_s']} s); cores busy {run['cores_busy_percent']} %; "
              f"ansible and its children used {run['ansible_cpu_s']} CPU-s = "
              f"{run['ansible_cpu_cores_used']} cores")
    fleet = figures["fleet_report"]
    print(f"fleet report: built in {fleet['build_s']} s (exit {fleet['rc']}): {fleet['counts']}")
    disk = figures["disk"]
    if disk:
        print(f"disk: one environment alone {disk['one_env_alone_mib']} MiB; uv cache "
              f"{disk['uv_cache_mib']} MiB; all {disk['envs']} environments add "
              f"{disk['all_envs_beyond_cache_mib']} MiB beyond the cache "
              f"({disk['per_env_beyond_cache_mib']} MiB each: the rest is hard links)")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    root = args.workdir.resolve()
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    control = Path(tempfile.mkdtemp(prefix="akcp-", dir="/tmp"))
    try:
        inventory = _inventory(root, args.hosts, args.full_verify)
        env = {**ansible_env(root, control, forks=args.forks),
               "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "benchmarks" / "ansible_plugins"),
               "ANSIBLE_CALLBACKS_ENABLED": "kerasup_hosttimes"}
        figures: dict[str, Any] = {"hosts": args.hosts, "forks": args.forks,
                                   "cpus": os.cpu_count(), "full_verify": args.full_verify}
        figures["first_run"] = _timed_run(inventory, env, root / "times-first.json")
        if args.rerun:
            figures["second_run"] = _timed_run(inventory, env, root / "times-second.json")
        figures["fleet_report"] = _fleet_report(root, inventory)
        figures["disk"] = _disk(root)
        _print(figures)
        if args.json:
            write_json(args.json, figures)
        return 0 if figures["first_run"]["rc"] == 0 else 1
    finally:
        shutil.rmtree(control, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
