"""Graphviz's ``dot``: on PATH, installed but off PATH, or not installed, each with its fix.

``keras.utils.plot_model`` runs ``dot`` from PATH. A common state on lab machines is Graphviz
installed where PATH does not reach (the Windows installer's folder, Homebrew's prefix, this
environment's own ``bin``): then the fix is to add that folder to PATH, not to install it
again. Public: the model_graph check and ``examples/mnist_dense.py`` both use it.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["RENDER_TIMEOUT", "SPLINE_WORKAROUND", "TRAP", "VERSION_TIMEOUT", "Deadline",
           "DotHung", "conda_graphviz", "crash_text", "dot_advice", "dot_deadline",
           "dot_version", "find_dot_off_path", "hung_fix", "install_fix", "newer_graphviz_fix",
           "path_fix", "plot_model"]

VERSION_TIMEOUT = 15.0  # `dot -V` answers in milliseconds
RENDER_TIMEOUT = 20.0  # the tutorial's graphs render in well under a second each

TRAP = ("`pip install graphviz` installs only a Python wrapper, not the Graphviz `dot` program "
        "Keras runs; pydot (Python) and dot (a system program on PATH) are both needed")


# What draws a nested model where Graphviz's orthogonal router crashes (Graphviz 2.42/2.43,
# Debian 12 and Ubuntu 22.04/24.04: ``dot: maze.c:313: chkSgraph: Assertion`` on a cluster).
SPLINE_WORKAROUND = 'splines="spline"'
# How pydot and Keras report a ``dot`` that died: pydot's "returned code: -6", the abort.
_CRASH = re.compile(r"returned code: -\d+|Assertion|maze\.c|core dumped|Aborted", re.I)


def _candidates(system: str) -> list[Path]:
    """Folders Graphviz installs ``dot`` into that are often missing from PATH."""
    env_bin = Path(sys.prefix) / ("Library/bin" if system == "Windows" else "bin")
    if system == "Windows":
        roots = [os.environ.get(v) for v in ("ProgramFiles", "ProgramFiles(x86)",
                                             "LOCALAPPDATA")]
        return [env_bin, *(Path(r) / "Graphviz" / "bin" for r in roots if r)]
    return [env_bin, Path("/opt/homebrew/bin"), Path("/usr/local/bin"), Path("/usr/bin"),
            Path("/opt/local/bin"), Path("/snap/bin")]


def find_dot_off_path(system: str | None = None) -> Path | None:
    """A ``dot`` executable in a usual folder when none is on PATH; else None."""
    system = system or platform.system()
    if shutil.which("dot"):
        return None
    for folder in _candidates(system):
        found = shutil.which("dot", path=str(folder))
        if found:
            return Path(found)
    return None


def path_fix(dot: Path, system: str | None = None) -> str:
    """How to put ``dot``'s folder on PATH (for this shell and for good)."""
    system = system or platform.system()
    folder = dot.parent
    if system == "Windows":
        return (f'PowerShell: $env:Path += ";{folder}"   (for good: add {folder} to Path in '
                "System Properties > Environment Variables, then open a new terminal)")
    return (f'export PATH="{folder}:$PATH"   (for good: add that line to ~/.bashrc, '
            "~/.zshrc or ~/.profile)")


def install_fix(system: str | None = None, conda: bool | None = None) -> str:
    """The per-OS way to install Graphviz so that ``dot`` is on PATH."""
    system = system or platform.system()
    conda = (Path(sys.prefix) / "conda-meta").is_dir() if conda is None else conda
    lines = []
    if conda:
        lines.append("conda/micromamba env: conda install -c conda-forge graphviz")
    if system == "Windows":
        lines += ["winget install --id Graphviz.Graphviz   (or: choco install graphviz)",
                  r"then add C:\Program Files\Graphviz\bin to PATH and open a new terminal"]
    elif system == "Darwin":
        lines.append("brew install graphviz")
    else:
        lines.append("sudo apt-get install graphviz   (Fedora: sudo dnf install graphviz)")
    return "\n".join(lines)


def dot_advice(system: str | None = None) -> str | None:
    """None when ``dot`` is on PATH; else one line: where it is and how to add it to PATH,
    or how to install it."""
    if shutil.which("dot"):
        return None
    found = find_dot_off_path(system)
    if found is not None:
        return (f"Graphviz's dot is installed at {found} but that folder is not on PATH; "
                f"add it: {path_fix(found, system)}")
    return ("Graphviz's dot is not installed (not on PATH); install it: "
            + "; ".join(install_fix(system).splitlines()))


class DotHung(Exception):
    """``dot`` did not finish within its deadline."""


def hung_fix(dot: str) -> str:
    """What to check when ``dot`` hangs."""
    return (f"run `{dot} -V` yourself: if it hangs too, Graphviz is broken or a network file "
            "system it reads (fonts, its plugins) is not answering; reinstall Graphviz or fix "
            "that mount, then run again")


