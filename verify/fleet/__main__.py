"""``python -m verify.fleet REPORTS_DIR [--inventory FILE] [--since TIME] [--ran HOSTS]
[--lock FILE] [--html FILE] [--junit FILE] [--json FILE]``.

Exit status: 0 every expected host is ready; 1 not; 2 usage error (a bad option, or an
inventory Ansible cannot read); 3 an output file could not be written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from envs.contract.errors import ExitCode
from envs.contract.fileio import UnsafeTarget, output_kind, write_outputs
from verify.fleet.aggregate import build_fleet
from verify.fleet.inventory import InventoryError, read_inventory
from verify.fleet.load import load_play_records, load_reports, load_setup_errors, parse_time
from verify.fleet.locks import LockSets
from verify.fleet.render import to_html, to_json, to_junit, to_text

PROG = "python -m verify.fleet"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="One readiness report for a lab, from "
                                "the verify JSON reports of each machine (<host>.json) and "
                                "the setup failures the role recorded (<host>.setup-error.txt), "
                                "with each host's own name as the play read it "
                                "(<host>.play.txt).")
    p.add_argument("reports_dir", type=Path, help="folder of <inventory_hostname>.json reports")
    p.add_argument("--inventory", type=Path, help="Ansible inventory (read with Ansible, "
                   "which must be installed): hosts listed there without a report are "
                   "counted as not ready")
    p.add_argument("--since", help="UTC time the playbook run started (ISO 8601); older "
                   "reports are stale")
    p.add_argument("--ran", help="comma-separated hosts the play ran (after --limit): "
                   "--since applies to them only (the playbook prints it)")
    p.add_argument("--lock", type=Path, help="the lock every host should match, "
                   "requirements.txt or pylock.toml (default: the one most reports name)")
    p.add_argument("--html", type=Path, help="write a self-contained HTML page here")
    p.add_argument("--junit", type=Path, help="write JUnit XML here")
    p.add_argument("--json", type=Path, help="write a JSON summary here")
    return p


def _usage(message: str, fix: str) -> int:
    print(f"{PROG}: error: {message} (fix: {fix})", file=sys.stderr)
    return ExitCode.USAGE


def _refused_target(targets: dict[str, Path | None]) -> int | None:
    """The exit status when an output path breaks verify's rule for reports (checked before
    any work: a link, a directory or a block device is refused; a device is written to)."""
    for flag, path in targets.items():
        try:
            if path is not None:
                output_kind(path)
        except UnsafeTarget as exc:
            return _usage(f"{flag} {path}: {exc.strerror}", f"{exc.fix}: {flag} FILE")
    return None


def _run(args: argparse.Namespace) -> int:
    if not args.reports_dir.is_dir():
        return _usage(f"{args.reports_dir} is not a folder", "name the folder the playbook "
                      "fetched the reports to (kerasup_reports_dir)")
    since = parse_time(args.since) if args.since is not None else None
    if args.since is not None and since is None:
        return _usage(f"--since {args.since!r} is not an ISO 8601 time",
                      "pass the time the playbook printed, e.g. 2026-11-29T08:00:00Z")
    try:
        inventory = read_inventory(args.inventory) if args.inventory else None
    except InventoryError as exc:
        return _usage(str(exc), exc.fix)
    try:
        locks = LockSets(args.lock)
    except (OSError, ValueError) as exc:
        return _usage(f"--lock {args.lock}: {exc}", "name a requirements.txt or pylock.toml")
    targets = {"--html": args.html, "--junit": args.junit, "--json": args.json}
    refused = _refused_target(targets)
    if refused is not None:
        return refused
    fleet = build_fleet(
        load_reports(args.reports_dir, {path for path in targets.values() if path}),
        inventory.hosts if inventory else (), setup_errors=load_setup_errors(args.reports_dir),
        addresses=inventory.addresses if inventory else {},
        records=load_play_records(args.reports_dir), since=since,
        ran=[h for h in args.ran.split(",") if h] if args.ran else None, locks=locks)
    renders = {"--html": to_html, "--junit": to_junit, "--json": to_json}
    try:  # all or none: a new HTML page never sits beside an old JSON summary
        write_outputs({path: renders[flag](fleet) for flag, path in targets.items() if path})
    except OSError as exc:
        print(f"{PROG}: error: cannot write {exc.filename or 'the outputs'} "
              f"({exc.strerror or exc}) (fix: choose a writable place with free space)",
              file=sys.stderr)
        return ExitCode.CANNOT_PROCEED
    sys.stdout.write(to_text(fleet))
    return ExitCode.OK if fleet.ok else ExitCode.FAILED


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except OSError as exc:  # the reports folder itself became unreadable
        return _usage(f"cannot read {args.reports_dir} ({exc.strerror or exc})",
                      "check the folder and its permissions")


if __name__ == "__main__":
    sys.exit(main())
