"""Stand-in CLI: ``python -m setup.installer.bundle make|check|install ...`` (see
setup/installer/bundle/README.md). Errors are one line on stderr with the documented exit
code (2 bad input or a refused bundle, 3 cannot proceed)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from envs.contract.errors import ExitCode, KerasupError
from envs.contract.facts import DEFAULT_PYTHON, VARIANTS
from envs.contract.platforms import current_platform
from setup.installer.bundle.build import BundleRequest, default_data, make_bundle
from setup.installer.bundle.check import check_bundle, open_bundle
from setup.installer.bundle.offline import install_from_bundle, python_minor
from setup.installer.bundle.select import BUNDLE_PLATFORMS, parse_target


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m setup.installer.bundle")
    sub = p.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make", help="build an offline bundle")
    make.add_argument("out", type=Path, help="bundle folder, or a .tar.gz/.zip path")
    make.add_argument("--variant", choices=VARIANTS, default="cpu")
    make.add_argument("--platform", action="append", choices=BUNDLE_PLATFORMS)
    make.add_argument("--python", action="append")
    make.add_argument("--data", type=Path, help="MNIST folder or mnist.npz to carry")
    make.add_argument("--index-url", help="download from this index (a mirror)")
    make.add_argument("--cache", type=Path, help="verified wheel cache folder")
    check = sub.add_parser("check", help="check a bundle against its manifest")
    check.add_argument("bundle", type=Path)
    check.add_argument("--platform", default=None)
    check.add_argument("--python", default=None)
    inst = sub.add_parser("install", help="create an environment from a bundle, offline")
    inst.add_argument("bundle", type=Path)
    inst.add_argument("--prefix", type=Path, required=True)
    inst.add_argument("--python-exe", default=sys.executable)
    return p


def _make(args: argparse.Namespace) -> dict[str, object]:
    targets = tuple(parse_target(p, py) for p in args.platform or [current_platform()]
                    for py in args.python or [DEFAULT_PYTHON])
    result = make_bundle(BundleRequest(out=args.out, targets=targets, variant=args.variant,
                                       data=args.data or default_data(), cache=args.cache,
                                       index_url=args.index_url),
                         progress=lambda name: print(f"kerasup: wheel {name}", file=sys.stderr))
    return {"bundle": str(result.directory), "archive": str(result.archive or ""),
            "files": len(result.manifest.files), "targets": result.manifest.target_labels()}


def _check(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="kerasup-check-") as tmp:
        root = open_bundle(args.bundle, Path(tmp))
        manifest = check_bundle(root, args.platform or current_platform(),
                                args.python or python_minor(sys.executable))
    return {"ok": True, "targets": manifest.target_labels(), "files": len(manifest.files)}


def _install(args: argparse.Namespace) -> dict[str, object]:
    done = install_from_bundle(args.bundle, args.prefix, args.python_exe)
    return {"prefix": str(done.prefix), "toolkit": str(done.toolkit),
            "seconds": {k: round(v, 3) for k, v in done.seconds.items()}}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        out = {"make": _make, "check": _check, "install": _install}[args.command](args)
    except KerasupError as exc:
        print(f"kerasup: error: {exc.one_line()}", file=sys.stderr)
        return int(exc.code)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    print(json.dumps(out))
    return int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
