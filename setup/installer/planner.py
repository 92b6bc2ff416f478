"""Survey the machine, then compute the :class:`~setup.installer.plan.Plan`: read-only and
running no program.

Two phases around :mod:`setup.installer.discover`: :func:`survey` reads the machine, the lock,
the prefix and its install record (files only); discover then runs the probes (the
interpreters, ``nvidia-smi``, the installed-files scan) and hands their results, as
:class:`~setup.installer.discover.Facts`, to :func:`plan`, which decides everything from the
survey and the facts. Both only read: keras.json by ``keras_json.plan`` (no write path), the
pinned uv by its dist-info, a bundle by its manifest. Anything that would change something
becomes an :class:`~setup.installer.plan.Action` in the plan.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import sysconfig
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from envs.contract import fileio, flags, record
from envs.contract.errors import CannotProceed, UsageError
from envs.contract.layout import Layout
from envs.contract.lockheader import LockCoverage
from setup.installer import configure, jupyter, preflight, uvtool
from setup.installer.backends import Backend, choose_backend
from setup.installer.plan import Action, Options, Plan
from setup.installer.pythons import PythonChoice
from setup.installer.target import Target

if TYPE_CHECKING:
    from setup.installer.discover import Facts

__all__ = ["Survey", "default_prefix", "plan", "record_action", "survey", "wanted_record"]


def default_prefix(repo: Path) -> Path:
    """.venv in the repository."""
    return repo / ".venv"


def _targets(options: Options) -> tuple[Target, Target]:
    host = Target.current()
    if not options.platform:
        return host, host
    target = Target.from_platform(options.platform)
    if target.platform != host.platform and not (options.dry_run or options.check
                                                 or options.plan_json):
        raise UsageError(f"--platform {options.platform} is not this machine ({host.platform})",
                         fix="use --platform only with --dry-run, --check or --plan-json")
    return target, host


def _prefix(options: Options, repo: Path, target: Target) -> Path:
    if options.in_place:
        return Path(sys.prefix)
    if options.prefix and target.is_windows != (os.name == "nt"):
        # A prefix on another OS family (--platform): kept as written; this machine's cwd
        # means nothing there (and Python 3.13's pathlib no longer lets a drive win).
        return Path(options.prefix)
    return Path(options.prefix or default_prefix(repo)).expanduser().absolute()


def _lock(options: Options, repo: Path, target: Target) -> tuple[Path, LockCoverage]:
    pip_lock = preflight.select_lock(repo, options.variant, target.platform, conda=False)
    lock = options.lock or preflight.select_lock(repo, options.variant, target.platform,
                                                 conda=options.conda)
    # The pip lock's header says what the variant covers (conda-lock.yml has no header).
    covered = preflight.check_lock_covers(options.lock or pip_lock, variant=options.variant,
                                          platform=target.platform, python=options.python)
    return lock, covered


def _uv(options: Options, backend: Backend, target: Target, environ: Mapping[str, str],
        prefix: Path) -> tuple[Path | None, str | None, list[Action]]:
    """The tools dir, the uv to run, and whether the pinned uv must be installed first."""
    if options.bundle is not None:  # the bundle's own uv, unpacked into kerasup's folder
        return None, str(Layout(prefix).tools / f"uv{target.exe_suffix}"), []
    if backend.name == "in-place":
        return None, getattr(backend, "uv", None), []
    if backend.name != "uv-venv":
        return None, None, []
    tools = uvtool.tools_dir(target, environ)
    if environ.get("KERASUP_UV"):
        return tools, environ["KERASUP_UV"], []
    uv = uvtool.uv_path(tools, target)
    version = uvtool.pinned_version()
    if target == Target.current() and uvtool.installed_version(tools, target) == version:
        return tools, str(uv), []
    return tools, str(uv), [Action("ensure-uv", f"install the pinned uv {version} into {tools} "
                                   "(python -m venv, then pip --require-hashes)",
                                   path=str(tools))]


def _describe_prefix(prefix: Path, kind: str, owner: str, existing: bool) -> str:
    what = {"new": "new", "interpreter": "the running interpreter's prefix (in place)",
            "kerasup": f"existing {kind} environment made by kerasup",
            "foreign": f"existing {kind} environment kerasup did not make (--replace-foreign)"}
    return f"{prefix} ({what.get(owner, owner)}{', install record found' if existing else ''})"


def _check_actions(options: Options) -> list[Action]:
    """check-bundle: the one read of the bundle's files, before anything is created."""
    if options.bundle is None:
        return []
    files = options.bundle.manifest.files
    return [Action("check-bundle", f"check the {len(files)} files of the bundle against its "
                   "MANIFEST.json: every size, every sha256 but the wheels' (uv checks each "
                   "wheel against the lock's sha256 as it installs it)",
                   path=str(options.bundle.root))]


