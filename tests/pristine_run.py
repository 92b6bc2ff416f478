"""The README on a machine as it ships: a Debian root filesystem made by debootstrap (minbase,
plus git, python3-venv and ca-certificates), the host's TLS-intercepting proxy CA only in its
system store, and a new non-root account with a clean environment (``env -i`` + a login
shell: no SSL_CERT_FILE, no pyenv, an empty uv cache). GitHub stays unreachable.

    python tests/pristine_run.py [--release 12] [--release 13] [--bench] [--json OUT]

Per release:
1. the failure path: graphviz absent and no sudo -> ``./setup/ubuntu.sh`` exits 3 with one
   line naming the exact root command; that command is then run, as root, verbatim;
2. the README verbatim as the new account: clone, ``./setup/ubuntu.sh``, ``source
   .venv/bin/activate``, ``python -m verify``, the example with ``--data``; verify must be
   green (exit 0, every check passed or warned);
3. with ``--bench``: what a newcomer does instead, in the same root filesystem, as another new
   account: ``python3 -m venv v && v/bin/pip install tensorflow`` (which verifies nothing).

The root filesystem is cached as ``.nox/pristine/debian-<release>-<key>.tar`` (or under
KERASUP_PRISTINE_CACHE: .ci/run keeps it in the machine's cache, as CI systems keep theirs),
the key naming the suite, the packages added and the mirror. A run without it, or with one
older than KERASUP_PRISTINE_MAX_AGE_DAYS (default 7: the archive moves on), is cold: it
debootstraps anew, under a lock so that concurrent runs build it once. Each run unpacks a
fresh copy on a tmpfs of its own (``run-<release>-<pid>``: two runs sharing a cache, such as
CI and ``nox -s bench``, never unmount each other's) and drops it. The mirror is the
machine's own (its apt sources). Needs root, debootstrap, unshare and the network the
install needs. Prints one JSON object (timings in seconds) and exits 1 when a step failed.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("KERASUP_PRISTINE_CACHE") or REPO / ".nox" / "pristine")
SUITES = {"12": "bookworm", "13": "trixie"}
MNIST = next((p for p in (REPO.parent / "shared" / "data" / "mnist-t10k",) if p.is_dir()), None)
USER = "kerasup-newcomer"
PIP_USER = "pip-newcomer"
INCLUDE = "git,python3-venv,ca-certificates"
MAX_AGE_ENV = "KERASUP_PRISTINE_MAX_AGE_DAYS"


def apt_mirror() -> str:
    """The first Debian archive URI in this machine's apt sources (never hard-coded)."""
    texts = [p.read_text(encoding="utf-8", errors="replace")
             for p in [Path("/etc/apt/sources.list"),
                       *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
             if p.is_file() and p.suffix in ("", ".list", ".sources")]
    for text in texts:
        for uri in re.findall(r"^(?:URIs:\s*|deb\s+(?:\[[^]]*\]\s+)?)(\S+)", text, re.M):
            if "security" not in uri and "debian" in uri:
                return uri
    raise SystemExit("pristine: no Debian mirror in /etc/apt/sources* (fix: add one)")


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive flock on ``path`` for the block (waits for another run holding it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def max_age_days() -> float:
    """How old a cached root filesystem may be before it is made again (MAX_AGE_ENV)."""
    text = os.environ.get(MAX_AGE_ENV) or "7"
    try:
        return float(text)
    except ValueError:
        raise SystemExit(f"pristine: error: {MAX_AGE_ENV}={text!r} is not a number of days "
                         f"(fix: e.g. {MAX_AGE_ENV}=7)") from None


def cache_tar(release: str) -> Path:
    """Where the root filesystem for ``release`` is cached: its name holds what made it (the
    suite, the packages added, the mirror), so a change to any of them never reuses it."""
    made_by = f"{SUITES[release]} {INCLUDE} {apt_mirror()}"
    return CACHE / f"debian-{release}-{hashlib.sha256(made_by.encode()).hexdigest()[:12]}.tar"


def is_fresh(tar: Path) -> bool:
    """A cached root filesystem that exists and is younger than max_age_days()."""
    return tar.is_file() and time.time() - tar.stat().st_mtime < max_age_days() * 86400


def cached_rootfs(release: str, timings: dict[str, float]) -> Path:
    """The cached root filesystem, made by debootstrap when missing or stale (timed), by one
    run at a time."""
    tar = cache_tar(release)
    with _locked(CACHE / f"debian-{release}.lock"):
        if not is_fresh(tar):
            _debootstrap(release, tar, timings)
    return tar


def _debootstrap(release: str, tar: Path, timings: dict[str, float]) -> None:
    build = CACHE / f"build-{release}"
    if build.exists():
        shutil.rmtree(build)
    started = time.monotonic()
    subprocess.run(["debootstrap", "--variant=minbase", f"--include={INCLUDE}",
                    SUITES[release], str(build), apt_mirror()], check=True,
                   stdout=subprocess.DEVNULL)
    timings["debootstrap"] = time.monotonic() - started
    part = tar.with_suffix(".tar.part")
    subprocess.run(["tar", "-C", str(build), "--numeric-owner", "-cf", str(part), "."],
                   check=True)
    part.replace(tar)
    shutil.rmtree(build)


def unpack(tar: Path, root: Path) -> None:
    """A fresh copy of the root filesystem on its own tmpfs (unpacked and dropped in
    seconds, where a 2.5 GB tree on disk takes a minute to remove)."""
    drop(root)
    root.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8g,mode=755", "kerasup-pristine",
                    str(root)], check=True)
    subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-xpf", str(tar)], check=True)


