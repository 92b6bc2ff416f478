"""A personal overlay on a shared kerasup environment: a user's own packages, never the shared
env's (``python -m envs.overlay``, run with the shared environment's Python).

A lab's environment (``/opt/kerasup/<variant>``) is root's and read-only for students. The
overlay is a venv in the user's home whose ``site-packages`` comes first and then sees the
shared environment's packages through one ``.pth`` file there (``site.addsitedir`` of the
shared ``site-packages``, so its own ``.pth`` files, such as the toolkit's site hook, apply too).
Its ``pip`` is the shared env's locked pip, and installs into the overlay only. A per-user
Jupyter kernel runs it, with the variant's ``KERAS_BACKEND`` pinned.

Nothing is written into the shared environment, and nothing of the user's is on the path of
anyone else: the ``.pth`` file lives in the user's own venv, which only the user's Python
reads. ``share/kerasup/overlay-of`` names the shared prefix, so ``python -m verify`` run in
the overlay checks against the shared lock and reports the user's additions as "outside the
lock".

Exit codes (envs.contract.errors.ExitCode): 0 done, 2 bad input (not a kerasup environment,
a folder that is not an overlay), 3 cannot proceed (venv or ipykernel failed), 130 ^C.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Sequence
from pathlib import Path

from envs.contract import record as install_record
from envs.contract.errors import ExitCode
from envs.contract.fileio import write_atomic
from envs.contract.kernel import PREFIX, register_argv
from envs.contract.layout import Layout

__all__ = ["main", "overlay_paths"]

PTH = "_kerasup_overlay.pth"
BACKEND = "tensorflow"  # the Keras backend every variant ships
_LAUNCHER = """#!{python}
# pip of the shared environment's lock, installing into this overlay (envs.overlay)
import sys
from pip._internal.cli.main import main
if __name__ == "__main__":
    sys.exit(main())
"""


class OverlayError(Exception):
    """One line for the user, with the fix and the exit code."""

    def __init__(self, message: str, code: int = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.code = code


def _site(prefix: Path) -> Path:
    """The site-packages of a venv at `prefix` made from this Python."""
    return Path(sysconfig.get_path("purelib", vars={"base": str(prefix),
                                                    "platbase": str(prefix)}))


def overlay_paths(home: Path, variant: str) -> tuple[Path, str]:
    """The default overlay folder and kernel name for `variant` (one of each per user)."""
    return home / f"kerasup-{variant}", f"{PREFIX}{variant}-mine"


def _shared() -> tuple[Path, str]:
    """This interpreter's environment and its variant; it must be a kerasup environment."""
    prefix = Path(sys.prefix)
    if Layout(prefix).overlay_of.is_file():
        raise OverlayError(f"{prefix} is an overlay already: run this with the shared "
                           "environment's Python (e.g. /opt/kerasup/cpu/bin/python -m "
                           "envs.overlay)")
    record, error = install_record.read(prefix)
    if record is None:
        raise OverlayError(f"{sys.executable} is not the Python of a kerasup environment "
                           f"({error or 'no install record'}): run this with the shared "
                           "environment's Python, e.g. /opt/kerasup/cpu/bin/python -m "
                           "envs.overlay")
    return prefix, record.variant


def _check_target(target: Path, shared: Path) -> bool:
    """True when `target` is this user's overlay of `shared` already (refreshed in place);
    False when it does not exist. Anything else is refused: it is not ours to change."""
    if target.is_symlink():
        raise OverlayError(f"{target} is a symbolic link; kerasup does not follow it: "
                           "choose another folder with --dir")
    if not target.exists():
        return False
    marker = Layout(target).overlay_of
    try:
        ours = marker.read_text(encoding="utf-8").strip() == str(shared)
    except (OSError, UnicodeDecodeError):
        ours = False
    if not ours:
        raise OverlayError(f"{target} exists and is not a kerasup overlay of {shared}: "
                           "move it away or choose another folder with --dir")
    return True


def _make(target: Path, shared: Path) -> None:
    """The venv (no pip of its own), the .pth onto the shared site-packages, the pip
    launchers and the marker."""
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(target)
    shared_sites = dict.fromkeys(sysconfig.get_path(k) for k in ("purelib", "platlib"))
    lines = "".join(f"import site; site.addsitedir({s!r})\n" for s in shared_sites)
    write_atomic(_site(target) / PTH, lines)
    if os.name != "nt":  # on Windows: python -m pip
        python = target / "bin" / "python"
        short = f"pip{sys.version_info[0]}.{sys.version_info[1]}"
        for name in ("pip", f"pip{sys.version_info[0]}", short):
            launcher = target / "bin" / name
            write_atomic(launcher, _LAUNCHER.format(python=python), mode=0o755)
    Layout(target).share.mkdir(parents=True, exist_ok=True)
    write_atomic(Layout(target).overlay_of, f"{shared}\n")


def _kernel(target: Path, name: str, variant: str) -> None:
    python = target / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    display = (f"Python {sys.version_info[0]}.{sys.version_info[1]} (kerasup {variant} + "
               "my packages)")
    argv = [*register_argv(str(python), name, display), "--env", "KERAS_BACKEND", BACKEND]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = " ".join(done.stderr.split())[-300:]
        raise OverlayError(f"registering the Jupyter kernel failed ({detail}); the overlay "
                           f"works without it: {python}", ExitCode.CANNOT_PROCEED)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m envs.overlay",
        description="Make (or refresh) your own overlay on this shared kerasup environment: "
                    "a venv in your home that sees the shared packages, where `pip install` "
                    "adds yours, with its own Jupyter kernel. The shared environment is "
                    "never changed.")
    p.add_argument("--dir", type=Path, metavar="DIR",
                   help="where to make it (default: ~/kerasup-<variant>)")
    p.add_argument("--no-kernel", action="store_true",
                   help="do not register the per-user Jupyter kernel")
    p.add_argument("--dry-run", action="store_true", help="say what would be done, do nothing")
    return p


def run(args: argparse.Namespace) -> int:
    if getattr(os, "geteuid", lambda: 1)() == 0 and args.dir is None:
        raise OverlayError("an overlay holds one user's own packages, and root's would be "
                           "root's alone: add packages for everyone to environment.yml and "
                           "re-run setup, or pass --dir DIR to make one anyway")
    shared, variant = _shared()
    default_dir, kernel = overlay_paths(Path.home(), variant)
    target = (args.dir or default_dir).expanduser().absolute()
    again = _check_target(target, shared)
    verb = "refresh" if again else "make"
    print(f"kerasup: {verb} your overlay {target} on {shared}"
          + ("" if args.no_kernel else f", with the Jupyter kernel {kernel}"))
    if args.dry_run:
        return ExitCode.OK
    _make(target, shared)
    if not args.no_kernel:
        _kernel(target, kernel, variant)
    bin_dir = target / ("Scripts" if os.name == "nt" else "bin")
    print(f"kerasup: done. Activate it with: source {bin_dir / 'activate'}\n"
          "  then `pip install NAME` adds a package for you alone; `python -m verify` lists "
          "it as outside the lock;\n  in Jupyter choose the kernel "
          f"\"kerasup {variant} + my packages\". Remove it all with: rm -r {target}"
          + ("" if args.no_kernel else f" && jupyter kernelspec remove -y {kernel}"))
    return ExitCode.OK


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return run(args)
    except OverlayError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except OSError as exc:
        print(f"error: {exc.strerror or exc} ({exc.filename or 'overlay'}): check the folder "
              "and the free space, or choose another with --dir", file=sys.stderr)
        return ExitCode.CANNOT_PROCEED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