def record_action(prefix: Path) -> Action:
    """write-record: the last step of an install (and of a repair) that changed packages."""
    path = Layout(prefix).install_record
    return Action("write-record", f"write the install record {path}", path=str(path))


def _configure_actions(plan: Plan, options: Options, repo: Path,
                       environ: Mapping[str, str]) -> list[Action]:
    out = []
    site = Path(plan.site_packages)
    toolkit = plan.toolkit or repo
    if plan.bundle is not None and not plan.up_to_date:
        out.append(Action("copy-toolkit", f"copy the toolkit (runtime files) from {repo} to "
                          f"{toolkit}: the environment keeps working once the bundle is gone",
                          path=str(toolkit)))
    if not (plan.up_to_date and configure.hook_current(site, toolkit)):
        out.append(Action("write-site-hook", f"write the site hook {site / configure.PTH_NAME} "
                          f"(only verify and envs from {toolkit} become importable)",
                          path=str(site / configure.PTH_NAME)))
    if not plan.up_to_date:
        out.append(record_action(plan.prefix))
    verb = {"created": "create", "updated": "back up and update",
            "replaced": "move aside what is at"}.get(plan.keras_json_action)
    if verb:
        out.append(Action("keras-json", f"{verb} {plan.keras_json} (backend tensorflow)",
                          path=str(plan.keras_json)))
    kernel = _kernel_action(plan, options, repo, environ)
    if kernel is not None:
        out.append(kernel)
    if options.verify:
        layout = Layout(plan.prefix)
        data = (("--data", str(plan.bundle.data)) if plan.bundle and plan.bundle.data
                and "--data" not in options.verify_args else ())
        out.append(Action("verify", "run python -m verify in the environment",
                          tuple(layout.verify_argv(str(plan.env_python),
                                                   *options.verify_args, *data)),
                          cwd=str(layout.share)))
    return out


def _kernel_action(plan: Plan, options: Options, repo: Path,
                   environ: Mapping[str, str]) -> Action | None:
    """register-kernel, unless --no-kernel, in place (the runtime has its own kernel) or
    the same kernelspec is already there."""
    if not options.kernel or options.in_place:
        return None
    found = jupyter.kernel_plan(
        variant=plan.variant, python=plan.python.version, prefix=plan.prefix,
        default=plan.prefix == default_prefix(repo).absolute(), env_python=plan.env_python,
        target=plan.target, environ=environ, name=options.kernel_name,
        kernel_prefix=options.kernel_prefix)
    if found.current and plan.up_to_date:
        return None
    return Action("register-kernel", f"register the Jupyter kernel {found.name} "
                  f"({found.display_name!r}) in {found.directory.parent}", found.command,
                  path=str(found.directory))


