"""The offline and mirror commands of the installer's command line: ``--make-bundle``,
``--from-bundle`` and ``--index-url`` (with ``--check``'s reachability probe).

The logic lives in :mod:`setup.installer.bundle` and :mod:`setup.installer.netcheck`; this
module turns parsed arguments into their calls and their results into the usual one-line
messages and exit codes. ``--from-bundle`` is not a command of its own: it opens the bundle
and hands it to the installer's workflow as the source of the packages.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from envs.contract import flags
from envs.contract.errors import CannotProceed, ExitCode, UsageError
from envs.contract.facts import DEFAULT_PYTHON, DEFAULT_VARIANT
from envs.contract.fileio import file_sha256
from envs.contract.platforms import current_platform
from setup.installer import workflow
from setup.installer.plan import Options
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
                       help="install from a bundle (folder, .tar.gz or .zip), with no network "
                            "at all, then verify; from a checkout, the bundle's lock must be "
                            "the checkout's (default --prefix: ~/kerasup-env)")
    group.add_argument("--expect-sha256", metavar="HEX",
                       help="with --from-bundle: refuse the bundle unless its MANIFEST.json "
                            "has this sha256 (--make-bundle prints it)")
    group.add_argument("--index-url", metavar="URL",
                       help="install from this package index (a mirror) instead of PyPI; the "
                            "lock's hashes stay required")


def apply_index(index_url: str | None, environ: dict[str, str]) -> None:
    """``--index-url`` for every uv and pip the installer starts (hashes stay required)."""
    if index_url:
        environ["UV_DEFAULT_INDEX"] = index_url
        environ["PIP_INDEX_URL"] = index_url


def installed_uv(environ: Mapping[str, str]) -> str | None:
    """The uv the install will use, when it is there already (KERASUP_UV, or the pinned one
    in the tools folder); None before the first install."""
    from setup.installer import uvtool
    from setup.installer.runner import Runner

    if environ.get("KERASUP_UV"):
        return environ["KERASUP_UV"]
    target = Target.current()
    uv = uvtool.uv_path(uvtool.tools_dir(target, environ), target)
    version = uvtool.uv_version(uv, Runner()) if Path(uv).is_file() else None
    return str(uv) if version == uvtool.pinned_version() else None


def probe(environ: Mapping[str, str], index_url: str | None) -> str:
    """``--check``'s reachability line for the index in effect, asked through uv itself when
    it is installed (else Python's TLS with the same trust); CannotProceed on failure."""
    from setup.installer import netcheck  # urllib and ssl: only when asked
    from setup.installer.trust import net_timeout

    uv = installed_uv(environ)
    timeout = net_timeout(environ)
    found = (netcheck.probe_with_uv(uv, environ, index_url, timeout) if uv else
             netcheck.probe_index(environ=environ, index_url=index_url, timeout=timeout))
    if not found.ok:
        raise CannotProceed(found.problem or "the package index is unreachable", fix=found.fix)
    return found.one_line()


def make(args: argparse.Namespace, environ: Mapping[str, str], repo: Path) -> int:
    """``--make-bundle``: every --platform x --python, downloaded and checked against the lock."""
    # The bundle modules load only for a bundle command: a normal (re-)run skips them.
    from setup.installer.bundle.build import BundleRequest, default_data, make_bundle
    from setup.installer.bundle.manifest import MANIFEST
    from setup.installer.bundle.select import parse_target

    pythons = args.python or [DEFAULT_PYTHON]
    targets = tuple(parse_target(p, py) for p in args.platform or [current_platform()]
                    for py in pythons)
    result = make_bundle(BundleRequest(out=args.make_bundle, targets=targets,
                                       variant=args.variant or DEFAULT_VARIANT, repo=repo,
                                       data=args.data or default_data(environ),
                                       index_url=args.index_url, environ=environ),
                         progress=lambda name: emit(f"kerasup: wheel {name}"))
    where = result.archive or result.directory
    pin = file_sha256(result.directory / MANIFEST)
    emit(f"kerasup: bundle {where}: {len(result.manifest.files)} files for "
         f"{result.manifest.target_labels()}; install it offline with its "
         "install.sh (install.ps1 on Windows)")
    emit(f"kerasup: {MANIFEST} sha256 {pin}: pin it when installing with "
         f"--expect-sha256 {pin}")
    return ExitCode.OK


def from_bundle(options: Options, args: argparse.Namespace, environ: Mapping[str, str],
                repo: Path) -> int:
    """``--from-bundle``: the installer's own workflow with the bundle as its source (plan,
    --dry-run, --plan-json, prefix lock, install.log, record, verify on the bundle's MNIST).
    An archive is extracted into a temporary folder first, removed at the end."""
    from setup.installer.bundle.source import bundle_env, open_source

    with tempfile.TemporaryDirectory(prefix="kerasup-bundle-") as tmp:
        source = open_source(args.from_bundle, Path(tmp), platform=current_platform(),
                             python=None, repo=repo, expect_sha256=args.expect_sha256)
        variant = source.manifest.variant
        if args.variant is not None and args.variant != variant:
            raise UsageError(f"--variant {args.variant}: the bundle holds the {variant} "
                             "environment", fix=f"drop --variant, or use a {args.variant} "
                             "bundle")
        made_for = source.pythons(current_platform())
        python = options.python or (made_for[0] if len(made_for) == 1 else None)
        # Not the bundle's own folder: a USB stick is read-only, or gone tomorrow.
        prefix = options.prefix or Path.home() / "kerasup-env"
        return workflow.run(dataclasses.replace(options, bundle=source, variant=variant,
                                                python=python, prefix=prefix, offline=True),
                            environ=bundle_env(environ), repo=repo)


def dispatch(args: argparse.Namespace, environ: dict[str, str], repo: Path) -> int | None:
    """Run --make-bundle when asked for (and --check's index probe); None otherwise (an
    install, from an index or from a bundle)."""
    apply_index(args.index_url, environ)
    if args.make_bundle is not None:
        return make(args, environ, repo)
    quiet = (args.from_bundle or args.platform or args.plan_json or args.offline
             or flags.offline(environ))
    if args.check and not quiet:
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
