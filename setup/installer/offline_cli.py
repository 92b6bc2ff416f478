"""The offline and mirror commands of the installer's command line: ``--make-bundle``,
``--from-bundle`` and ``--index-url`` (with ``--check``'s reachability probe).

The logic lives in :mod:`setup.installer.bundle` and :mod:`setup.installer.netcheck`; this
module turns parsed arguments into their calls and their results into the usual one-line
messages and exit codes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from envs.contract import flags
from envs.contract.errors import CannotProceed, ExitCode, UsageError
from envs.contract.facts import DEFAULT_PYTHON
from envs.contract.layout import Layout
from envs.contract.platforms import current_platform
from setup.installer import jupyter, preflight
from setup.installer.pythons import resolve_python
from setup.installer.runner import emit
from setup.installer.target import Target

__all__ = ["add_arguments", "apply_index", "dispatch", "from_bundle", "make", "probe", "single"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The offline and mirror options (``--platform``/``--python`` repeat with a bundle)."""
    group = parser.add_argument_group("offline bundles and mirrors")
    group.add_argument("--make-bundle", metavar="OUT", type=Path,
                       help="build an offline bundle (a folder, or OUT.tar.gz / OUT.zip) for "
                            "--variant and each --platform x --python given (default: this "
                            "machine and the default Python)")
    group.add_argument("--data", type=Path, metavar="MNIST",
                       help="with --make-bundle: MNIST (IDX folder or mnist.npz) to carry "
                            "(default: the Keras cache's mnist.npz when present)")
    group.add_argument("--from-bundle", metavar="BUNDLE", type=Path,
                       help="install from a bundle, with no network at all, then verify")
    group.add_argument("--index-url", metavar="URL",
                       help="install from this package index (a mirror) instead of PyPI; the "
                            "lock's hashes stay required")


def apply_index(index_url: str | None, environ: dict[str, str]) -> None:
    """``--index-url`` for every uv and pip the installer starts (hashes stay required)."""
    if index_url:
        environ["UV_DEFAULT_INDEX"] = index_url
        environ["PIP_INDEX_URL"] = index_url


def probe(environ: Mapping[str, str], index_url: str | None) -> str:
    """``--check``'s reachability line for the index in effect; CannotProceed on failure."""
    from setup.installer import netcheck  # urllib and ssl: only when asked

    found = netcheck.probe_index(environ=environ, index_url=index_url)
    if not found.ok:
        raise CannotProceed(found.problem or "the package index is unreachable", fix=found.fix)
    return found.one_line()


def make(args: argparse.Namespace, environ: Mapping[str, str], repo: Path) -> int:
    """``--make-bundle``: every --platform x --python, downloaded and checked against the lock."""
    # The bundle modules load only for a bundle command: a normal (re-)run skips them.
    from setup.installer.bundle.build import BundleRequest, default_data, make_bundle
    from setup.installer.bundle.select import parse_target

    pythons = args.python or [DEFAULT_PYTHON]
    targets = tuple(parse_target(p, py) for p in args.platform or [current_platform()]
                    for py in pythons)
    result = make_bundle(BundleRequest(out=args.make_bundle, targets=targets,
                                       variant=args.variant, repo=repo,
                                       data=args.data or default_data(environ),
                                       index_url=args.index_url, environ=environ),
                         progress=lambda name: emit(f"kerasup: wheel {name}"))
    where = result.archive or result.directory
    emit(f"kerasup: bundle {where}: {len(result.manifest.files)} files for "
         f"{result.manifest.target_labels()}; install it offline with its "
         "install.sh (install.ps1 on Windows)")
    return ExitCode.OK


def _bundle_python(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    want = args.python[0] if args.python else None
    chosen = resolve_python(want=want, python_exe=args.python_exe, target=Target.current(),
                            environ=environ, offline=True, recorded=None)
    if chosen.executable is None:
        raise CannotProceed("no supported Python is installed, and a bundle carries none",
                            fix=chosen.note or "install Python 3.12 from the OS")
    return chosen.executable


def _verify(prefix: Path, data: Path | None, environ: Mapping[str, str]) -> int:
    layout = Layout(prefix)
    python = Target.current().venv_python(prefix)
    cmd = layout.verify_argv(str(python), *(["--data", str(data)] if data else []))
    emit(f"kerasup: running verify: {' '.join(cmd)}")
    return subprocess.run(cmd, env=dict(environ), cwd=layout.share, check=False).returncode


def _register_kernel(args: argparse.Namespace, prefix: Path, variant: str, minor: str,
                     environ: Mapping[str, str]) -> None:
    """The same Jupyter kernel the online install registers (per user, or --kernel-prefix)."""
    target = Target.current()
    plan = jupyter.kernel_plan(variant=variant, python=minor, prefix=prefix, default=False,
                               env_python=target.venv_python(prefix), target=target,
                               environ=environ, name=args.kernel_name,
                               kernel_prefix=args.kernel_prefix)
    if plan.current:
        return
    done = subprocess.run(list(plan.command), env=dict(environ), capture_output=True,
                          text=True, check=False)
    emit(f"kerasup: Jupyter kernel {plan.name!r}: " + ("registered" if done.returncode == 0
         else f"not registered ({' '.join(done.stderr.split())[-200:]})"))


def from_bundle(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """``--from-bundle``: check, install offline, record, verify (with the bundle's MNIST)."""
    from setup.installer.bundle.check import check_bundle, open_bundle
    from setup.installer.bundle.offline import install_from_bundle, python_minor

    # Not the bundle's own folder: a USB stick is read-only, or gone tomorrow.
    prefix = Path(args.prefix or Path.home() / "kerasup-env").expanduser().absolute()
    preflight.check_place(prefix)  # unwritable or noexec: one line, before any work
    python = _bundle_python(args, environ)
    with tempfile.TemporaryDirectory(prefix="kerasup-bundle-") as tmp:
        root = open_bundle(args.from_bundle, Path(tmp))
        manifest = check_bundle(root, current_platform(), python_minor(python))
        done = install_from_bundle(root, prefix, python, environ)
        data = root / manifest.data if manifest.data else None
        emit(f"kerasup: installed {prefix} from {args.from_bundle} offline in "
             f"{done.seconds.get('total', 0):.1f}s")
        if args.kernel:
            _register_kernel(args, prefix, manifest.variant, python_minor(python), environ)
        if not args.verify:
            return ExitCode.OK
        return _verify(prefix, data, environ)


def dispatch(args: argparse.Namespace, environ: dict[str, str], repo: Path) -> int | None:
    """Run a bundle command when one was asked for; None otherwise (the normal setup)."""
    apply_index(args.index_url, environ)
    if args.make_bundle is not None:
        return make(args, environ, repo)
    if args.from_bundle is not None:
        return from_bundle(args, environ)
    if args.check and not (args.platform or args.plan_json or args.offline
                           or flags.offline(environ)):
        emit(f"kerasup: {probe(environ, args.index_url)}")
    return None


def single(values: Sequence[str] | None, flag: str) -> str | None:
    """The one value of a flag that repeats only with --make-bundle."""
    if not values:
        return None
    if len(values) > 1:
        raise UsageError(f"{flag} is given {len(values)} times",
                         fix=f"give {flag} once, or several times only with --make-bundle")
    return values[0]


if __name__ == "__main__":  # pragma: no cover - use setup/bootstrap.py
    sys.exit("use setup/bootstrap.py")
