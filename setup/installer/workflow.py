"""The flow: plan (preflight, Python, actions) -> execute the actions in order -> verify.

Each action kind has one small handler; the plan decided everything already. The install
record is written after the packages and the site hook, and before keras.json, so an
interrupted or failed install is never recorded (and is rebuilt next time), while a
keras.json that cannot be written does not make the next run rebuild a good environment.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from envs.contract import facts, record
from envs.contract.errors import CannotProceed, ExitCode, KerasupError
from envs.contract.fileio import move_aside, write_atomic
from envs.contract.layout import Layout
from envs.contract.piplock import canonical_name, parse_requirements
from setup.installer import configure, filescan, installlog, payload, prefixlock, uvtool
from setup.installer.backends import choose_backend
from setup.installer.deadline import idle_seconds
from setup.installer.discover import build_plan
from setup.installer.failures import explain, python_download_failed, write_error
from setup.installer.plan import Action, Options, Plan, Step, render
from setup.installer.planner import record_action
from setup.installer.preflight import NO_DRIVER
from setup.installer.runner import Runner
from setup.installer.target import find_dot, path_with

__all__ = ["child_env", "clear_owned", "execute", "install", "lock_names", "run"]


def child_env(environ: Mapping[str, str], **extra: str) -> dict[str, str]:
    """The environment children run with: no Python downloads unless asked, no outer venv."""
    env = {**environ, "UV_PYTHON_DOWNLOADS": environ.get("UV_PYTHON_DOWNLOADS", "never")}
    env.pop("VIRTUAL_ENV", None)
    env.update(extra)
    return env


def lock_names(lock: Path) -> set[str]:
    """Every distribution a pip lock names (on any platform)."""
    return {e.name for e in parse_requirements(lock.read_text(encoding="utf-8"), str(lock))}


class Executor:
    """Runs a plan's actions; one method per action kind."""

    def __init__(self, plan: Plan, runner: Runner, environ: Mapping[str, str]) -> None:
        self.plan, self.runner, self.environ = plan, runner, environ
        self.verify_status = int(ExitCode.OK)

    def __call__(self, action: Action) -> None:
        handler = self.handlers().get(action.kind)
        if handler is None:  # a plan from a newer kerasup, or a bug: never "just run it"
            raise CannotProceed(f"setup has no step {action.kind!r}",
                                fix="run setup from the same kerasup that made the plan")
        handler(action)

    def handlers(self) -> dict[Step, Callable[[Action], None]]:
        """The one handler of each step kind."""
        return {
            Step.CHECK_BUNDLE: self.do_check_bundle, Step.ENSURE_UV: self.do_ensure_uv,
            Step.INSTALL_PYTHON: self.do_install_python, Step.MOVE_ASIDE: self.do_move_aside,
            Step.REMOVE_RECORD: self.do_remove_record, Step.CLEAR_ENV: self.do_clear_env,
            Step.UNPACK_UV: self.do_unpack_uv, Step.REPORT_REMOVALS: self.do_report_removals,
            Step.CREATE_ENV: self.do_create_env, Step.UNINSTALL: self.do_command,
            Step.SYNC: self.do_sync, Step.COPY_TOOLKIT: self.do_copy_toolkit,
            Step.WRITE_SITE_HOOK: self.do_write_site_hook,
            Step.WRITE_RECORD: self.do_write_record, Step.KERAS_JSON: self.do_keras_json,
            Step.REGISTER_KERNEL: self.do_register_kernel, Step.VERIFY: self.do_verify,
        }

    def _failed(self, output: str, what: str) -> KerasupError:
        bundle = self.plan.bundle
        return explain(output, what=what, offline=self.plan.offline,
                       cache=self.environ.get("UV_CACHE_DIR") or "uv's cache",
                       environ=self.environ, log=Layout(self.plan.prefix).install_log,
                       where=(self.plan.prefix, *_cache_dirs(self.environ)),
                       bundle=bundle.given if bundle else None)

    def do_command(self, action: Action) -> None:
        done = self.runner.run(action.command, env=child_env(self.environ),
                               step=_step(action))
        if done is not None and done.returncode != 0:
            raise self._failed(done.stdout, f"`{action.command[0]} {action.command[1]}` "
                               f"({action.kind})")

    def do_check_bundle(self, action: Action) -> None:
        from setup.installer.bundle.check import check_contents

        bundle = self.plan.bundle
        assert bundle is not None
        if self.runner.note(action.description):
            check_contents(bundle.root, bundle.manifest, hash_wheels=False)

    def do_unpack_uv(self, action: Action) -> None:
        from setup.installer.bundle.source import unpack_uv

        assert self.plan.bundle is not None and action.path is not None
        if self.runner.note(action.description):
            _writing(lambda: unpack_uv(self.plan.bundle, self.plan.platform,  # type: ignore[arg-type]
                                       Path(action.path)), Path(action.path))

    def do_copy_toolkit(self, action: Action) -> None:
        assert action.path is not None
        dest = Path(action.path)
        if self.runner.note(action.description):
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)  # share/kerasup/toolkit: made by an earlier bundle install
            _writing(lambda: payload.copy(self.plan.repo, dest), dest)

    def do_sync(self, action: Action) -> None:
        if self.plan.backend != "uv-venv":  # conda and in place (Colab) keep their output
            self.do_command(action)
            return
        done, _summary = installlog.run_install(
            self.runner, action.command, env=child_env(self.environ),
            log=Layout(self.plan.prefix).install_log, python=str(self.plan.env_python),
            terminal=installlog.on_terminal())
        if done is not None and done.returncode != 0:
            raise self._failed(done.stdout, f"`{action.command[0]} {action.command[1]}` (sync)")

    def do_register_kernel(self, action: Action) -> None:
        done = self.runner.run(action.command, env=child_env(self.environ),
                               step=_step(action))
        if done is not None and done.returncode != 0:  # the environment itself is fine
            self.runner.say("warning: the Jupyter kernel was not registered (exit "
                            f"{done.returncode}); verify's jupyter_kernel check names the "
                            "command to retry")

    def do_install_python(self, action: Action) -> None:
        done = self.runner.run(action.command, echo=False, step=_step(action),
                               env=child_env(self.environ, UV_PYTHON_DOWNLOADS="automatic"))
        if done is not None and done.returncode != 0:
            raise python_download_failed(done.stdout, self.plan, self.environ)

    def do_ensure_uv(self, action: Action) -> None:
        assert self.plan.tools is not None
        uvtool.ensure_uv(self.plan.tools, base_python=Path(sys.executable),
                         target=self.plan.target, runner=self.runner, offline=self.plan.offline)

    def do_move_aside(self, action: Action) -> None:
        if self.runner.note(action.description):
            moved = move_aside(self.plan.prefix, "old")
            self.runner.say(f"the old environment is now {moved}")

    def do_remove_record(self, action: Action) -> None:
        if self.runner.note(action.description):
            Layout(self.plan.prefix).install_record.unlink(missing_ok=True)

    def do_clear_env(self, action: Action) -> None:
        if self.runner.note(action.description):
            clear_owned(self.plan.prefix)

    def do_create_env(self, action: Action) -> None:
        mark_owned(self.plan.prefix)
        self.do_command(action)
        mark_owned(self.plan.prefix)

    def do_report_removals(self, action: Action) -> None:
        done = self.runner.capture(action.command, env=child_env(self.environ),
                                   step=_step(action))
        if done is None or done.returncode != 0:
            return
        installed = {canonical_name(re.split(r"[=@ ]", line.strip(), maxsplit=1)[0])
                     for line in done.stdout.splitlines() if line.strip()}
        extra = sorted(installed - lock_names(self.plan.lock))
        self.runner.say("the sync removes " + (f"{len(extra)} packages that are not in the "
                                               f"lock: {', '.join(extra)}" if extra else
                                               "nothing: every installed package is in the lock"))

    def do_write_site_hook(self, action: Action) -> None:
        site = self._site_packages()
        toolkit = self.plan.toolkit or self.plan.repo
        if self.runner.note(f"write the site hook {site / configure.PTH_NAME} "
                            f"(verify and envs from {toolkit})"):
            configure.write_site_hook(site, toolkit)

    def do_write_record(self, action: Action) -> None:
        if self.runner.note(action.description):
            record.write(self.plan.prefix, self.plan.record)

    def do_keras_json(self, action: Action) -> None:
        self.runner.note(action.description)
        done = configure.keras_json_update(self.environ, dry_run=False)
        if done.backup:
            self.runner.say(f"keras.json: {done.action}; the old one is {done.backup}")

    def do_verify(self, action: Action) -> None:
        plan = self.plan
        share = Layout(plan.prefix).share
        share.mkdir(parents=True, exist_ok=True)
        conda = plan.backend == "conda"
        dot = find_dot(plan.target, self.environ, env_prefix=plan.prefix, conda=conda)
        extra = [*plan.target.env_bin_dirs(plan.prefix, conda=conda), *([dot] if dot else [])]
        env = child_env(self.environ, PATH=path_with(extra, self.environ.get("PATH", ""),
                                                     plan.target))
        if not dot:
            self.runner.say("warning: graphviz `dot` not found: keras.utils.plot_model fails "
                            "(install graphviz, e.g. sudo apt-get install graphviz)")
        done = self.runner.run(action.command, env=env, cwd=share, step=_step(action))
        self.verify_status = 0 if done is None else (1 if done.returncode else 0)
        if done is not None:
            self.runner.say(f"verify exited {done.returncode}; report: "
                            f"{Layout(plan.prefix).verify_report}")

    def _site_packages(self) -> Path:
        """The environment's purelib as its own interpreter says (the plan's guess else)."""
        code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        done = self.runner.capture([self.plan.env_python, "-c", code])
        if done is not None and done.returncode == 0 and done.stdout.strip():
            return Path(done.stdout.strip().splitlines()[-1])
        return Path(self.plan.site_packages)


