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
    lock = context.lock
    cov = Coverage()
    if lock is not None and lock.is_file():
        try:
            cov = lock_coverage(lock, plat)
        except LockError as exc:
            check.problem(f"cannot read the lock: {exc.message}", exc.fix)
    short = ".".join(version.split(".")[:2])
    pythons = cov.pythons or list(PYTHONS)  # what every kerasup lock covers
    check.detail("lock_pythons", pythons)
    if short not in pythons:
        check.problem(f"Python {short} is not covered by {lock.name if lock else 'the lock'}"
                      f" (it covers Python {', '.join(pythons)})", SETUP_FIX)
    covered = cov.platforms
    check.detail("lock_platforms", covered)
    check.detail("coverage_source", cov.source or None)
    if covered is not None and plat not in covered:
        check.problem(f"the {context.variant} lock does not cover {plat} (it covers "
                      f"{', '.join(covered)})", _platform_fix(plat, context.variant, covered))
    if cov.environments and not any(_holds(m) for m in cov.environments):
        check.problem(f"{lock.name if lock else 'the lock'}: none of its environments "
                      f"matches this interpreter ({'; '.join(cov.environments)})",
                      _platform_fix(plat, context.variant, covered or []))
    if lock is not None and lock.is_file():
        try:
            _kind, entries = load_lock(lock, plat)
        except LockError as exc:
            check.problem(f"the lock does not cover this machine: {exc.message}",
                          _platform_fix(plat, context.variant, covered or []))
        else:
            here, _ = applicable(entries)
            tf = [n for n in ("tensorflow", "tensorflow-cpu") if n in here]
            check.detail("tensorflow_in_lock", [f"{n}=={here[n].version}" for n in tf])
            if not tf:
                check.problem(f"{lock.name} locks no TensorFlow for {impl} {version} on "
                              f"{plat}", _platform_fix(plat, context.variant, covered or []))
    elif lock is not None:
        check.warning(f"the lock {lock} ({context.lock_source}) is missing, so coverage "
                      "cannot be confirmed", "pass the lock with --lock PATH")
    record = context.record
    if context.record_error:
        check.warning(f"install record unreadable: {context.record_error}",
                      "re-run the kerasup setup to rewrite it")
    if record:
        want_py, want_plat = record.python, record.platform
        have_py = ".".join(version.split(".")[:2])
        if want_py and want_py != have_py:
            check.warning(f"the install record says Python {want_py} but this is {have_py}: "
                          "verify is not running in the environment setup made",
                          "re-run the kerasup setup to rebuild this environment and its record")
        if want_plat and want_plat != plat:
            check.warning(f"the install record says {want_plat} but this machine is {plat}",
                          "re-run the kerasup setup on this machine")
