"""Command-line parsing for ``python -m verify`` (parsing only: no checks run here)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from envs.contract.facts import VARIANTS
from verify import __version__
from verify.checks import CHECK_NAMES, normalize_name

__all__ = ["Options", "build_parser", "parse_args"]

EPILOG = """\
exit status: 0 every selected check passed (warnings allowed), 1 a check failed or
crashed, 2 usage error (also: a --json/--junit place that cannot be written, a --lock that
is not a kerasup lock, nothing selected), 3 the reports could not be written, 130
interrupted (no report written).

examples:
  python -m verify                         quick readiness report
  python -m verify --data DIR --full       the tutorial's 5 epochs on your MNIST copy
  python -m verify --only keras_json --fix repair ~/.keras/keras.json (backup kept)
  python -m verify --json report.json --junit report.xml   for CI and IT dashboards
"""


@dataclass(frozen=True)
class Options:
    """What the user asked for, as parsed from the command line."""

    list_checks: bool = False
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    variant: str | None = None
    lock: Path | None = None
    data: Path | None = None
    full: bool = False
    out: Path | None = None
    fix: bool = False
    deep: bool = False
    expect_gpu: bool | None = None
    json: Path | None = None
    junit: Path | None = None
    verbose: bool = False
    color: bool | None = None
    selected: tuple[str, ...] = field(default=CHECK_NAMES)


def _check_names(parser: argparse.ArgumentParser, names: Sequence[str], flag: str) -> list[str]:
    out: list[str] = []
    for raw in names:
        for part in raw.split(","):
            if not part.strip():
                continue
            name = normalize_name(part)
            if name not in CHECK_NAMES:
                parser.error(f"{flag}: unknown check {part!r}; choose from "
                             f"{', '.join(CHECK_NAMES)} (see --list)")
            out.append(name)
    return out


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to render --help in the README)."""
    p = argparse.ArgumentParser(
        prog="python -m verify",
        description="Check that this machine is ready for Keras/TensorFlow and, if not, "
                    "say exactly why and how to fix it.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sel = p.add_argument_group("selecting checks")
    sel.add_argument("--list", dest="list_checks", action="store_true",
                     help="list the checks and exit")
    sel.add_argument("--only", nargs="+", metavar="CHECK", default=[],
                     help="run only these checks")
    sel.add_argument("--skip", nargs="+", metavar="CHECK", default=[],
                     help="do not run these checks")
    env = p.add_argument_group("what to expect")
    env.add_argument("--variant", choices=VARIANTS,
                     help="the environment variant (default: from the install record "
                          "<prefix>/share/kerasup/install.json, else inferred)")
    env.add_argument("--lock", type=Path, metavar="PATH",
                     help="the lock to compare against: a pip requirements.txt lock, a "
                          "conda-lock.yml or a pylock.toml (default: the install record's)")
    env.add_argument("--expect-gpu", dest="expect_gpu", action="store_true", default=None,
                     help="fail unless TensorFlow can use a GPU (default for variant gpu)")
    env.add_argument("--no-expect-gpu", dest="expect_gpu", action="store_false",
                     help="do not require a GPU (default for variant cpu)")
    env.add_argument("--deep", action="store_true",
                     help="packages: also compare every installed file's sha256 with its "
                          "RECORD (reads every byte; default: existence and size only)")
    work = p.add_argument_group("the MNIST smoke model and the model graph")
    work.add_argument("--data", type=Path, metavar="PATH",
                      help="MNIST as a directory of IDX files or an mnist.npz (default: the "
                           "Keras cache, a download, else a synthetic stand-in)")
    work.add_argument("--full", action="store_true",
                      help="train the tutorial's 5 epochs on all the data (default: quick)")
    work.add_argument("--out", type=Path, metavar="DIR",
                      help="keep model.png and model.svg here (default: drawn in a temporary "
                           "folder, removed afterwards)")
    work.add_argument("--fix", action="store_true",
                      help="repair keras.json (after a timestamped backup); nothing is "
                           "written without it")
    rep = p.add_argument_group("reports")
    rep.add_argument("--json", type=Path, metavar="FILE",
                     help="write the JSON report here (atomically, once the run is complete)")
    rep.add_argument("--junit", type=Path, metavar="FILE",
                     help="write JUnit XML here (atomically, with the JSON report)")
    rep.add_argument("-v", "--verbose", action="store_true",
                     help="details for every check, and TensorFlow's own log lines")
    rep.add_argument("--color", dest="color", action="store_true", default=None,
                     help="colour even when not on a terminal")
    rep.add_argument("--no-color", dest="color", action="store_false",
                     help="never colour (NO_COLOR is honoured too)")
    p.add_argument("--version", action="version", version=f"kerasup verify {__version__}")
    return p


def parse_args(argv: Sequence[str] | None = None) -> Options:
    """Parse ``argv``; a usage error exits with status 2 (argparse's convention)."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    only = _check_names(parser, ns.only, "--only")
    skip = _check_names(parser, ns.skip, "--skip")
    if ns.lock is not None and not ns.lock.is_file():
        parser.error(f"--lock {ns.lock}: no such file")
    if ns.only and not only:
        parser.error(f"--only {' '.join(ns.only)!r} names no check; choose from "
                     f"{', '.join(CHECK_NAMES)} (see --list)")
    selected = tuple(n for n in CHECK_NAMES if (not only or n in only) and n not in skip)
    if not selected and not ns.list_checks:
        parser.error("--only/--skip leave no check to run; select at least one (see --list)")
    return Options(
        list_checks=ns.list_checks, only=tuple(only), skip=tuple(skip), variant=ns.variant,
        lock=ns.lock.resolve() if ns.lock else None, data=ns.data, full=ns.full,
        out=ns.out, fix=ns.fix, deep=ns.deep, expect_gpu=ns.expect_gpu, json=ns.json,
        junit=ns.junit,
        verbose=ns.verbose, color=ns.color, selected=selected,
    )