# Steps that run before the prefix is marked and locked: nothing is created at the prefix
# until the bundle is checked, the tools are there, and a foreign environment is moved aside.
_BEFORE_LOCK = (Step.CHECK_BUNDLE, Step.ENSURE_UV, Step.INSTALL_PYTHON, Step.MOVE_ASIDE)


def _step(action: Action) -> str:
    """How a stalled child's line names the step: its kind and its command."""
    cmd = [Path(str(action.command[0])).name, *map(str, action.command[1:2])]
    return f"setup's {action.kind} step (`{' '.join(cmd)}`)"


def arm(runner: Runner, environ: Mapping[str, str], prefix: Path) -> None:
    """Give ``runner``'s children the idle deadline (KERASUP_IDLE_TIMEOUT) and what counts
    as their activity."""
    runner.idle = idle_seconds(environ)
    runner.environ = environ
    runner.watch = (prefix.parent, *_cache_dirs(environ))


def _cache_dirs(environ: Mapping[str, str]) -> tuple[Path, ...]:
    cache = environ.get("UV_CACHE_DIR")
    return (Path(cache),) if cache else ()


def _writing(write: Callable[[], object], path: Path) -> None:
    """Run ``write``; an OSError becomes one line naming ``path`` (and its disk when full)."""
    try:
        write()
    except OSError as exc:
        raise write_error(path, exc) from None


