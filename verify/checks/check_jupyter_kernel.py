"""Jupyter kernel: a kernel registered for this environment starts this environment's Python."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from envs.contract import kernel
from envs.contract.errors import UsageError
from envs.contract.flags import env_number
from envs.contract.procs import bounded
from verify import preload
from verify.cli import Options
from verify.kernel_specs import KernelSpecError, all_specs_in_child
from verify.machine import Context
from verify.plugin import Recorder
from verify.preflight import default_prefix

START_TIMEOUT = 60  # seconds for the kernel's Python to start and print its prefix
TIMEOUT_VAR = "KERASUP_KERNEL_TIMEOUT"


def _start_timeout() -> float:
    """KERASUP_KERNEL_TIMEOUT (0 or unset: START_TIMEOUT; a bad value: the default too, as
    a check cannot stop the run over it)."""
    try:
        return env_number(os.environ, TIMEOUT_VAR, START_TIMEOUT) or START_TIMEOUT
    except UsageError:
        return START_TIMEOUT


def _hung(exe: str) -> str:
    return (f"the Jupyter kernel's Python {exe} did not start within {_start_timeout():g} s "
            "(it was ended, with everything it started)")


def _hung_fix(exe: str) -> str:
    return (f"run {exe} -c 'import sys' yourself: if it hangs too, check the file system it "
            "lives on (a network mount that does not answer) and any antivirus scanning it; "
            f"on a slow machine raise {TIMEOUT_VAR} (seconds)")


def _starts_here_in_time(argv: list[str]) -> bool:
    try:
        return _starts_here(argv)[0]
    except subprocess.TimeoutExpired:
        return False


def _same_dir(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _prefix_of(python: str) -> str | None:
    """The sys.prefix the kernel's interpreter runs with (a venv's python is a link to the
    base interpreter, so the path alone cannot say which environment it starts)."""
    try:
        done = bounded([python, "-c", "import sys; print(sys.prefix)"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=_start_timeout(), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise  # named by the caller: a kernel that cannot start in time is not "another"
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.strip().splitlines()
    return lines[-1] if done.returncode == 0 and lines else None


def _starts_here(argv: list[str]) -> tuple[bool, str]:
    """Whether the spec's argv[0] runs this environment's Python, and what it names."""
    exe = argv[0] if argv else ""
    # "python" is whichever Python runs Jupyter, not a fixed one
    if not exe or not Path(exe).is_absolute():
        return False, exe or "(empty argv)"
    prefix = _prefix_of(exe)
    return prefix is not None and _same_dir(prefix, sys.prefix), exe


def _fix(name: str, display: str) -> str:
    cmd = kernel.register_argv(sys.executable, name, display)
    return f"register it (replaces any kernel of that name): {shlex.join(cmd)}"


def prefetch(options: Options) -> None:
    """Called by verify.plugin once the checks are collected: list the kernelspecs in a
    child process while TensorFlow imports in this one."""
    preload.prefetch("jupyter_kernel", all_specs_in_child)


def test_jupyter_kernel(check: Recorder, context: Context) -> None:
    if sys.prefix == sys.base_prefix and not Path(sys.prefix, "conda-meta").is_dir():
        check.skip("this Python was set up in place (e.g. Colab): its kernel is the "
                   "runtime's own")
    default = _same_dir(sys.prefix, default_prefix())
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    name = kernel.kernel_name(context.variant, sys.prefix, default=default)
    display = kernel.display_name(python, context.variant, default=default, prefix=sys.prefix)
    check.detail("expected_name", name)
    check.phase("looking for Jupyter kernels")
    try:
        specs = preload.fetched("jupyter_kernel", all_specs_in_child)
    except KernelSpecError as exc:
        check.fail(f"cannot list Jupyter kernels: {exc}",
                   "re-sync the environment: bash setup/ubuntu.sh")
    check.detail("kernels", sorted(specs))
    ours = specs.get(name)
    if ours is not None:
        argv = ours.get("spec", {}).get("argv", [])
        try:
            here, exe = _starts_here(argv)
        except subprocess.TimeoutExpired:
            check.fail(_hung(argv[0]), _hung_fix(argv[0]))
        check.detail("resource_dir", ours.get("resource_dir"))
        check.detail("argv0", exe)
        if not here:
            check.fail(f"the Jupyter kernel {name} starts {exe}, not this environment's "
                       f"Python {sys.executable}: notebooks on it would not see these "
                       "packages", _fix(name, display))
        shown = ours.get("spec", {}).get("display_name", name)
        check.info(f"{name} ({shown!r}) starts {exe}, this environment's Python")
        return
    others = [n for n, s in specs.items() if n.startswith(kernel.PREFIX)
              and _starts_here_in_time(s.get("spec", {}).get("argv", []))]
    if others:
        check.info(f"{', '.join(sorted(others))} starts this environment's Python")
        return
    check.warning(f"no Jupyter kernel is registered for this environment (looked for {name}): "
                  "a notebook would run another Python, where these packages are missing",
                  _fix(name, display))
