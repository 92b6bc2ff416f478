"""Python and platform: interpreter, OS, architecture, and whether the lock covers them."""

from __future__ import annotations

import platform
import struct
import sys

from packaging.markers import InvalidMarker, Marker

from envs.contract.facts import PYTHONS
from envs.contract.platforms import current_platform, refusal
from verify.locks import Coverage, LockError, applicable, load_lock, lock_coverage
from verify.machine import Context, is_wsl
from verify.plugin import Recorder

SETUP_FIX = ("re-run the kerasup setup with a covered Python (it creates the environment): "
             "Linux/WSL2/macOS: bash setup/ubuntu.sh   Windows: setup\\windows.ps1")


def _platform_fix(plat: str, variant: str, covered: list[str]) -> str:
    refused = refusal(variant, plat)  # the contract's reason and fix for this combination
    if refused:
        return refused.fix
    return (f"this lock covers {', '.join(covered)}; use one of those machines, or Google "
            "Colab (setup/colab.ipynb)")


def _holds(marker: str) -> bool:
    try:
        return Marker(marker).evaluate()
    except InvalidMarker:
        return True  # not ours to judge; the packages check reports unreadable markers


def _coverage(check: Recorder, context: Context, plat: str, short: str) -> Coverage:
    """What the lock declares against this Python and platform."""
    lock, cov = context.lock, Coverage()
    if lock is not None and lock.is_file():
        try:
            cov = lock_coverage(lock, plat)
        except LockError as exc:
            check.problem(f"cannot read the lock: {exc.message}", exc.fix)
    name = lock.name if lock else "the lock"
    pythons = cov.pythons or list(PYTHONS)  # what every kerasup lock covers
    check.detail("lock_pythons", pythons)
    if short not in pythons:
        check.problem(f"Python {short} is not covered by {name} (it covers Python "
                      f"{', '.join(pythons)})", SETUP_FIX)
    covered = cov.platforms
    check.detail("lock_platforms", covered)
    check.detail("coverage_source", cov.source or None)
    if covered is not None and plat not in covered:
        check.problem(f"the {context.variant} lock does not cover {plat} (it covers "
                      f"{', '.join(covered)})", _platform_fix(plat, context.variant, covered))
    if cov.environments and not any(_holds(m) for m in cov.environments):
        check.problem(f"{name}: none of its environments matches this interpreter "
                      f"({'; '.join(cov.environments)})",
                      _platform_fix(plat, context.variant, covered or []))
    return cov


def _tensorflow_locked(check: Recorder, context: Context, plat: str, covered: list[str],
                       ) -> None:
    """The lock has a TensorFlow for this interpreter (markers evaluated here)."""
    lock = context.lock
    if lock is None:
        return
    if not lock.is_file():
        check.warning(f"the lock {lock} ({context.lock_source}) is missing, so coverage "
                      "cannot be confirmed", "pass the lock with --lock PATH")
        return
    fix = _platform_fix(plat, context.variant, covered)
    try:
        _kind, entries = load_lock(lock, plat)
    except LockError as exc:
        check.problem(f"the lock does not cover this machine: {exc.message}", fix)
        return
    here, _ = applicable(entries)
    tf = [n for n in ("tensorflow", "tensorflow-cpu") if n in here]
    check.detail("tensorflow_in_lock", [f"{n}=={here[n].version}" for n in tf])
    if not tf:
        check.problem(f"{lock.name} locks no TensorFlow for {platform.python_implementation()} "
                      f"{platform.python_version()} on {plat}", fix)


def _record(check: Recorder, context: Context, plat: str, short: str) -> None:
    """The install record describes this interpreter and machine."""
    if context.record_error:
        check.warning(f"install record unreadable: {context.record_error}",
                      "re-run the kerasup setup to rewrite it")
    record = context.record
    if record is None:
        return
    if record.python and record.python != short:
        check.warning(f"the install record says Python {record.python} but this is {short}: "
                      "verify is not running in the environment setup made",
                      "re-run the kerasup setup to rebuild this environment and its record")
    if record.platform and record.platform != plat:
        check.warning(f"the install record says {record.platform} but this machine is {plat}",
                      "re-run the kerasup setup on this machine")


def test_python_platform(check: Recorder, context: Context) -> None:
    impl, version = platform.python_implementation(), platform.python_version()
    plat = current_platform()
    bits = struct.calcsize("P") * 8
    wsl = is_wsl()
    os_name = f"{platform.system()} {platform.release()}" + (" (WSL2)" if wsl else "")
    check.info(f"{impl} {version} ({bits}-bit), {os_name}, {platform.machine()} = {plat}",
               python=version, implementation=impl, executable=sys.executable, bits=bits,
               os=platform.system(), os_release=platform.release(), wsl=wsl,
               architecture=platform.machine(), conda_platform=plat, variant=context.variant)
    if impl != "CPython" or bits != 64:
        check.problem(f"{impl} {bits}-bit: TensorFlow wheels exist only for 64-bit CPython",
                      SETUP_FIX)
    short = ".".join(version.split(".")[:2])
    cov = _coverage(check, context, plat, short)
    _tensorflow_locked(check, context, plat, cov.platforms or [])
    _record(check, context, plat, short)
