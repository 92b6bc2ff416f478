"""The command line: ``python setup/bootstrap.py [options]`` (ubuntu.sh and windows.ps1 pass
their flags through).

Every error is one line, ``kerasup: error: <what> (fix: <what to do>)``, with the exit code
of :class:`envs.contract.errors.ExitCode`: 2 bad input, 3 cannot proceed, 1 verify failed,
129/130/143 ended by SIGHUP/SIGINT/SIGTERM. Output never fails on the console's encoding.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from envs.contract import facts, flags, kernel, platforms
from envs.contract.errors import ExitCode, KerasupError, UsageError, signal_exit_code
from envs.contract.fileio import UnsafeTarget
from setup.installer import credentials, jupyter, offline_cli, workflow
from setup.installer.plan import Options
from setup.installer.runner import Interrupted, emit, handle_signals, make_streams_safe
from setup.installer.target import Target, find_dot
from setup.installer.trust import child_tls_env
from setup.installer.uvtool import user_cache

__all__ = ["REPO_ROOT", "build_parser", "check_exclusive", "main", "options_from"]

REPO_ROOT = Path(__file__).resolve().parents[2]
_SIGNAL_NAMES = {1: "SIGHUP", 2: "SIGINT", 15: "SIGTERM"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        emit(f"kerasup: error: {message} (fix: see --help)", sys.stderr)
        raise SystemExit(ExitCode.USAGE)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="bootstrap.py", formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Take this machine from a Python to a verified Keras/TensorFlow "
                            "environment, installed from kerasup's hashed lock.",
                epilog="environment variables:\n" + "\n".join(
                    f"  {name:<24}{text}" for name, text in flags.FLAGS.items())
                + "\n\nexit status: verify's (0 ready, 1 a check failed), 2 bad input, "
                  "3 setup could not proceed, 130/143/129 interrupted")
    p.add_argument("--variant",
                   help=f"{' or '.join(facts.VARIANTS)} (default {facts.DEFAULT_VARIANT}; "
                        "with --from-bundle, the bundle's)")
    p.add_argument("--python", action="append", help=f"Python version for the environment: "
                   f"{', '.join(facts.PYTHONS)}, or the path of an interpreter (default: the "
                   "one an existing install uses, else an installed one, "
                   f"{facts.DEFAULT_PYTHON} preferred); repeatable with --make-bundle")
    p.add_argument("--python-exe", type=Path, help="make the environment from this interpreter")
    p.add_argument("--prefix", help="where the environment goes (default: .venv in the "
                   "repository)")
    p.add_argument("--conda", action="store_true",
                   help="create it from envs/<variant>/conda-lock.yml with micromamba/conda-lock")
    p.add_argument("--in-place", action="store_true",
                   help="install into the interpreter running setup (what Colab needs)")
    p.add_argument("--dry-run", action="store_true", help="print every action, change nothing")
    p.add_argument("--check", action="store_true", help="run the checks only, change nothing")
    p.add_argument("--plan-json", "--json", dest="plan_json", action="store_true",
                   help="print the plan as JSON and change nothing")
    p.add_argument("--yes", "-y", action="store_true",
                   help="answer yes to questions (setup asks one: download the GPU build "
                        "although no NVIDIA driver answers; ubuntu.sh's sudo apt-get asks "
                        "another); never replaces an environment kerasup did not make")
    p.add_argument("--replace-foreign", action="store_true",
                   help="move an environment kerasup did not make at --prefix aside "
                        "(<prefix>.old-<time>) and make a new one")
    p.add_argument("--force", action="store_true", help="rebuild even if up to date")
    p.add_argument("--offline", action="store_true",
                   help="never download (same as KERASUP_OFFLINE=1)")
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="skip `python -m verify`")
    jup = p.add_argument_group("Jupyter kernel")
    jup.add_argument("--no-kernel", dest="kernel", action="store_false",
                     help="do not register the environment as a Jupyter kernel")
    jup.add_argument("--kernel-name", metavar="NAME",
                     help="the kernel's name (default kerasup-<variant>, plus a hash of the "
                          "prefix outside the default .venv)")
    jup.add_argument("--kernel-prefix", metavar="DIR", type=Path,
                     help="register it under DIR/share/jupyter/kernels (system-wide, e.g. "
                          "/usr/local) instead of for this user")
    p.add_argument("--platform", action="append", help="plan for another platform (with "
                   "--dry-run, --check or --plan-json), or a bundle's target (repeatable with "
                   f"--make-bundle): {', '.join(platforms.PLATFORMS)}")
    # Internal (verify and the shell entry points ask it): hidden from --help.
    p.add_argument("--find-dot", action="store_true", help=argparse.SUPPRESS)
    offline_cli.add_arguments(p)
    return p


# Modes and the flags they exclude: the one place these rules live.
_EXCLUSIVE: dict[str, tuple[str, ...]] = {
    "in_place": ("conda", "prefix", "from_bundle", "make_bundle"),
    "from_bundle": ("conda", "make_bundle", "index_url", "platform"),
    "make_bundle": ("conda", "prefix", "dry_run", "plan_json"),
}


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def check_exclusive(args: argparse.Namespace) -> None:
    """UsageError when two modes that exclude each other are both given."""
    for mode, excluded in _EXCLUSIVE.items():
        if not getattr(args, mode, None):
            continue
        clash = [_flag(d) for d in excluded if getattr(args, d, None) not in (None, False, [])]
        if clash:
            raise UsageError(f"{_flag(mode)} cannot be combined with {', '.join(clash)}",
                             fix=f"drop {' and '.join(clash)}, or drop {_flag(mode)}")


def options_from(args: argparse.Namespace) -> Options:
    """Options from parsed arguments; UsageError for values argparse cannot judge."""
    if args.prefix is not None and not args.prefix.strip():
        raise UsageError("--prefix is empty", fix="name a directory, or drop --prefix for the "
                         "default (.venv in the repository)")
    check_exclusive(args)
    return Options(variant=args.variant or facts.DEFAULT_VARIANT,
                   python=offline_cli.single(args.python, "--python"),
                   python_exe=args.python_exe,
                   prefix=Path(args.prefix) if args.prefix else None, conda=args.conda,
                   in_place=args.in_place, dry_run=args.dry_run, check=args.check,
                   plan_json=args.plan_json, offline=args.offline, verify=args.verify,
                   force=args.force, replace_foreign=args.replace_foreign,
                   platform=offline_cli.single(args.platform, "--platform"), yes=args.yes,
                   kernel=args.kernel,
                   kernel_name=args.kernel_name, kernel_prefix=_kernel_prefix(args))


def python_path(args: argparse.Namespace) -> None:
    """``--python PATH`` is ``--python-exe PATH`` (a version never holds a slash)."""
    if args.python and len(args.python) == 1 and re.search(r"[/\\]", args.python[0]):
        if args.python_exe is not None:
            raise UsageError("--python PATH and --python-exe both name an interpreter",
                             fix="give one of them")
        args.python_exe, args.python = Path(args.python[0]).expanduser(), None


def _kernel_prefix(args: argparse.Namespace) -> Path | None:
    problem = None if args.kernel_name is None else kernel.name_problem(args.kernel_name)
    if problem:
        raise UsageError(f"--kernel-name {args.kernel_name!r}: {problem}",
                         fix="choose a name such as kerasup-lab, or drop --kernel-name")
    if args.kernel_name is not None:
        args.kernel_name = args.kernel_name.lower()  # the folder Jupyter makes (lower case)
    if args.kernel_prefix is None:
        return None
    if not str(args.kernel_prefix).strip():
        raise UsageError("--kernel-prefix is empty", fix="name a directory, e.g. /usr/local")
    where = args.kernel_prefix.expanduser().absolute()
    if args.kernel:  # before any route installs anything
        jupyter.refuse_unwritable(where / "share" / "jupyter" / "kernels", where)
    return where


def _find_dot(args: argparse.Namespace) -> int:
    platform = offline_cli.single(args.platform, "--platform")
    target = Target.from_platform(platform) if platform else Target.current()
    dot = find_dot(target, os.environ, env_prefix=args.prefix, conda=args.conda)
    if dot:
        emit(str(dot))
    return ExitCode.OK if dot else ExitCode.FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    make_streams_safe()
    if argv is None:
        credentials.hide_from_argv(os.environ)  # execs again when it has something to hide
    args = build_parser().parse_args(argv)
    try:
        with handle_signals():
            if args.find_dot:
                return _find_dot(args)
            python_path(args)
            environ = dict(os.environ)
            check_exclusive(args)
            args.index_url = credentials.index_url(args.index_url, environ)
            warning = credentials.plain_http_warning(args.index_url)
            if warning:
                emit(f"kerasup: {warning}", sys.stderr)
            environ.update(child_tls_env(environ, user_cache(Target.current(), environ)))
            args.kernel_prefix = _kernel_prefix(args)  # checked before any route starts
            done = offline_cli.dispatch(args, environ, REPO_ROOT)
            if done is not None:
                return done
            options = options_from(args)
            if args.from_bundle is not None:
                return offline_cli.from_bundle(options, args, environ, REPO_ROOT)
            return workflow.run(options, environ=environ, repo=REPO_ROOT)
    except KerasupError as exc:
        emit(f"kerasup: error: {exc.one_line()}", sys.stderr)
        return int(exc.code)
    except UnsafeTarget as exc:  # a link or device where setup writes one of its files
        emit(f"kerasup: error: {exc.as_usage_error().one_line()}", sys.stderr)
        return ExitCode.USAGE
    except Interrupted as exc:
        name = _SIGNAL_NAMES.get(exc.signum, f"signal {exc.signum}")
        emit(f"kerasup: interrupted ({name}); nothing was recorded as installed: run the same "
             "command again to finish", sys.stderr)
        return signal_exit_code(exc.signum)
    except KeyboardInterrupt:
        emit("kerasup: interrupted (SIGINT); run the same command again to finish", sys.stderr)
        return ExitCode.INTERRUPTED