def dot_version(dot: str = "dot", timeout: float = VERSION_TIMEOUT) -> str:
    """The first line ``dot -V`` prints; DotHung when it does not end within ``timeout``
    seconds (it and whatever it started are then ended, in their own session)."""
    try:
        proc = subprocess.Popen([dot, "-V"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, errors="replace",
                                start_new_session=os.name != "nt")
    except OSError as exc:
        return f"unknown ({exc.strerror or exc})"
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _end_tree(proc)
        raise DotHung(f"Graphviz's dot ({dot}) did not answer `dot -V` within {timeout:g} s") \
            from None
    text = (err or out).strip()
    return text.splitlines()[0] if text else "unknown"


def _end_tree(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(OSError):
        if os.name == "nt":
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired, OSError, ValueError):
        proc.communicate(timeout=5)


def crash_text(error: BaseException | str) -> str | None:
    """Graphviz's own words when ``error`` (from plot_model/pydot) says ``dot`` crashed
    (killed by a signal, an assertion), else None: one line, e.g. ``dot: maze.c:313:
    chkSgraph: Assertion `np->cells[1]' failed. (signal 6)``."""
    text = str(error)
    if not _CRASH.search(text):
        return None
    said = [line.strip() for line in text.replace("\\n", "\n").splitlines()
            if "dot:" in line or "Assertion" in line]
    signal = re.search(r"returned code: -(\d+)", text)
    line = said[-1].lstrip("b'\"").rstrip("'\"") if said else "dot crashed"
    return f"{line}{f' (signal {signal.group(1)})' if signal else ''}"


def conda_graphviz(variant: str, root: Path | None = None) -> str | None:
    """The Graphviz version the conda route installs for ``variant`` on this platform, read
    from the toolkit's ``envs/<variant>/conda-lock.yml``; None where it cannot be read."""
    from envs.contract.layout import CONDA_LOCK, Layout
    from envs.contract.platforms import current_platform

    root = root or Path(__file__).resolve().parent.parent
    try:
        text = Layout.lock(root, variant, CONDA_LOCK).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    found = re.search(r"^- name: graphviz\n  version: (\S+)\n  manager: conda\n  platform: "
                      + re.escape(current_platform()) + "$", text, re.M)
    return found.group(1) if found else None


def newer_graphviz_fix(variant: str) -> str:
    """Where a Graphviz newer than the crashing one comes from, per route and OS."""
    conda = conda_graphviz(variant)
    lines = []
    if conda:
        lines.append(f"or a newer Graphviz: the conda route (setup --conda) installs "
                     f"conda-forge's Graphviz {conda}, which draws it")
    lines.append("or a newer Graphviz in any conda/micromamba environment: "
                 "conda install -c conda-forge graphviz")
    return "\n".join(lines)


def plot_model(keras: Any, model: Any, path: Path, **options: Any) -> str | None:
    """``keras.utils.plot_model`` with Keras' defaults; where this Graphviz crashes on them
    (the orthogonal router, see :data:`SPLINE_WORKAROUND`), drawn again with curved edges.
    Returns None, or the note that says the fallback was used. Other errors propagate."""
    said = io.StringIO()  # pydot prints dot's stderr (the assertion) and raises only its code
    try:
        with contextlib.redirect_stdout(said):
            keras.utils.plot_model(model, to_file=str(path), **options)
    except Exception as exc:  # pydot: AssertionError("... returned code: -6"); or OSError
        crash = crash_text(f"{exc}\n{said.getvalue()}")
        if crash is None or "splines" in options:
            raise
        keras.utils.plot_model(model, to_file=str(path), **options, splines="spline")
        try:
            version = dot_version()
        except DotHung:
            version = "dot -V did not answer"
        return (f"Graphviz ({version}) crashed with Keras' default orthogonal edges "
                f"({crash}); drawn with {SPLINE_WORKAROUND}")
    return None


class Deadline:
    """Whether :func:`dot_deadline` had to end a ``dot``."""

    def __init__(self) -> None:
        self.expired = False


def _is_drawing(child: Any, name: str, me: int, before: set[int]) -> bool:
    """A ``dot``, or a program a child started during the block that is no Python (what a
    ``dot`` wrapper script became once it exec'd: its name is no longer ``dot``)."""
    program = child.name().lower()
    if program in (name, f"{name}.exe"):
        return True
    return child.pid not in before and child.ppid() == me and not program.startswith("python")


def _end_dots(name: str, seconds: float, seen: dict[int, float], before: set[int]) -> bool:
    """End every drawing program (:func:`_is_drawing`) this process started that has been
    seen running for ``seconds`` (``seen``: pid -> when first seen, monotonic: the OS's
    start times are too coarse), and what each started; True when one was ended."""
    try:
        import psutil
    except ImportError:
        return False
    ended = False
    now = time.monotonic()
    me = psutil.Process()
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if not _is_drawing(child, name, me.pid, before):
                continue
            if now - seen.setdefault(child.pid, now) >= seconds:
                # the dot first, so it cannot report success for a child ended under it
                for proc in (child, *child.children(recursive=True)):
                    with contextlib.suppress(psutil.Error):
                        proc.kill()
                ended = True
    return ended


def _children() -> set[int]:
    try:
        import psutil
    except ImportError:
        return set()
    with contextlib.suppress(psutil.Error):
        return {c.pid for c in psutil.Process().children(recursive=True)}
    return set()


@contextlib.contextmanager
def dot_deadline(seconds: float = RENDER_TIMEOUT, name: str = "dot") -> Iterator[Deadline]:
    """Within the block, any ``dot`` this process runs (also one whose wrapper script exec'd
    another program) is ended once it has run for ``seconds`` (each its own deadline: a
    quick dot started late is never cut short); the
    yielded :class:`Deadline` says whether that happened (the caller reports it)."""
    state = Deadline()
    done = threading.Event()

    before = _children()  # the run's own helpers (preload children) are never ended

    def watch() -> None:
        seen: dict[int, float] = {}
        while not done.wait(min(1.0, seconds / 10)):
            if _end_dots(name, seconds, seen, before):
                state.expired = True

    watcher = threading.Thread(target=watch, name="kerasup-dot-deadline", daemon=True)
    watcher.start()
    try:
        yield state
    finally:
        done.set()
        watcher.join()
