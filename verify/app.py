"""``python -m verify``: parse the command line, run the checks with pytest, report.

Orchestration only: parsing is :mod:`verify.cli`, the checks are :mod:`verify.checks`, the
pytest glue is :mod:`verify.plugin`, output is :mod:`verify.render_human` and
:mod:`verify.render_json`; JUnit XML is pytest's own ``--junitxml``, written to a private
temporary file and committed with the JSON report by :mod:`verify.reports` once the run is
complete (so the screen, both reports and the exit status always describe the same run).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from envs.contract import places
from envs.contract.errors import CannotProceed, ExitCode, KerasupError, LockError, UsageError
from envs.contract.platforms import current_platform
from verify import SCHEMA_VERSION, __version__, preload
from verify.checks import CHECK_NAMES, HERE, TENSORFLOW_CHECKS, check_path, describe
from verify.cli import Options, parse_args
from verify.machine import Context, machine_facts, resolve_context
from verify.progress import Progress, live_wanted, stdout_to_devnull
from verify.result import Report

__all__ = ["main", "run_checks"]

PROG = "python -m verify"


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


def run_checks(options: Options, context: Context, *, checks_dir: Path = HERE,
               junit: Path | None = None, progress: Progress | None = None,
               on_interrupt: Callable[[], None] | None = None) -> Report:
    """Run every check through pytest (unselected ones are reported as skipped).

    ``checks_dir`` holds the ``check_<name>.py`` modules (tests point it elsewhere);
    ``junit``: where pytest writes its JUnit XML (a temporary file: see :func:`main`);
    ``progress``: prints each check's line as it finishes (and a live line on a terminal);
    ``on_interrupt``: said before the process ends on Ctrl-C during the TensorFlow import.
    KeyboardInterrupt when the run was interrupted.
    """
    from verify.gpu import HARMLESS

    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    with _pytest_environment(options.verbose), preload.hold_stderr(
            HARMLESS, hold=not options.verbose):
        if checks_dir == HERE and _import_ahead(options):
            # overlaps pytest's start-up and the checks that need no TF
            preload.start(on_interrupt)
        import pytest

        from verify.plugin import VerifyPlugin

        plugin = VerifyPlugin(options, context, progress)
        args = [str(checks_dir / check_path(n).name) for n in CHECK_NAMES]
        args += ["-c", str(HERE / "pytest.ini"), "--rootdir", str(checks_dir),
                 "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:stepwise",
                 # its gc.collect() at the end walks TensorFlow's millions of objects (0.3 s)
                 "-p", "no:unraisableexception",
                 "--continue-on-collection-errors", "-o", "faulthandler_timeout=0"]
        if junit is not None:
            args += ["--junitxml", str(junit)]
        code = pytest.main(args, plugins=[plugin])
    if code == pytest.ExitCode.INTERRUPTED:
        raise KeyboardInterrupt
    from verify.versions import collect

    checks = plugin.finish()
    return Report(
        schema_version=SCHEMA_VERSION,
        tool={"name": "kerasup-verify", "version": __version__},
        machine=machine_facts(context),
        options=_options_dict(options),
        checks=checks,
        started=started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        duration_s=time.perf_counter() - t0,
        versions=collect(checks),
    )


def _import_ahead(options: Options) -> bool:
    """Whether to import TensorFlow at once: a selected check needs it, and no --fix of
    keras.json comes first (Keras reads keras.json as it is imported)."""
    if options.fix and "keras_json" in options.selected:
        return False
    return any(name in TENSORFLOW_CHECKS for name in options.selected)


def _options_dict(options: Options) -> dict[str, object]:
    return {
        "selected": list(options.selected), "full": options.full, "fix": options.fix,
        "deep": options.deep,
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


def _output_stream(stream: TextIO) -> bool:
    """Make ``stream`` never raise on a character it cannot encode; True when it can show
    the report's symbols (else the report is drawn in ASCII)."""
    from verify.render_human import can_encode

    with contextlib.suppress(AttributeError, ValueError):
        stream.reconfigure(errors="replace")  # type: ignore[attr-defined]
    return can_encode(getattr(stream, "encoding", None))


