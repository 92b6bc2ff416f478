"""The discover phase: what planning needs that only running a program can tell.

It runs after the survey (:func:`setup.installer.planner.survey`, files only) and before the
plan (:func:`setup.installer.planner.plan`, which runs nothing); its :class:`Facts` are the
plan's inputs, and the plan shows them (its reports, and ``discovered`` in ``--plan-json``).
The probes, each run only when the plan needs its answer:

- the interpreters (``pythons.resolve_python``: ``--python-exe``, the environment's own
  Python, or every candidate on PATH, pyenv and uv's Pythons);
- ``nvidia-smi``, for a variant that needs the NVIDIA driver;
- verify's installed-files scan (``filescan``), when the environment is otherwise up to date;
- this machine's OS description (``platform.platform()`` runs ``uname -p``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from envs.contract.errors import CannotProceed, UsageError
from envs.contract.facts import DEFAULT_PYTHON, PYTHONS
from setup.installer import filescan, preflight
from setup.installer.backends import conda_lock_python
from setup.installer.plan import Options, Plan
from setup.installer.planner import Survey, plan, survey, wanted_record
from setup.installer.pythons import PythonChoice, resolve_python
from setup.installer.target import describe_os

__all__ = ["Facts", "build_plan", "discover"]


@dataclass(frozen=True)
class Facts:
    """What the probes found: the interpreter, the driver's answer (or warning; None when
    the variant needs no driver), the distributions that lost installed files, which probes
    ran (in the plan as ``discovered``) and this machine's OS (None for --platform)."""

    python: PythonChoice
    driver: str | None = None
    driver_missing: bool = False
    damaged: tuple[str, ...] = ()
    probes: tuple[str, ...] = ()
    os: str | None = None  # this machine's OS, as the plan's first report says it


def _python(options: Options, found: Survey, environ: Mapping[str, str]
            ) -> tuple[PythonChoice, bool]:
    """The interpreter, and whether finding it ran one (the probe)."""
    if options.in_place:
        running = f"{sys.version_info[0]}.{sys.version_info[1]}"
        if running not in PYTHONS:
            raise UsageError(f"this interpreter runs Python {running}; the locks cover "
                             f"{', '.join(PYTHONS)}",
                             fix="Colab: Runtime > Change runtime type > Runtime version: "
                                 "Latest; elsewhere a kernel with a supported Python")
        return PythonChoice(running, sys.executable, "running"), False
    if options.conda:
        pinned = conda_lock_python(found.lock, found.target.platform)
        if pinned is None:
            raise CannotProceed(f"{found.lock} pins no Python for {found.target.platform}",
                                fix="regenerate it with `nox -s lock`")
        if options.python and options.python != pinned:
            raise UsageError(f"the conda lock pins Python {pinned}, not {options.python}",
                             fix="drop --python, or drop --conda to use the pip lock")
        return PythonChoice(pinned, None, "conda-lock"), False
    if found.target != found.host:
        return PythonChoice(options.python or DEFAULT_PYTHON, None, "target"), False
    return resolve_python(want=options.python, python_exe=options.python_exe,
                          target=found.target, environ=environ, offline=found.offline,
                          recorded=found.recorded_python, prefix=found.prefix), True


def discover(options: Options, found: Survey, *, environ: Mapping[str, str],
             repo: Path) -> Facts:
    """Run the probes the plan needs (see the module's list); KerasupError when no Python
    fits."""
    python, probed = _python(options, found, environ)
    probes = [f"interpreters (chose {python.executable})"] if probed else []
    driver, missing = preflight.driver_check(options.variant, environ)
    if driver:
        probes.append("nvidia-smi")
    damaged: tuple[str, ...] = ()
    same = found.target == found.host
    if python.version in found.covered.pythons:
        _wanted, up_to_date = wanted_record(options, found, python, repo)
        if filescan.applies(up_to_date=up_to_date, same_machine=same,
                            backend=found.backend.name) and not filescan.deferred(options):
            damaged = filescan.scan(found.backend.env_python(found.target, found.prefix))
            probes.append("installed-files scan")
    return Facts(python, driver, missing, damaged, tuple(probes),
                 describe_os(found.target) if same else None)


def build_plan(options: Options, *, environ: Mapping[str, str], repo: Path) -> Plan:
    """Survey, discover, plan: the plan of one run (KerasupError on the first problem)."""
    found = survey(options, environ=environ, repo=repo)
    facts = discover(options, found, environ=environ, repo=repo)
    return plan(options, found, facts, environ=environ, repo=repo)