def mark_owned(prefix: Path) -> None:
    """The marker that lets a later setup rebuild this prefix (written before creating it)."""
    marker = Layout(prefix).marker
    if not marker.is_file():
        write_atomic(marker, time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))


def clear_owned(prefix: Path) -> None:
    """Empty a prefix kerasup made, keeping only its marker and the held setup lock."""
    layout = Layout(prefix)
    _clear(prefix, keep={layout.marker, layout.setup_lock})


def _clear(directory: Path, *, keep: set[Path]) -> None:
    for entry in directory.iterdir():
        if entry in keep:
            continue
        is_dir = entry.is_dir() and not entry.is_symlink()
        if is_dir and any(k.is_relative_to(entry) for k in keep):
            _clear(entry, keep=keep)
        elif is_dir:
            shutil.rmtree(entry)
        else:
            entry.unlink()


def execute(plan: Plan, runner: Runner, environ: Mapping[str, str]) -> int:
    """Run the plan's actions under the prefix's setup lock; verify's status."""
    arm(runner, environ, plan.prefix)
    executor = Executor(plan, runner, environ)
    actions = list(plan.actions)
    while actions and actions[0].kind in _BEFORE_LOCK:
        executor(actions.pop(0))  # before the lock: a foreign prefix gets nothing written
    if plan.prefix_owner in ("new", "foreign"):
        mark_owned(plan.prefix)
    with prefixlock.hold(plan.prefix):
        for action in actions:
            executor(action)
    return executor.verify_status


