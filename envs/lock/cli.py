"""Command line of `python -m envs.lock` (what `nox -s lock` runs): argument parsing only."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from envs.contract.errors import ExitCode, KerasupError
from envs.contract.facts import VARIANTS
from envs.contract.fileio import UnsafeTarget
from envs.lock.spec import ENVS_DIR

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    """The argument parser (its --help is the tool's usage)."""
    p = argparse.ArgumentParser(
        prog="python -m envs.lock",
        description="Lock envs/<variant>/environment.yml into requirements.txt, pylock.toml "
                    "and conda-lock.yml, or check (offline) that the committed locks are fresh.")
    p.add_argument("--variant", action="append", choices=VARIANTS, dest="variants",
                   help="variant to lock or check (repeatable; default: all)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="exit 1, naming the file, if a lock is stale against its "
                           "environment.yml; offline, changes nothing")
    mode.add_argument("--reproduce", action="store_true",
                      help="re-run the lock step against the recorded index snapshot "
                           "(envs/index-snapshot, served on loopback; no network needed) and "
                           "exit 1 unless every lock file is identical; writes nothing")
    mode.add_argument("--drift", action="store_true",
                      help="resolve against the live index as of now and report what a relock "
                           "would change (exit 1 if anything); writes nothing")
    p.add_argument("--extend", action="store_true",
                   help="relock replaying the recorded index snapshot, asking the live index "
                        "only for what it lacks (a package newly added to environment.yml) "
                        "and recording that: the versions already locked cannot drift")
    p.add_argument("--index-url", metavar="URL",
                   help="with --drift: the index to ask (default: the one the snapshot "
                        "records); credentials in it reach uv through its environment only")
    p.add_argument("--conda-snapshot", type=Path, metavar="DIR",
                   help="solve the conda part against this local conda-forge snapshot instead "
                        "of the live channel (env: KERASUP_CONDA_SNAPSHOT)")
    p.add_argument("--exclude-newer", metavar="DATE",
                   help="resolve pip packages as PyPI stood at DATE (default: the date "
                        "recorded in the current lock, so re-runs reproduce it)")
    p.add_argument("--refresh", action="store_true",
                   help="resolve pip packages as PyPI stands now (use after bumping a version)")
    p.add_argument("--offline-pip", action="store_true",
                   help="resolve pip packages from uv's cache only, without asking PyPI")
    p.add_argument("--conda-only", action="store_true",
                   help="re-solve only conda-lock.yml, re-using the (fresh) pip locks")
    p.add_argument("--envs-dir", type=Path, default=ENVS_DIR, metavar="DIR",
                   help="directory holding <variant>/environment.yml (default: %(default)s)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tool; returns the exit status (envs.contract.errors.ExitCode: 0 ok, 1 stale,
    2 bad input (a bad environment.yml or lock), 3 cannot proceed (offline), 130 ^C)."""
    args = parser().parse_args(argv)
    if args.refresh and args.exclude_newer:
        print("error: --refresh and --exclude-newer contradict each other; pass one",
              file=sys.stderr)
        return ExitCode.USAGE
    if args.index_url and not args.drift:
        print("error: --index-url goes with --drift (a relock records the snapshot's index)",
              file=sys.stderr)
        return ExitCode.USAGE
    if (args.reproduce or args.drift or args.check) and args.extend:
        print("error: --extend is a kind of relock; --check, --reproduce and --drift write "
              "nothing: drop one", file=sys.stderr)
        return ExitCode.USAGE
    if args.extend and (args.refresh or args.exclude_newer or args.offline_pip or
                        args.conda_only):
        print("error: --extend keeps the lock's date and asks the index, so it takes no "
              "--refresh, --exclude-newer, --offline-pip or --conda-only; drop it",
              file=sys.stderr)
        return ExitCode.USAGE
    if (args.reproduce or args.drift) and (args.refresh or args.exclude_newer or
                                           args.offline_pip or args.conda_only):
        print("error: --reproduce and --drift take the lock's own dates and write nothing, so "
              "they take no relock option; drop it", file=sys.stderr)
        return ExitCode.USAGE
    if args.conda_only and (args.refresh or args.exclude_newer or args.offline_pip):
        print("error: --conda-only keeps the pip locks, so it takes no pip option; drop one",
              file=sys.stderr)
        return ExitCode.USAGE
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(message)s", stream=sys.stderr)
    try:
        from envs.lock import workflow

        if args.reproduce or args.drift:
            return _compare(args)
        return workflow.run(variants=args.variants or list(VARIANTS), check=args.check,
                            conda_snapshot=args.conda_snapshot, refresh=args.refresh,
                            exclude_newer=args.exclude_newer, offline_pip=args.offline_pip,
                            conda_only=args.conda_only, envs_dir=args.envs_dir,
                            extend=args.extend)
    except KerasupError as exc:  # LockError, a malformed KERASUP_* variable
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return int(exc.code)
    except UnsafeTarget as exc:  # a link or device where the lock step writes a file
        print(f"error: {exc.as_usage_error().one_line()}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED


def _compare(args: argparse.Namespace) -> int:
    """--reproduce or --drift over the chosen variants."""
    from envs.lock import reproduce
    from envs.lock.index_snapshot import SNAPSHOT_DIR
    from envs.lock.spec import load_spec
    from envs.lock.workflow import choose_conda_source

    specs = [load_spec(v, args.envs_dir) for v in dict.fromkeys(args.variants or VARIANTS)]
    if args.drift:
        return reproduce.drift(specs, args.index_url)
    return reproduce.reproduce(specs, choose_conda_source(args.conda_snapshot),
                               args.envs_dir / SNAPSHOT_DIR.name)