def drop(root: Path) -> None:
    """Unmount the run's tmpfs (when mounted) and remove its mount point."""
    if root.is_mount():
        subprocess.run(["umount", str(root)], check=True)
    if root.exists():
        shutil.rmtree(root)


def in_root(root: Path, *cmd: str, user: str | None = None,
            timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    """``cmd`` in the root filesystem (private mounts: /proc, /dev), as root or, with
    ``user``, in that account's login shell under ``env -i``."""
    inner = (["/usr/bin/env", "-i", "/usr/sbin/runuser", "-l", user, "-c", cmd[0]] if user
             else list(cmd))
    mount = ('mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" && '
             'mount --make-rslave "$0/dev" && exec chroot "$0" "$@"')
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", mount,
                           str(root), *inner], capture_output=True, text=True,
                          timeout=timeout, check=False, errors="replace")


def prepare(root: Path) -> None:
    """The host's proxy CA into the system store only; DNS; the repository; MNIST; users."""
    cas = sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))
    for ca in cas:
        shutil.copy(ca, root / "usr/local/share/ca-certificates" / ca.name)
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    subprocess.run(["git", "clone", "--quiet", "--bare", str(REPO), str(root / "srv/kerasup.git")],
                   check=True)
    if MNIST is not None:
        shutil.copytree(MNIST, root / "srv/mnist")
    # The clone's source is the new account's own (git refuses a repository another account
    # owns: "dubious ownership").
    for step in (["update-ca-certificates"], ["useradd", "-m", "-s", "/bin/bash", USER],
                 ["useradd", "-m", "-s", "/bin/bash", PIP_USER],
                 ["chown", "-R", f"{USER}:{USER}", "/srv/kerasup.git"]):
        done = in_root(root, *step)
        if done.returncode:
            raise SystemExit(f"pristine: {' '.join(step)} failed: {done.stderr[-500:]}")


def failure_path(root: Path, out: dict[str, Any]) -> str | None:
    """graphviz absent, no sudo: exit 3 and one line with the exact root command (returned)."""
    done = in_root(root, "git clone -q /srv/kerasup.git kerasup && cd kerasup && "
                   "./setup/ubuntu.sh", user=USER, timeout=600)
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    match = re.search(r"run this as root, then run this script again: (.+)\)$",
                      errors[-1]) if errors else None
    out["failure_path"] = {"exit": done.returncode, "lines": errors,
                           "ok": done.returncode == 3 and len(errors) == 1 and bool(match)}
    if not out["failure_path"]["ok"]:
        out["failure_path"]["tail"] = (done.stdout + done.stderr)[-3000:]
    return match.group(1) if match else None