def install(options: Options, *, environ: Mapping[str, str], repo: Path,
            runner: Runner) -> tuple[Plan, int]:
    """Plan, then execute (colab.py's entry: it needs the plan for its summary)."""
    plan = build_plan(options, environ=environ, repo=repo)
    for line in render(plan)[:-len(plan.actions) or None]:
        runner.say(line)
    if plan.cross:
        raise CannotProceed("--platform names another machine", fix="add --dry-run")
    confirm_without_driver(plan, options)
    deferred = filescan.deferred(options) and filescan.applies(
        up_to_date=plan.up_to_date, same_machine=not plan.cross, backend=plan.backend)
    status = execute(plan, runner, environ)
    damaged: tuple[str, ...] | None = ()
    if deferred:  # verify's packages check ran the scan; its report says what it found
        damaged = filescan.from_report(Layout(plan.prefix).verify_report)
        if damaged is None:
            damaged = filescan.scan(plan.env_python)
    if damaged:
        status = _repair(plan, damaged, options, runner, environ)
    return plan, status


def _repair(plan: Plan, damaged: tuple[str, ...], options: Options, runner: Runner,
            environ: Mapping[str, str]) -> int:
    """verify found lost files in an environment the plan called up to date: reinstall
    those distributions (the actions a scan before the plan leads to), then verify again."""
    runner.say(f"installed files: {', '.join(damaged)} lost installed files since install: "
               "reinstalling them, then verifying again")
    broken = dataclasses.replace(plan, up_to_date=False, damaged=damaged)
    env_actions = choose_backend(options, environ).actions(broken)
    rest = [a for a in plan.actions if a.kind == "verify"]
    actions = (*env_actions, record_action(plan.prefix), *rest)
    return execute(dataclasses.replace(broken, actions=actions), runner, environ)


def confirm_without_driver(plan: Plan, options: Options,
                           ask: Callable[[str], str] | None = None) -> None:
    """The GPU build with no NVIDIA driver answering: ask before downloading it (a y/N
    question on a terminal); --yes proceeds (image builds); otherwise one line, exit 3."""
    if not plan.driver_missing or plan.up_to_date or options.yes:
        return
    size = f"about {facts.variant(plan.variant).download_mb:,} MB"
    question = (f"kerasup: {NO_DRIVER}. Download {size} anyway? [y/N] ")
    if ask is None and _interactive():
        ask = input
    if ask is not None:
        try:
            answer = ask(question)
        except EOFError:
            answer = ""
        if answer.strip().lower() in ("y", "yes"):
            return
    raise CannotProceed(f"--variant {plan.variant}: {NO_DRIVER}; nothing was downloaded",
                        fix="install the NVIDIA driver until nvidia-smi answers, or add --yes "
                            f"to download {size} anyway (image builds), or use --variant cpu")


def _interactive() -> bool:
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _preview(plan: Plan, options: Options, runner: Runner) -> None:
    """--check: the checks' findings; --dry-run: every action too."""
    if options.check:
        for topic, line in plan.reports:
            runner.say(f"{topic}: {line}")
        runner.say("checks passed" + (" (the environment is up to date)"
                                      if plan.up_to_date else ""))
        return
    for line in render(plan):
        runner.say(line)
    runner.say("activate with: "
               f"{plan.target.activate_command(plan.prefix, method=plan.method)}")
    runner.say("dry run: nothing was changed")


def run(options: Options, *, environ: Mapping[str, str], repo: Path,
        runner: Runner | None = None) -> int:
    """The whole setup for ``options``; the exit status (verify's, or 0)."""
    started = time.monotonic()
    runner = runner or Runner(dry_run=options.dry_run or options.check or options.plan_json)
    arm(runner, environ, options.prefix or Path.cwd())
    if options.plan_json:
        runner.say = lambda _m: None  # stdout carries the JSON alone
        plan = build_plan(options, environ=environ, repo=repo)
        sys.stdout.write(plan.to_json())
        return ExitCode.OK
    if options.check or options.dry_run:
        _preview(build_plan(options, environ=environ, repo=repo), options,
                 runner)
        return ExitCode.OK
    plan, status = install(options, environ=environ, repo=repo, runner=runner)
    runner.say("activate with: "
               f"{plan.target.activate_command(plan.prefix, method=plan.method)}")
    runner.say(f"done in {time.monotonic() - started:.1f}s")
    return status