def _wanted(options: Options, *, python: PythonChoice, target: Target, prefix: Path,
            lock: Path, sha: str, method: str, repo: Path) -> record.InstallRecord:
    """The record this install will write. A bundle install records the toolkit copy it
    leaves in the environment (and that copy's lock), and names the bundle as the source."""
    toolkit, source = repo.resolve(), None
    if options.bundle is not None:
        toolkit, source = Layout(prefix).toolkit, options.bundle.label()
        lock = toolkit / lock.resolve().relative_to(repo.resolve())
    return record.InstallRecord(
        variant=options.variant, python=python.version, platform=target.platform,
        lock=str(lock if options.bundle else lock.resolve()), lock_sha256=sha, method=method,
        toolkit_root=str(toolkit), source=source,
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


def _check_bundle_python(options: Options, python: PythonChoice, target: Target) -> None:
    """A bundle carries no interpreter, and was made for some platform x Python pairs."""
    if options.bundle is None:
        return
    from setup.installer.bundle.check import check_target

    check_target(options.bundle.manifest, target.platform, python.version)
    if python.executable is None:
        raise CannotProceed(f"no Python {python.version} is installed, and a bundle carries "
                            "no interpreter", fix=python.note or "install Python "
                            f"{python.version} from the OS (the bundle's README.txt has the "
                            "command) and run again")


def _reports(facts: Facts, *, target: Target, host: Target, lock: Path, sha: str,
             environ: Mapping[str, str]) -> list[tuple[str, str]]:
    if target == host:
        first = ("OS", facts.os or target.platform)
    else:
        first = ("platform", f"{target.platform} (--platform: its paths and lock; nothing is "
                 "run for it)")
    reports = [first, ("lock", f"{lock} (sha256 {sha[:12]}...)"),
               ("proxy", preflight.proxy_report(environ))]
    if facts.driver:
        reports.append(("driver", facts.driver))
    return reports


@dataclasses.dataclass(frozen=True)
class Survey:
    """What planning reads before any probe: the machine, the prefix, the lock, the record."""

    target: Target
    host: Target
    offline: bool
    prefix: Path
    lock: Path
    covered: LockCoverage
    backend: Backend
    kind: str  # the prefix: new | venv | conda | interpreter
    owner: str  # new | kerasup | foreign | interpreter
    existing: record.InstallRecord | None
    unreadable: str | None

    @property
    def recorded_python(self) -> str | None:
        """The Python of the existing install kerasup made there, if any."""
        return self.existing.python if self.existing and self.owner == "kerasup" else None


def survey(options: Options, *, environ: Mapping[str, str], repo: Path) -> Survey:
    """Check the options and read what planning needs (files only; UsageError/CannotProceed
    on the first problem)."""
    preflight.check_variant(options.variant)
    preflight.check_python(options.python)
    target, host = _targets(options)
    prefix = _prefix(options, repo, target)
    lock, covered = _lock(options, repo, target)
    backend = choose_backend(options, environ)
    if options.in_place:
        kind = owner = "interpreter"
    else:
        kind = preflight.prefix_kind(prefix)  # unwritable or noexec: refused there
        owner = preflight.prefix_owner(prefix, kind, conda=options.conda,
                                       replace_foreign=options.replace_foreign)
    existing, unreadable = record.read(prefix) if owner != "foreign" else (None, None)
    return Survey(target, host, options.offline or flags.offline(environ), prefix, lock,
                  covered, backend, kind, owner, existing,
                  unreadable)


def wanted_record(options: Options, found: Survey, python: PythonChoice, repo: Path
                  ) -> tuple[record.InstallRecord, bool]:
    """The record this install will write, and whether the environment already matches it
    (before any installed-files scan)."""
    sha = fileio.file_sha256(found.lock)
    wanted = _wanted(options, python=python, target=found.target, prefix=found.prefix,
                     lock=found.lock, sha=sha, method=found.backend.method, repo=repo)
    env_python = found.backend.env_python(found.target, found.prefix)
    return wanted, (not options.force and wanted.matches(found.existing)
                    and Path(env_python).exists())


def plan(options: Options, found: Survey, facts: Facts, *, environ: Mapping[str, str],
         repo: Path) -> Plan:
    """Decide everything from the survey and the discovered facts; runs no program.
    Raises KerasupError on the first problem."""
    target, host, prefix, lock, backend = (found.target, found.host, found.prefix, found.lock,
                                           found.backend)
    python = facts.python
    if python.version not in found.covered.pythons:
        raise UsageError(f"the {options.variant} lock does not cover Python {python.version}: "
                         f"it covers {found.covered.describe()}", fix="choose another --python")
    _check_bundle_python(options, python, target)
    sha = fileio.file_sha256(lock)
    env_python = backend.env_python(target, prefix)
    site = (Path(sysconfig.get_paths()["purelib"]) if options.in_place
            else target.site_packages(prefix, python.version))
    wanted, up_to_date = wanted_record(options, found, python, repo)
    up_to_date = up_to_date and not facts.damaged
    reports = _reports(facts, target=target, host=host, lock=lock, sha=sha, environ=environ)
    reports.insert(2, ("prefix", _describe_prefix(prefix, found.kind, found.owner,
                                                  found.existing is not None)))
    if options.bundle is not None:
        reports.insert(1, ("bundle", options.bundle.describe()))
    if found.unreadable:
        reports.append(("record", f"{found.unreadable}: the environment is rebuilt"))
    if facts.damaged:
        reports.append(("installed files", f"{', '.join(facts.damaged)} lost installed files "
                        "since install: reinstalling them"))
    if not up_to_date:
        reports.append(("download", preflight.size_report(options.variant)
                        if options.bundle is None else "nothing: every package comes from "
                        "the bundle, offline"))
        reports.append(("disk", preflight.check_disk(prefix, options.variant,
                                                      environ).describe(prefix)))
    tools, uv, uv_actions = _uv(options, backend, target, environ, prefix)
    kj = configure.keras_json_update(environ, dry_run=True)
    made = Plan(variant=options.variant, target=target, host=host, python=python,
                prefix=prefix, prefix_kind=found.kind, prefix_owner=found.owner, lock=lock,
                lock_sha256=sha, backend=backend.name, method=backend.method,
                env_python=env_python, site_packages=site, repo=repo, record=wanted,
                existing_record=found.existing is not None, up_to_date=up_to_date,
                offline=found.offline, force=options.force, keras_json=kj.path,
                keras_json_action=kj.action, tools=tools, uv=uv, reports=tuple(reports),
                driver_missing=facts.driver_missing, damaged=facts.damaged,
                discovered=facts.probes, bundle=options.bundle,
                toolkit=Path(wanted.toolkit_root) if options.bundle else repo)
    env_actions = [] if up_to_date else [*_check_actions(options), *uv_actions,
                                         *backend.actions(made)]
    return dataclasses.replace(made, actions=(*env_actions,
                                              *_configure_actions(made, options, repo,
                                                                  environ)))
