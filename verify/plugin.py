"""The pytest plugin that turns pytest test outcomes into check results.

Each check module under :mod:`verify.checks` has one test function that takes the ``check``
fixture (a :class:`Recorder`) and records a summary, details, problems (fail) and warnings
(warn, the dedicated extra outcome) on it. The plugin maps the pytest report to a
:class:`~verify.result.CheckResult`: a problem or :meth:`Recorder.fail` is ``fail``, a warning
alone is ``warn``, any other exception is ``error`` (the check crashed; the others still
run), and a check left out by ``--only``/``--skip`` is ``skip``. Results also go into the
JUnit XML as testcase properties (status, summary, fix).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from verify.checks import CHECK_NAMES, describe
from verify.cli import Options
from verify.machine import Context
from verify.progress import Progress
from verify.result import CheckResult, Status

__all__ = ["CheckFailed", "Recorder", "VerifyPlugin"]

CRASH_FIX = ("this is a bug in the check or a badly broken environment: re-run with "
             "--verbose and report the traceback")
NOT_SELECTED = "not selected (--only/--skip)"


class CheckFailed(Exception):
    """Raised by :meth:`Recorder.fail` to end a check at once with a failure."""


class Recorder:
    """What a check tells the report: its key figure, details, problems and warnings.

    Collect every problem before ending (``problem``/``warning`` do not stop the check);
    ``fail`` records one and stops.
    """

    def __init__(self, name: str, on_phase: Callable[[str, str], None] | None = None) -> None:
        self.name = name
        self._on_phase = on_phase
        self.summary: str | None = None
        self.details: dict[str, Any] = {}
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.fixes: list[str] = []

    def info(self, summary: str, **details: Any) -> None:
        """Set the one-line key figure shown when the check passes."""
        self.summary = summary
        self.details.update(details)

    def phase(self, text: str) -> None:
        """Say what the check is doing now ("importing TensorFlow", "training"): shown live
        on a terminal while it lasts, not part of the report."""
        if self._on_phase is not None:
            self._on_phase(self.name, text)

    def detail(self, key: str, value: Any) -> None:
        self.details[key] = value

    def _fix(self, fix: str | None) -> None:
        if fix and fix not in self.fixes:
            self.fixes.append(fix)

    def problem(self, text: str, fix: str | None = None) -> None:
        """Record a failure and go on checking."""
        self.problems.append(text)
        self._fix(fix)

    def warning(self, text: str, fix: str | None = None) -> None:
        """Record a warning (the check passes with status ``warn``) and go on checking."""
        self.warnings.append(text)
        self._fix(fix)

    def fail(self, text: str, fix: str | None = None) -> NoReturn:
        """Record a failure and stop the check."""
        self.problem(text, fix)
        raise CheckFailed(text)

    def skip(self, text: str) -> NoReturn:
        """Skip the check (it does not apply here), saying why."""
        pytest.skip(text)

    @property
    def status(self) -> Status:
        return "fail" if self.problems else "warn" if self.warnings else "pass"

    def result_summary(self) -> str:
        findings = self.problems or self.warnings
        if findings:
            more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
            return findings[0] + more
        return self.summary or "ok"


_RECORDER = pytest.StashKey[Recorder]()


def check_name(path: str | Path) -> str:
    return Path(str(path).split("::")[0]).stem.removeprefix("check_")


class VerifyPlugin:
    """Registered with ``pytest.main(plugins=[...])`` by :mod:`verify.app`."""

    def __init__(self, options: Options, context: Context,
                 progress: Progress | None = None) -> None:
        self._options = options
        self._context = context
        self._progress = progress
        self.results: dict[str, CheckResult] = {}
        self._durations: dict[str, float] = {}
        self._logs: dict[str, str] = {}

    # -- fixtures the checks use ---------------------------------------------------------
    @pytest.fixture
    def check(self, request: pytest.FixtureRequest) -> Recorder:
        """The recorder for the running check."""
        progress = self._progress
        rec = Recorder(check_name(request.node.nodeid),
                       progress.phase if progress is not None else None)
        request.node.stash[_RECORDER] = rec
        return rec

    @pytest.fixture(scope="session")
    def options(self) -> Options:
        """The parsed command line."""
        return self._options

    @pytest.fixture(scope="session")
    def context(self) -> Context:
        """Variant, lock, install record and whether a GPU is expected."""
        return self._context

    # -- hooks ---------------------------------------------------------------------------
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        order = {name: i for i, name in enumerate(CHECK_NAMES)}
        items.sort(key=lambda it: order.get(check_name(it.nodeid), len(order)))

    def pytest_runtest_logstart(self, nodeid: str, location: object) -> None:
        if self._progress is not None:
            self._progress.start(check_name(nodeid))

    def pytest_runtest_logfinish(self, nodeid: str, location: object) -> None:
        """Every phase of the check is over (teardown included): its line is final."""
        name = check_name(nodeid)
        if self._progress is not None and name in self.results:
            self._progress.result(self._final(name, self.results[name]))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """A selected check module's ``prefetch(options)`` starts its slow, TensorFlow-free
        preparation now, in the background (verify.preload), while the checks before it run."""
        for item in session.items:
            module = getattr(item, "module", None)
            start = getattr(module, "prefetch", None)
            if callable(start) and check_name(item.nodeid) in self._options.selected:
                start(self._options)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if check_name(item.nodeid) not in self._options.selected:
            pytest.skip(NOT_SELECTED)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        name = check_name(item.nodeid)
        self._durations[name] = self._durations.get(name, 0.0) + report.duration
        if report.capstderr or report.capstdout:  # each report holds all phases so far
            self._logs[name] = report.capstdout + report.capstderr
        rec = item.stash.get(_RECORDER, None)
        result: CheckResult | None = None
        if report.skipped and report.when == "setup":
            reason = _skip_reason(report)
            result = self._result(name, "skip", reason, rec)
        elif report.when == "setup" and report.failed:
            result = self._crashed(name, call, report, rec)
        elif report.when == "call":
            exc = call.excinfo
            if exc is not None and exc.errisinstance(CheckFailed) and rec is not None:
                report.outcome = "failed"
                report.longrepr = "\n".join(rec.problems)
                result = self._result(name, "fail", rec.result_summary(), rec)
            elif exc is not None and report.skipped:
                result = self._result(name, "skip", _skip_reason(report), rec)
            elif exc is not None:
                result = self._crashed(name, call, report, rec)
            elif rec is not None:
                if rec.problems:
                    report.outcome = "failed"
                    report.longrepr = "\n".join(rec.problems)
                result = self._result(name, rec.status, rec.result_summary(), rec)
            else:  # a check that does not use the fixture
                result = self._result(name, "pass", "ok", None)
        if result is not None:
            self.results[name] = result
            # Teardown's report, which the JUnit writer reads, copies item.user_properties.
            item.user_properties.extend(
                [("check", name), ("status", result.status), ("summary", result.summary)]
                + ([("fix", result.fix)] if result.fix else []))
        return report

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed and report.nodeid.endswith(".py"):
            name = check_name(report.nodeid)
            text = str(report.longrepr)
            last = text.strip().splitlines()[-1] if text.strip() else "collection failed"
            self.results[name] = CheckResult(
                name, "error", 0.0, f"could not load the check: {last}",
                {"traceback": text}, CRASH_FIX, _describe(name))
            if self._progress is not None:  # printed when its turn in the order comes
                self._progress.result(self.results[name])

    # -- building results ----------------------------------------------------------------
    def _result(self, name: str, status: Status, summary: str,
                rec: Recorder | None) -> CheckResult:
        details: dict[str, Any] = dict(rec.details) if rec else {}
        if rec and rec.problems:
            details["problems"] = list(rec.problems)
        if rec and rec.warnings:
            details["warnings"] = list(rec.warnings)
        fix = "\n".join(rec.fixes) if rec and rec.fixes and status in ("fail", "warn") else None
        return CheckResult(name, status, 0.0, summary, details, fix, _describe(name))

    def _crashed(self, name: str, call: pytest.CallInfo[None], report: pytest.TestReport,
                 rec: Recorder | None) -> CheckResult:
        exc = call.excinfo
        if exc is not None:
            msg = str(exc.value).strip().splitlines()
            summary = f"crashed: {exc.typename}: {msg[0] if msg else ''}".rstrip(": ")
            tb = "".join(traceback.format_exception(exc.value))
        else:
            summary, tb = "crashed while setting up", str(report.longrepr)
        result = self._result(name, "error", summary, rec)
        result.details["traceback"] = tb
        result.fix = CRASH_FIX
        return result

    def finish(self) -> list[CheckResult]:
        """One result per check, in check order; a check that never reported is an error."""
        out = []
        for name in CHECK_NAMES:
            result = self.results.get(name) or CheckResult(
                name, "error", 0.0, "the check did not run", {}, CRASH_FIX, _describe(name))
            out.append(self._final(name, result))
        return out

    def _final(self, name: str, result: CheckResult) -> CheckResult:
        """The result with its total duration and (with --verbose) its captured log."""
        result.duration_s = round(self._durations.get(name, result.duration_s), 3)
        if self._options.verbose and self._logs.get(name):
            result.details["log"] = self._logs[name][-8000:]
        return result


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _describe(name: str) -> str:
    try:
        return describe(name)
    except (OSError, SyntaxError):
        return ""
