"""kerasup benchmarks: every figure side by side in one run, each a ratio where a ratio means
something: verify against a bare `import tensorflow, keras` (wall and peak memory, alternated
pairs), setup's no-op re-run against verify, the smoke model against the matmul floor, uv
against pip, the lock step, the test suite's recorded time per Python, the fleet report and
the offline bundle.

    nox -s bench                                      # all of it, compared with the baseline
    python benchmarks/bench.py --python .venv/bin/python --skip env_create,bundle --pairs 3
    python benchmarks/bench.py --compare benchmarks/baseline.json --report out/bench/bench.json

Writes one JSON report (--json; schema_version 2: the sections' details and a flat "figures"
mapping, name -> {value, unit, better, target, status}) and prints the figures as a table.
--compare prints each figure beside the baseline's and current/baseline, marking a change
past --tolerance in the figure's "better" direction REGRESSED. Exit status: 0 every section
ran (a missed target, a regression and absent test records are shown, not errors), 1 a
section failed or could not run, 2 bad input (one line: cause and fix)."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run by path (sys.path[0] is benchmarks/): the root, too
    sys.path.insert(0, str(REPO))

from benchmarks.compare import caveats, compare, render_comparison  # noqa: E402
from benchmarks.compute import CPU_LOCK, FLOPS_PER_SAMPLE, peak_gflops  # noqa: E402
from benchmarks.report import BenchInputError, load_json  # noqa: E402
from benchmarks.runner import SECTIONS, run_sections  # noqa: E402
from verify.tutorial import flops_per_sample  # noqa: E402

__all__ = ["BASELINE", "FLOPS_PER_SAMPLE", "SECTIONS", "flops_per_sample", "main",
           "peak_gflops"]

BASELINE = REPO / "benchmarks" / "baseline.json"
OPTIONAL = {"tests"}  # records from other runs: absent ones are reported, not an error


def parser() -> argparse.ArgumentParser:
    """The command line (its --help is the usage)."""
    p = argparse.ArgumentParser(prog="benchmarks/bench.py",
                                description=(__doc__ or "").splitlines()[0])
    p.add_argument("--python", type=Path, default=Path(sys.executable),
                   help="the CPU environment's interpreter (default: this one)")
    p.add_argument("--data", type=Path, help="MNIST for verify --full and the smoke model")
    p.add_argument("--json", type=Path, default=REPO / "out" / "bench" / "bench.json",
                   help="where the JSON report goes (default: %(default)s)")
    p.add_argument("--pairs", type=int, default=5,
                   help="counted alternated pairs per ratio (default: %(default)s)")
    p.add_argument("--warmup", type=int, default=1,
                   help="uncounted warm-up pairs first (default: %(default)s)")
    p.add_argument("--uv", default=shutil.which("uv"), help="uv executable")
    p.add_argument("--lock", type=Path, default=CPU_LOCK)
    p.add_argument("--lock-python", type=Path,
                   help="a Python with the lock step's tooling, for the lock section")
    p.add_argument("--wheelhouse", type=Path,
                   help="pip's local wheel folder (default: .cache/bench-wheelhouse)")
    p.add_argument("--matmul-size", type=int, default=2048)
    p.add_argument("--smoke-epochs", type=int, default=4,
                   help="epochs of the smoke model; the first is not counted (default 4)")
    p.add_argument("--skip", default="", help=f"comma-separated, of {','.join(SECTIONS)}")
    p.add_argument("--compare", nargs="?", type=Path, const=BASELINE, metavar="FILE",
                   help=f"compare the figures with FILE's (default {BASELINE.relative_to(REPO)})")
    p.add_argument("--report", type=Path, metavar="FILE",
                   help="with --compare: compare this existing report; run nothing")
    p.add_argument("--tolerance", type=float, default=0.10,
                   help="a change past this fraction is a regression (default: %(default)s)")
    return p


def _check(p: argparse.ArgumentParser, args: argparse.Namespace) -> set[str]:
    skip = {s for s in args.skip.split(",") if s}
    if skip - set(SECTIONS):
        p.error(f"--skip: unknown section(s) {', '.join(sorted(skip - set(SECTIONS)))} "
                f"(fix: choose from {', '.join(SECTIONS)})")
    if args.smoke_epochs < 2 or args.matmul_size < 1 or args.pairs < 1 or args.warmup < 0:
        p.error("--smoke-epochs must be at least 2, --matmul-size and --pairs at least 1, "
                "--warmup at least 0")
    if not 0 <= args.tolerance < 10:
        p.error(f"--tolerance {args.tolerance}: a fraction, e.g. 0.10 for 10%")
    if args.report and not args.compare:
        p.error("--report names a report to compare: pass --compare [FILE] with it")
    if args.report is None and not args.python.exists():
        p.error(f"--python {args.python}: no such interpreter (fix: name the environment's "
                "bin/python)")
    return skip


def _print_comparison(current: dict, baseline_path: Path, tolerance: float) -> None:
    baseline = load_json(baseline_path, "baseline")
    print(f"\ncompared with {baseline_path} ({baseline.get('created', '?')}, "
          f"{baseline.get('machine', {}).get('cpu', '?')}):")
    print(render_comparison(compare(current, baseline, tolerance), tolerance))
    for note in caveats(current, baseline):
        print(f"note: {note}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run (or, with --report, only compare); see the module's exit statuses."""
    p = parser()
    args = p.parse_args(argv)
    skip = _check(p, args)
    try:
        if args.report:
            _print_comparison(load_json(args.report), args.compare, args.tolerance)
            return 0
        if args.compare:
            load_json(args.compare, "baseline")  # fail before the long run, not after it
        # Absolute (not resolved: a venv's python is a symlink that must stay one).
        args.python = args.python.absolute()
        args.data = args.data.absolute() if args.data else None
        report = run_sections(args, skip)
        if args.compare:
            _print_comparison(report, args.compare, args.tolerance)
    except BenchInputError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return int(exc.code)
    bad = [n for n in SECTIONS if n not in OPTIONAL
           and report[n].get("status") not in ("ok", "skipped")]
    if bad:
        print(f"bench: sections not measured: {', '.join(bad)} (see the reasons above)",
              file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