def _say(text: str) -> None:
    """Print to stdout; a reader that left (`python -m verify | head`) does not stop the run
    from committing its reports and exiting with its status."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        stdout_to_devnull()


def _interrupted(scratch: Path | None, stream: TextIO | None = None) -> None:
    """Say so on ``stream`` (stderr); remove the run's private scratch folder (when the
    process ends at once)."""
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\n{PROG}: interrupted: no report written (earlier reports left as they were)",
          file=stream or sys.stderr)


def _error(exc: KerasupError) -> int:
    print(f"{PROG}: error: {exc.one_line()}", file=sys.stderr)
    return int(exc.code)


def _refuse_bad_lock(options: Options) -> None:
    """A --lock the user named must be a kerasup lock: refused before any check runs."""
    if options.lock is None:
        return
    from verify.locks import lock_coverage

    try:
        lock_coverage(options.lock, current_platform())
    except LockError as exc:
        raise UsageError(f"--lock {exc.message}", fix=exc.fix) from None


def _refuse_missing_cwd() -> None:
    """pytest starts from the current folder: one that was deleted (or cannot be read) is
    refused before the run, with what to do."""
    try:
        Path.cwd()
    except OSError as exc:
        raise CannotProceed(f"the current folder cannot be used ({exc.strerror or exc}): it "
                            "was deleted or is unreadable",
                            fix="cd to an existing folder (e.g. cd ~) and run again") from None


def _refuse_noexec_prefix() -> None:
    """An environment on a ``noexec`` mount cannot load its compiled libraries: name the
    mount once, instead of several checks failing with "reinstall" (which cannot help)."""
    mount = places.noexec_mount(Path(sys.prefix))
    if mount is not None:
        raise CannotProceed(f"this environment ({sys.prefix}) is on {mount}, which is mounted "
                            "noexec: its compiled libraries (TensorFlow, NumPy) cannot load",
                            fix=f"remount it with exec (sudo mount -o remount,exec {mount}), "
                                "or install the environment on another file system with "
                                "setup's --prefix")


def _scratch_dir() -> Path:
    """A private folder for pytest's JUnit XML until the run is complete."""
    try:
        return Path(tempfile.mkdtemp(prefix="kerasup-verify-junit-"))
    except OSError as exc:
        raise CannotProceed(f"cannot create a temporary folder in {tempfile.gettempdir()} "
                            f"({exc.strerror or exc})",
                            fix="free some space there, or set TMPDIR to a writable folder"
                            ) from None


def _progress(options: Options, context: Context, ascii_only: bool) -> Progress:
    """Print the header now (before pytest and TensorFlow load), then hand back what
    prints each check's line as it finishes."""
    from verify.render_human import header_lines, result_lines
    from verify.versions import installed

    color = _use_color(options)
    progress = Progress(sys.stdout, CHECK_NAMES,
                        lambda r: result_lines(r, verbose=options.verbose, color=color),
                        live=live_wanted(sys.stdout), ascii_only=ascii_only)
    progress.write(header_lines(__version__, machine_facts(context), color=color,
                                ascii_only=ascii_only, versions=installed()))
    return progress


def _reports(options: Options, report: Report, junit: Path | None) -> dict[Path, bytes]:
    from verify.render_json import to_json

    outputs: dict[Path, bytes] = {}
    if options.json:
        outputs[options.json] = to_json(report).encode("utf-8")
    if options.junit and junit is not None:
        if not junit.is_file():
            raise CannotProceed("pytest wrote no JUnit XML (is the temporary folder "
                                f"{junit.parent.parent} full?)",
                                fix="free some space there, or set TMPDIR to another "
                                    "folder, then run again")
        outputs[options.junit] = junit.read_bytes()
    return outputs


def _run(options: Options, ascii_only: bool) -> int:
    from verify.reports import commit, refuse_out_folder, refuse_unwritable

    _refuse_missing_cwd()
    _refuse_noexec_prefix()
    refuse_unwritable({"--json": options.json, "--junit": options.junit})
    refuse_out_folder(options.out)
    _refuse_bad_lock(options)
    context = resolve_context(options.variant, options.lock, options.expect_gpu)
    sys.stdout.flush()
    progress = _progress(options, context, ascii_only)
    scratch = _scratch_dir() if options.junit else None
    try:
        junit = scratch / "junit.xml" if scratch else None
        report = run_checks(options, context, junit=junit, progress=progress,
                            on_interrupt=lambda: _interrupted(scratch, sys.__stderr__))
        progress.close(report.checks)
        from verify.render_human import summary_lines

        if progress.reader_gone:
            stdout_to_devnull()
        _say("\n".join(summary_lines(report, color=_use_color(options))) + "\n")
        commit(_reports(options, report, junit))
    finally:
        progress.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    for flag, path in (("JSON report", options.json), ("JUnit XML", options.junit)):
        if path:
            _say(f"{flag}: {path}\n")
    return ExitCode.OK if report.ok else ExitCode.FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (envs.contract.errors.ExitCode: 0 ready, 1 a
    check failed, 2 usage, 3 the reports could not be written or the current folder is gone,
    130 interrupted)."""
    ascii_only = not _output_stream(sys.stdout)
    _output_stream(sys.stderr)
    try:
        try:
            options = parse_args(argv)
        except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2)
            return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
        if options.list_checks:
            sys.stdout.write(_list_checks())
            return ExitCode.OK
        return _run(options, ascii_only)
    except KerasupError as exc:
        return _error(exc)
    except KeyboardInterrupt:
        _interrupted(None)
        preload.exit_if_alive(ExitCode.INTERRUPTED)
        return ExitCode.INTERRUPTED
