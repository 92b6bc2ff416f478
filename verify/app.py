"""``python -m verify``: parse the command line, run the checks with pytest, report.

Orchestration only: parsing is :mod:`verify.cli`, the checks are :mod:`verify.checks`, the
pytest glue is :mod:`verify.plugin`, output is :mod:`verify.render_human` and
:mod:`verify.render_json`; JUnit XML is pytest's own ``--junitxml``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from verify import SCHEMA_VERSION, __version__
from verify.checks import CHECK_NAMES, HERE, check_path, describe
from verify.cli import Options, parse_args
from verify.machine import Context, machine_facts, resolve_context
from verify.result import Report

__all__ = ["main", "run_checks"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


@contextlib.contextmanager
def _pytest_environment(verbose: bool) -> Iterator[None]:
    """Shield the checks from the user's pytest setup; keep TensorFlow's C++ log quiet."""
    saved = dict(os.environ)
    for var in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS"):
        os.environ.pop(var, None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_checks(options: Options, context: Context, *, checks_dir: Path = HERE) -> Report:
    """Run every check through pytest (unselected ones are reported as skipped).

    ``checks_dir`` holds the ``check_<name>.py`` modules (tests point it elsewhere).
    """
    import pytest

    from verify.plugin import VerifyPlugin

    plugin = VerifyPlugin(options, context)
    args = [str(checks_dir / check_path(n).name) for n in CHECK_NAMES]
    args += ["-c", str(HERE / "pytest.ini"), "--rootdir", str(checks_dir), "-p", "no:cacheprovider",
             "-p", "no:terminal", "-p", "no:stepwise", "--continue-on-collection-errors",
             "-o", "faulthandler_timeout=0"]
    if options.junit:
        args += ["--junitxml", str(options.junit.resolve())]
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    with _pytest_environment(options.verbose):
        code = pytest.main(args, plugins=[plugin])
    if code == pytest.ExitCode.INTERRUPTED:
        raise KeyboardInterrupt
    return Report(
        schema_version=SCHEMA_VERSION,
        tool={"name": "kerasup-verify", "version": __version__},
        machine=machine_facts(context),
        options=_options_dict(options),
        checks=plugin.finish(),
        started=started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        duration_s=time.perf_counter() - t0,
    )


def _options_dict(options: Options) -> dict[str, object]:
    return {
        "selected": list(options.selected), "full": options.full, "fix": options.fix,
        "data": str(options.data) if options.data else None,
        "out": str(options.out) if options.out else None,
        "expect_gpu": options.expect_gpu, "variant": options.variant,
        "lock": str(options.lock) if options.lock else None,
    }


def _list_checks() -> str:
    width = max(map(len, CHECK_NAMES))
    return "".join(f"{name:<{width}}  {describe(name)}\n" for name in CHECK_NAMES)


def _use_color(options: Options) -> bool:
    if options.color is not None:
        return options.color
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _writable_target(path: Path | None, flag: str) -> str | None:
    if path is None:
        return None
    if path.is_dir():
        return f"{flag} {path}: is a directory; name a file"
    parent = path.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"{flag} {path}: cannot create {parent} ({exc.strerror or exc})"
    if not os.access(parent, os.W_OK):
        return f"{flag} {path}: {parent} is not writable"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 failed, 2 usage, 130 interrupted)."""
    try:
        try:
            options = parse_args(argv)
        except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2)
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
        if options.list_checks:
            sys.stdout.write(_list_checks())
            return EXIT_OK
        for problem in (_writable_target(options.json, "--json"),
                        _writable_target(options.junit, "--junit")):
            if problem:
                print(f"python -m verify: error: {problem}", file=sys.stderr)
                return EXIT_USAGE
        context = resolve_context(options.variant, options.lock, options.expect_gpu)
        report = run_checks(options, context)
        if options.json:
            from verify.render_json import write_json

            write_json(report, options.json)
        from verify.render_human import render

        sys.stdout.write(render(report, verbose=options.verbose, color=_use_color(options)))
        if options.json:
            print(f"JSON report: {options.json}")
        if options.junit:
            print(f"JUnit XML: {options.junit}")
        sys.stdout.flush()
        return EXIT_OK if report.ok else EXIT_FAILED
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


