"""Installed packages against the lock: missing, other versions, unexpected, broken requirements."""

from __future__ import annotations

import importlib.util
import platform
import shutil
import sys
from collections.abc import Mapping

from packaging.utils import canonicalize_name

from envs.contract.platforms import current_platform
from verify import preload
from verify.cli import Options
from verify.locks import (
    Comparison,
    LockEntry,
    LockError,
    applicable,
    compare,
    load_lock,
)
from verify.machine import Context, install_command, this_python, uninstall_command
from verify.package_survey import Survey, survey, survey_in_child
from verify.plugin import Recorder


def _reinstall_fix(context: Context, kind: str) -> str:
    lock, prefix = context.lock, sys.prefix
    if kind == "conda-lock":
        return f"micromamba create -y -p {prefix} -f {lock}   (or: conda-lock install -p " \
               f"{prefix} {lock})"
    if kind == "pylock":
        return f"uv pip sync --python {this_python()} {lock}"
    if shutil.which("uv") or importlib.util.find_spec("pip") is None:
        return f"uv pip sync --require-hashes --python {this_python()} {lock}"
    return f"{this_python()} -m pip install --require-hashes -r {lock}"


def _versions(check: Recorder, cmp: Comparison, fix: str) -> None:
    """Missing and other-version locked distributions."""
    if cmp.missing:
        names = ", ".join(f"{n}=={v}" for n, v in cmp.missing[:8])
        more = f" and {len(cmp.missing) - 8} more" if len(cmp.missing) > 8 else ""
        check.problem(f"{len(cmp.missing)} locked package(s) missing: {names}{more}", fix)
    if cmp.mismatched:
        names = ", ".join(f"{n} {i} (lock: {v})" for n, v, i in cmp.mismatched[:8])
        more = f" and {len(cmp.mismatched) - 8} more" if len(cmp.mismatched) > 8 else ""
        specs = [f"{n}=={v}" for n, v, _ in cmp.mismatched if n != "python"]
        how = (f"{install_command(*specs)}\nor re-sync the whole lock: {fix}" if specs else "")
        if any(n == "python" for n, _, _ in cmp.mismatched):
            how = ("this environment's Python is not the lock's: create the environment from "
                   f"the lock: {fix}" + (f"\n{how}" if how else ""))
        check.problem(f"{len(cmp.mismatched)} package(s) at another version than the lock: "
                      f"{names}{more}", how)


def _broken(check: Recorder, broken: list[str], locked: Mapping[str, LockEntry],
            fix: str) -> None:
    # pip check's lines start with the requiring distribution: a locked one is ours to fix;
    # another (e.g. Colab's preinstalled packages) is reported but does not fail the check.
    ours = [line for line in broken if canonicalize_name(line.split(" ", 1)[0]) in locked]
    for line in ours:
        check.problem(f"broken requirement: {line}", fix)
    foreign = [line for line in broken if line not in ours]
    if foreign:
        check.warning(f"{len(foreign)} broken requirement(s) of packages the lock does not "
                      f"manage: {'; '.join(foreign[:3])}" + (" ..." if len(foreign) > 3 else ""),
                      "these packages were installed outside the lock; uninstall them if you "
                      "do not use them (pip uninstall NAME), or re-sync the lock: " + fix)


def _files(check: Recorder, locked: Mapping[str, LockEntry], found: Survey,
           cmp: Comparison, deep: bool, fix: str) -> int:
    """Installed files of the locked distributions at the locked version against their
    RECORD; how many distributions were checked."""
    other = {n for n, _ in cmp.missing} | {n for n, _, _ in cmp.mismatched}
    names = {n for n in locked if n in found.versions and n not in other}
    damage = [d for d in found.damaged if d.dist in names]
    check.detail("files_checked", "sha256" if deep else "existence and size")
    if not damage:
        return len(names)
    by_dist: dict[str, list[str]] = {}
    for d in damage:
        by_dist.setdefault(d.dist, []).append(d.describe())
    check.detail("damaged_files", by_dist)
    shown = "; ".join(f"{name}: {', '.join(files[:2])}" + (
        f" and {len(files) - 2} more" if len(files) > 2 else "")
        for name, files in list(by_dist.items())[:4])
    specs = [f"{n}=={locked[n].version}" for n in by_dist]
    check.problem(f"{len(damage)} installed file(s) of {len(by_dist)} locked package(s) are "
                  f"missing or changed since install: {shown}",
                  f"reinstall them: {install_command(*specs, reinstall=True)}\n"
                  f"or re-sync the whole lock: {fix}")
    return len(names)


def _outside(check: Recorder, context: Context, cmp: Comparison, fix: str) -> None:
    """Distributions the lock does not name: every one in an environment built from the lock
    (added by hand, e.g. `pip install`), else the ones that matter to Keras."""
    names = ", ".join(f"{n} {v}" for n, v in cmp.unexpected[:8])
    more = f" and {len(cmp.unexpected) - 8} more" if len(cmp.unexpected) > 8 else ""
    which = "" if context.built_from_lock else " relevant"
    restore = f"to restore the locked state, remove them: " \
              f"{uninstall_command(*(n for n, _ in cmp.unexpected))}"
    if fix.startswith("uv pip sync") and context.overlay is None:
        restore += f"\nor re-sync the whole lock, which removes what it does not name: {fix}"
    elif fix.startswith("micromamba") and context.overlay is None:  # conda installs too
        restore += f"\nor re-create the environment from the lock: {fix}"
    if context.overlay is not None:
        restore += (f"\n(your own overlay {context.overlay}: the shared environment is "
                    "unchanged)")
    check.warning(f"{len(cmp.unexpected)}{which} package(s) outside the lock: {names}{more}",
                  restore)


def prefetch(options: Options) -> None:
    """Called by verify.plugin once the checks are collected: survey the installed
    distributions in a child process while TensorFlow imports in this one."""
    preload.prefetch("packages", lambda: survey_in_child(deep=options.deep))


def test_packages(check: Recorder, context: Context, options: Options) -> None:
    lock = context.lock
    check.detail("lock", str(lock) if lock else None)
    check.detail("lock_source", context.lock_source)
    if lock is None or not lock.is_file():
        check.fail(f"the lock {lock} ({context.lock_source}) does not exist",
                   "pass the lock this environment was built from: --lock PATH")
    try:
        kind, entries = load_lock(lock, current_platform())
    except LockError as exc:
        check.fail(f"cannot read the lock: {exc.message}", exc.fix)
    locked, notes = applicable(entries)
    found: Survey = preload.fetched("packages", lambda: survey(deep=options.deep))
    cmp = compare(locked, found.versions, kind, platform.python_version(),
                  every=context.built_from_lock)
    broken = found.broken
    check.detail("kind", kind)
    check.detail("locked_here", len(locked))
    check.detail("matched", cmp.matched)
    check.detail("table", cmp.rows())
    check.detail("broken_requirements", broken)
    if notes:
        check.detail("notes", notes)
    fix = _reinstall_fix(context, kind)
    _versions(check, cmp, fix)
    _broken(check, broken, locked, fix)
    checked = _files(check, locked, found, cmp, options.deep, fix)
    if cmp.unexpected:
        _outside(check, context, cmp, fix)
    how = "sha256" if options.deep else "size"
    check.info(f"{cmp.matched} of {len(locked)} locked packages match ({kind}: {lock.name}); "
               f"files of {checked} checked against RECORD ({how}); "
               f"{len(broken)} broken requirements")