def _graphviz_seen(root: Path) -> dict[str, Any]:
    """After the root command: dot as the new account's login shell finds it (what setup will
    see), dpkg's record of graphviz, and which filesystem the root is (a root replaced under
    this run would show here)."""
    dot = in_root(root, "command -v dot", user=USER)
    dpkg = in_root(root, "dpkg-query", "-W", "-f", "${Status} ${Version}", "graphviz")
    return {"dot": dot.stdout.strip() or None, "dpkg": (dpkg.stdout or dpkg.stderr).strip(),
            "root_dev": root.stat().st_dev}


def readme(root: Path, out: dict[str, Any]) -> None:
    """The README's commands, verbatim, as the new account; verify must be green."""
    steps = [("setup", "cd kerasup && ./setup/ubuntu.sh"),
             ("verify", "cd kerasup && source .venv/bin/activate && python -m verify"),
             ("example", "cd kerasup && source .venv/bin/activate && "
                         "python examples/mnist_dense.py --data /srv/mnist --out out/mnist")]
    for name, script in steps:
        started = time.monotonic()
        done = in_root(root, script, user=USER)
        out[name] = {"exit": done.returncode, "seconds": round(time.monotonic() - started, 1)}
        if done.returncode:
            out[name]["tail"] = (done.stdout + done.stderr)[-3000:]
            return
    report = root / "home" / USER / "kerasup/.venv/share/kerasup/verify-report.json"
    data = json.loads(report.read_text(encoding="utf-8"))
    out["verify"]["checks"] = {c.get("name"): c.get("status") for c in data.get("checks", [])}


def plain_pip(root: Path, out: dict[str, Any]) -> None:
    """What a newcomer does instead (no verification), timed, as another new account."""
    started = time.monotonic()
    done = in_root(root, "python3 -m venv v && v/bin/pip install -q tensorflow", user=PIP_USER)
    out["plain_pip"] = {"exit": done.returncode,
                        "seconds": round(time.monotonic() - started, 1)}
    if done.returncode:
        out["plain_pip"]["tail"] = (done.stdout + done.stderr)[-2000:]


def run_release(release: str, bench: bool) -> dict[str, Any]:
    timings: dict[str, float] = {}
    out: dict[str, Any] = {"release": release, "cold": not is_fresh(cache_tar(release))}
    started = time.monotonic()
    tar = cached_rootfs(release, timings)
    root = CACHE / f"run-{release}-{os.getpid()}"
    try:
        unpack(tar, root)
        prepare(root)
        out["rootfs_seconds"] = round(time.monotonic() - started, 1)
        command = failure_path(root, out)
        if command:
            done = in_root(root, "sh", "-c", command)  # the printed command, verbatim
            out["root_command"] = {"command": command, "exit": done.returncode,
                                   **_graphviz_seen(root)}
            if done.returncode or not out["root_command"]["dot"]:
                out["root_command"]["tail"] = (done.stdout + done.stderr)[-3000:]
            readme(root, out)
        if bench:
            plain_pip(root, out)
    finally:
        drop(root)
    out.update({k: round(v, 1) for k, v in timings.items()})
    out["total_seconds"] = round(time.monotonic() - started, 1)
    out["green"] = bool(out["failure_path"]["ok"] and out.get("verify", {}).get("exit") == 0
                        and out.get("example", {}).get("exit") == 0
                        and out.get("setup", {}).get("exit") == 0)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--release", action="append", choices=sorted(SUITES))
    p.add_argument("--bench", action="store_true", help="also time the plain pip route")
    p.add_argument("--json", type=Path, help="write the result here too")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("pristine: error: needs root (debootstrap, chroot and mounts) (fix: run it as "
              "root, e.g. sudo nox -s pristine)", file=sys.stderr)
        return 3
    for tool in ("debootstrap", "unshare", "chroot", "tar"):
        if shutil.which(tool) is None:
            print(f"pristine: error: needs {tool} (fix: sudo apt-get install debootstrap "
                  "util-linux coreutils tar)", file=sys.stderr)
            return 3
    results = [run_release(r, args.bench) for r in args.release or ["12"]]
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0 if all(r["green"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
