"""``python -m verify.fleet REPORTS_DIR [--inventory FILE] [--since TIME] [--lock FILE]
[--html FILE] [--junit FILE] [--json FILE]``.

Exit status: 0 every expected host is ready; 1 not; 2 usage error; 3 an output file could not
be written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

from envs.contract.errors import ExitCode
from envs.contract.fileio import UnsafeTarget, file_sha256, output_kind, write_outputs
from verify.fleet.aggregate import build_fleet
from verify.fleet.load import load_reports, read_inventory
from verify.fleet.render import to_html, to_json, to_junit, to_text

PROG = "python -m verify.fleet"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="One readiness report for a lab, from "
                                "the verify JSON reports of each machine (<host>.json).")
    p.add_argument("reports_dir", type=Path, help="folder of <inventory_hostname>.json reports")
    p.add_argument("--inventory", type=Path, help="Ansible inventory (INI or YAML): hosts "
                   "listed there without a report are counted as not ready")
    p.add_argument("--since", help="UTC time the playbook run started (ISO 8601); older "
                   "reports are stale")
    p.add_argument("--lock", type=Path, help="the lock every host should match (default: the "
                   "one most reports name)")
    p.add_argument("--html", type=Path, help="write a self-contained HTML page here")
    p.add_argument("--junit", type=Path, help="write JUnit XML here")
    p.add_argument("--json", type=Path, help="write a JSON summary here")
    return p


def _usage(message: str, fix: str) -> int:
    print(f"{PROG}: error: {message} (fix: {fix})", file=sys.stderr)
    return ExitCode.USAGE


def _since(raw: str | None) -> dt.datetime | None:
    if raw is None:
        return None
    when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.reports_dir.is_dir():
        return _usage(f"{args.reports_dir} is not a folder", "name the folder the playbook "
                      "fetched the reports to (kerasup_reports_dir)")
    try:
        expected = read_inventory(args.inventory) if args.inventory else []
        since = _since(args.since)
        lock_sha = file_sha256(args.lock) if args.lock else None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return _usage(str(exc), "check --inventory, --since (ISO 8601) and --lock")
    targets = {"--html": args.html, "--junit": args.junit, "--json": args.json}
    for flag, path in targets.items():
        try:
            if path is not None:
                output_kind(path)  # the same rule as verify's reports, before any work
        except UnsafeTarget as exc:
            return _usage(f"{flag} {path}: {exc.strerror}", f"{exc.fix}: {flag} FILE")
    fleet = build_fleet(load_reports(args.reports_dir), expected, since=since,
                        lock_sha256=lock_sha)
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


if __name__ == "__main__":
    sys.exit(main())
