"""The plan: everything setup will do, decided before anything changes, as data.

:class:`Plan` is frozen. ``--dry-run`` prints it (:func:`render`), ``--plan-json`` dumps it
(:meth:`Plan.to_json`, the format tests and automation assert on), and the workflow executes
its :class:`Action` list in order without deciding anything again.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from envs.contract import facts
from envs.contract.facts import DEFAULT_VARIANT
from envs.contract.record import InstallRecord
from setup.installer.pythons import PythonChoice
from setup.installer.runner import shown
from setup.installer.target import Target

if TYPE_CHECKING:  # the bundle modules load only for a bundle install
    from setup.installer.bundle.source import BundleSource

__all__ = ["PLAN_SCHEMA_VERSION", "Action", "Options", "Plan", "Step", "render"]

PLAN_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Options:
    """What the user asked for (the command line, or colab.py's call)."""

    variant: str = DEFAULT_VARIANT
    python: str | None = None
    python_exe: Path | None = None
    prefix: Path | None = None
    conda: bool = False
    in_place: bool = False  # into the running interpreter (Colab), not a new environment
    lock: Path | None = None  # in place only: a lock derived from the repository's (colab.py)
    uninstall_first: tuple[str, ...] = ()  # in place only: distributions that clash with it
    dry_run: bool = False
    check: bool = False
    plan_json: bool = False
    offline: bool = False
    verify: bool = True
    verify_args: tuple[str, ...] = ()
    force: bool = False
    replace_foreign: bool = False
    platform: str | None = None
    yes: bool = False  # answer setup's one question (GPU build without a driver) with yes
    kernel: bool = True  # register the environment as a Jupyter kernel
    kernel_name: str | None = None  # default: envs.contract.kernel.kernel_name
    kernel_prefix: Path | None = None  # system-wide: <dir>/share/jupyter/kernels
    bundle: BundleSource | None = None  # --from-bundle: the packages come from it, offline


class Step(str, enum.Enum):
    """Every kind of action a plan can hold; the workflow has exactly one handler for each
    (an unknown kind is an error, never "run its command")."""

    CHECK_BUNDLE = "check-bundle"
    ENSURE_UV = "ensure-uv"
    INSTALL_PYTHON = "install-python"
    MOVE_ASIDE = "move-aside"
    REMOVE_RECORD = "remove-record"
    CLEAR_ENV = "clear-env"
    UNPACK_UV = "unpack-uv"
    REPORT_REMOVALS = "report-removals"
    CREATE_ENV = "create-env"
    UNINSTALL = "uninstall"
    SYNC = "sync"
    COPY_TOOLKIT = "copy-toolkit"
    WRITE_SITE_HOOK = "write-site-hook"
    WRITE_RECORD = "write-record"
    KERAS_JSON = "keras-json"
    REGISTER_KERNEL = "register-kernel"
    VERIFY = "verify"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Action:
    """One step: its :class:`Step` kind, what it does in words, and the command it runs, if
    it runs one. A kind given as a string is converted (ValueError when unknown)."""

    kind: Step
    description: str
    command: tuple[str, ...] = ()
    path: str | None = None  # the file or directory it writes or moves, if any
    cwd: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Step(self.kind))

    def line(self) -> str:
        return self.description + (f": {shown(self.command)}" if self.command else "")


@dataclass(frozen=True)
class Plan:
    """Everything one setup run will do."""

    variant: str
    target: Target
    host: Target
    python: PythonChoice
    prefix: Path
    prefix_kind: str  # new | venv | conda | interpreter (in place)
    prefix_owner: str  # new | kerasup | foreign | interpreter
    lock: Path
    lock_sha256: str
    backend: str  # uv-venv | conda | in-place
    method: str  # the install record's method
    env_python: PurePath
    site_packages: PurePath
    repo: Path
    record: InstallRecord
    existing_record: bool
    up_to_date: bool
    offline: bool
    force: bool
    keras_json: Path
    keras_json_action: str  # unchanged | created | updated | replaced
    tools: Path | None = None
    uv: str | None = None
    reports: tuple[tuple[str, str], ...] = ()  # (topic, line) said before anything changes
    driver_missing: bool = False  # the variant needs the NVIDIA driver and none answered
    damaged: tuple[str, ...] = ()  # installed distributions with missing or resized files
    discovered: tuple[str, ...] = ()  # the probes run before planning (setup.installer.discover)
    bundle: BundleSource | None = None  # the packages come from this bundle, offline
    toolkit: Path | None = None  # what the site hook exposes (the repo; a bundle: its copy)
    actions: tuple[Action, ...] = field(default=())

    @property
    def platform(self) -> str:
        return self.target.platform

    @property
    def cross(self) -> bool:
        """True when --platform names another machine: paths only, nothing runs."""
        return self.target.platform != self.host.platform

    def kinds(self) -> list[str]:
        return [a.kind.value for a in self.actions]

    def to_dict(self) -> dict[str, Any]:
        record = dataclasses.asdict(self.record)
        record.pop("created", None)  # a plan is the same plan a second later
        return {
            "schema_version": PLAN_SCHEMA_VERSION,
            "variant": self.variant, "platform": self.platform, "cross": self.cross,
            "python": dataclasses.asdict(self.python),
            "prefix": str(self.prefix), "prefix_kind": self.prefix_kind,
            "prefix_owner": self.prefix_owner,
            "lock": str(self.lock), "lock_sha256": self.lock_sha256,
            "backend": self.backend, "method": self.method,
            "env_python": str(self.env_python), "site_packages": str(self.site_packages),
            "tools": str(self.tools) if self.tools else None, "uv": self.uv,
            "record": record, "existing_record": self.existing_record,
            "up_to_date": self.up_to_date, "offline": self.offline, "force": self.force,
            "keras_json": {"path": str(self.keras_json), "action": self.keras_json_action},
            "reports": {topic: line for topic, line in self.reports},
            "sizes": {"download_mb": facts.variant(self.variant).download_mb,
                      "installed_gb": facts.variant(self.variant).installed_gb},
            "driver_missing": self.driver_missing,
            "damaged": list(self.damaged),
            "discovered": list(self.discovered),
            "bundle": self.bundle.to_dict() if self.bundle else None,
            "toolkit": str(self.toolkit or self.repo),
            "actions": [{k: (v.value if isinstance(v, Step) else v)
                         for k, v in dataclasses.asdict(a).items()
                         if v not in (None, ())} for a in self.actions],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _python_line(plan: Plan) -> str:
    choice = plan.python
    where = choice.executable or {
        "uv-install": f"a uv-managed Python {choice.version} (installed first)",
        "target": f"a Python {choice.version} on the {plan.platform} machine",
    }.get(choice.source, f"Python {choice.version}")
    return f"Python {choice.version}: {where} ({choice.source})" + (
        f"; {choice.note}" if choice.note else "")


def render(plan: Plan) -> list[str]:
    """The plan as the lines ``--dry-run`` prints (every action, with its command)."""
    lines = [f"{topic}: {line}" for topic, line in plan.reports]
    lines.append(f"Python for the environment: {_python_line(plan)}")
    if plan.up_to_date:
        lines.append(f"environment at {plan.prefix} is up to date (same lock sha256, Python "
                     f"{plan.python.version}, variant and platform): nothing to install")
    lines += [f"would {action.line()}" for action in plan.actions]
    return lines
