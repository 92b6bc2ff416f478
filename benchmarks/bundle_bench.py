"""Bundle figures for `nox -s bench`: build time and size (CPU, linux-64, Python 3.12), and
the offline install from the bundle with an empty uv cache against its floor, a plain
`uv pip sync --offline --no-index --find-links` of the same wheels with an empty cache.

The install is the real command line, `setup/bootstrap.py --from-bundle B --prefix P
--no-verify --no-kernel`: the plan, the bundle check, uv (venv and sync), the toolkit copy,
the site hook, the record and keras.json. Verify and the Jupyter kernel are not installing
the wheels, and are measured apart (verify by `nox -s bench`).

Usage: python benchmarks/bundle_bench.py [--cache DIR] [--data MNIST] [--python EXE]
                                         [--repeat N] [--json FILE]
Standard library only (run it with any Python 3.10+ from the repository root).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import write_json
from setup.installer.bundle.build import BundleRequest, make_bundle
from setup.installer.bundle.manifest import Manifest
from setup.installer.bundle.select import BundleTarget

REPO = Path(__file__).resolve().parents[1]


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _uv(root: Path, manifest: Manifest, dest: Path) -> Path:
    """The bundle's uv, unpacked for the floor."""
    with zipfile.ZipFile(root / manifest.uv["linux-64"]) as wheel:
        member = next(n for n in wheel.namelist() if n.endswith(".data/scripts/uv"))
        dest.mkdir(parents=True)
        (dest / "uv").write_bytes(wheel.read(member))
    (dest / "uv").chmod(0o755)
    return dest / "uv"


def _floor(root: Path, manifest: Manifest, uv: Path, python: str, tmp: Path) -> float:
    env = {"PATH": "/usr/bin:/bin", "UV_CACHE_DIR": str(tmp / "cache"), "UV_OFFLINE": "1",
           "UV_NO_CONFIG": "1", "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run([str(uv), "venv", "--python", python, str(tmp / "venv")], env=env,
                   check=True, capture_output=True)
    start = time.monotonic()
    subprocess.run([str(uv), "pip", "sync", "--offline", "--no-index", "--find-links",
                    str(root / "wheels"), "--require-hashes", "--python",
                    str(tmp / "venv/bin/python"), str(root / manifest.lock)],
                   env=env, check=True, capture_output=True)
    return time.monotonic() - start


def _bundle_install(root: Path, python: str, tmp: Path) -> float:
    tmp.mkdir()
    env = {"PATH": "/usr/bin:/bin", "UV_CACHE_DIR": str(tmp / "cache"), "HOME": str(tmp),
           "LANG": "C.UTF-8"}
    start = time.monotonic()
    subprocess.run([sys.executable, str(REPO / "setup" / "bootstrap.py"), "--from-bundle",
                    str(root), "--prefix", str(tmp / "env"), "--python-exe", python,
                    "--no-verify", "--no-kernel"], env=env, check=True, capture_output=True,
                   cwd=tmp)
    return time.monotonic() - start


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--cache", type=Path, help="verified wheel cache (default: a new, empty one)")
    p.add_argument("--data", type=Path)
    p.add_argument("--python", default=sys.executable, help="CPython 3.12 for the installs")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    target = BundleTarget("linux-64", "3.12")
    with tempfile.TemporaryDirectory(prefix="kerasup-bundle-bench-") as tmp_name:
        tmp = Path(tmp_name)
        cache = args.cache or tmp / "wheel-cache"
        start = time.monotonic()
        built = make_bundle(BundleRequest(out=tmp / "bundle.tar.gz", targets=(target,),
                                          data=args.data, cache=cache))
        build_s = time.monotonic() - start
        start = time.monotonic()
        make_bundle(BundleRequest(out=tmp / "bundle", targets=(target,), data=args.data,
                                  cache=cache))
        rerun_s = time.monotonic() - start
        root = built.directory
        uv = _uv(root, built.manifest, tmp / "uv")
        floors, installs = [], []
        for i in range(args.repeat):  # alternate, so drift on a shared machine hits both
            floors.append(_floor(root, built.manifest, uv, args.python, tmp / f"f{i}"))
            installs.append(_bundle_install(root, args.python, tmp / f"b{i}"))
        figures = {
            "bundle_build_s": round(build_s, 2), "bundle_rerun_s": round(rerun_s, 2),
            "cache": "given" if args.cache else "empty (downloads from PyPI)",
            "bundle_dir_mb": round(_size(root) / 1e6, 1),
            "bundle_tar_gz_mb": round(built.archive.stat().st_size / 1e6, 1)
            if built.archive else None,
            "floor_sync_s": round(statistics.median(floors), 2),
            "bundle_install_s": round(statistics.median(installs), 2),
            "overhead_pct": round(100 * (statistics.median(installs)
                                         / statistics.median(floors) - 1), 1),
            "install_vs_floor": round(statistics.median(installs)
                                      / statistics.median(floors), 2),
            "runs": {"floor": [round(x, 2) for x in floors],
                     "install": [round(x, 2) for x in installs]},
        }
    print(json.dumps(figures, indent=2))
    if args.json:
        write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
