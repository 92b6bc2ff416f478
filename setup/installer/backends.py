"""How an environment is made: one :class:`Backend` interface, three ways.

- :class:`UvVenvBackend`: ``uv venv`` + ``uv pip sync --require-hashes`` from the pip lock
  (from an index, or, with ``--from-bundle``, from the bundle's wheels and uv only).
- :class:`CondaBackend`: micromamba (or conda-lock driving conda/mamba) from conda-lock.yml.
- :class:`InPlaceBackend`: into the running interpreter (Colab): ``uv pip install --python
  sys.executable --require-hashes -r LOCK``, or pip where uv is absent.

A backend turns the (not yet complete) plan into its environment actions, each with the
exact command; the workflow executes them. A backend decides nothing at execution time.
"""

from __future__ import annotations

import re
import shutil
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Protocol

from envs.contract.errors import CannotProceed
from envs.contract.layout import Layout
from setup.installer.plan import Action, Options, Plan
from setup.installer.pythons import venv_python_version
from setup.installer.target import Target

__all__ = ["Backend", "CondaBackend", "InPlaceBackend", "UvVenvBackend", "choose_backend",
           "conda_lock_python", "conda_tool", "externally_managed"]


class Backend(Protocol):
    """What the workflow needs from a way of making environments."""

    name: str
    method: str  # the install record's method

    def env_python(self, target: Target, prefix: PurePath) -> PurePath: ...

    def actions(self, plan: Plan) -> list[Action]:
        """The environment's actions (create, sync ...), before configuration."""
        ...


def _record_actions(plan: Plan) -> list[Action]:
    out = []
    if plan.prefix_owner == "foreign":
        out.append(Action("move-aside", f"move the foreign environment {plan.prefix} aside to "
                          f"{plan.prefix.name}.old-<time> (nothing in it is deleted)",
                          path=str(plan.prefix)))
    elif plan.existing_record:
        out.append(Action("remove-record", "remove the old install record (rewritten when the "
                          "install finishes)", path=str(Layout(plan.prefix).install_record)))
    return out


@dataclass(frozen=True)
class UvVenvBackend:
    """A virtual environment synced to the hashed pip lock by uv."""

    name: str = "uv-venv"
    method: str = "uv"

    def env_python(self, target: Target, prefix: PurePath) -> PurePath:
        return target.venv_python(prefix)

    def _reuse(self, plan: Plan) -> bool:
        """Sync in place: our venv, finished before (record), same Python, not --force."""
        return (plan.prefix_kind == "venv" and plan.prefix_owner == "kerasup"
                and plan.existing_record and not plan.force
                and venv_python_version(plan.prefix) == plan.python.version
                and Path(plan.env_python).exists())

    def actions(self, plan: Plan) -> list[Action]:
        uv = plan.uv or "uv"
        out: list[Action] = []
        if plan.python.executable is None and plan.python.source == "uv-install":
            out.append(Action("install-python", f"install a uv-managed Python "
                              f"{plan.python.version}", (uv, "python", "install",
                                                         plan.python.version)))
        out += _record_actions(plan)
        reuse = self._reuse(plan)
        if not reuse and plan.prefix_owner == "kerasup":
            out.append(Action("clear-env", f"clear kerasup's environment at {plan.prefix} "
                              "(an earlier run did not finish, another Python, or --force)",
                              path=str(plan.prefix)))
        if plan.bundle is not None:
            out.append(Action("unpack-uv", f"unpack the bundle's uv to {uv}", path=uv))
        if reuse:
            out.append(Action("report-removals", "list what the sync removes (installed, not "
                              "in the lock)", (uv, "pip", "freeze", "--python",
                                               str(plan.env_python))))
        else:
            out.append(Action("create-env", f"create the virtual environment {plan.prefix}",
                              self._create(plan, uv), path=str(plan.prefix)))
        out.append(Action("sync", "install exactly the lock's packages, hashes required"
                          + (f", from the bundle's {plan.bundle.wheels} only"
                             if plan.bundle else ""), self._sync(plan, uv)))
        return out

    def _create(self, plan: Plan, uv: str) -> tuple[str, ...]:
        python = plan.python.executable or plan.python.version
        if plan.bundle is not None:
            return plan.bundle.venv_command(uv, plan.prefix, python)
        return (uv, "venv", "--allow-existing", "--python", python, str(plan.prefix))

    def _sync(self, plan: Plan, uv: str) -> tuple[str, ...]:
        if plan.bundle is not None:
            return plan.bundle.sync_command(uv, str(plan.env_python), plan.lock, plan.damaged)
        sync = [uv, "pip", "sync", "--require-hashes", "--python", str(plan.env_python)]
        if plan.offline:
            sync.append("--offline")
        for name in plan.damaged:  # same version, files gone: only a reinstall restores them
            sync += ["--reinstall-package", name]
        return (*sync, str(plan.lock))


def conda_tool(environ: Mapping[str, str]) -> tuple[str, str, str | None] | None:
    """("micromamba", exe, None) or ("conda-lock", exe, the conda/mamba it drives)."""
    path = environ.get("PATH", "")
    micromamba = shutil.which("micromamba", path=path)
    if micromamba:
        return "micromamba", micromamba, None
    lock_tool = shutil.which("conda-lock", path=path)
    driver = next((hit for n in ("mamba", "conda") if (hit := shutil.which(n, path=path))), None)
    return ("conda-lock", lock_tool, driver) if lock_tool and driver else None


def conda_lock_python(lock: Path, platform: str) -> str | None:
    """The "3.X" a conda-lock.yml (version 1) pins for ``platform``, if it names one."""
    try:
        text = lock.read_text(encoding="utf-8")
    except OSError:
        return None
    for block in re.split(r"\n(?=- name:|  - name:)", text):
        head = block.splitlines()[0] if block else ""
        if re.search(r"name:\s*python\s*$", head) and re.search(
                rf"platform:\s*{re.escape(platform)}\s*$", block, re.MULTILINE):
            version = re.search(r"version:\s*['\"]?(\d+\.\d+)", block)
            if version:
                return version.group(1)
    return None


@dataclass(frozen=True)
class CondaBackend:
    """A conda environment from conda-lock.yml (micromamba, or conda-lock + conda)."""

    tool: tuple[str, str, str | None]
    name: str = "conda"
    method: str = "conda"

    def env_python(self, target: Target, prefix: PurePath) -> PurePath:
        return target.conda_python(prefix)

    def actions(self, plan: Plan) -> list[Action]:
        out = _record_actions(plan)
        if plan.prefix_owner == "kerasup":
            out.append(Action("clear-env", f"clear kerasup's outdated conda environment "
                              f"{plan.prefix}", path=str(plan.prefix)))
        tool, exe, driver = self.tool
        if tool == "micromamba":
            cmd = [exe, "create", "--yes", "--prefix", str(plan.prefix), "--file", str(plan.lock)]
            cmd += ["--offline"] if plan.offline else []
        else:
            cmd = [exe, "install", "--conda", str(driver), "--prefix", str(plan.prefix),
                   str(plan.lock)]
        out.append(Action("create-env", f"create the conda environment with {tool}", tuple(cmd),
                          path=str(plan.prefix)))
        return out


def externally_managed(python: PurePath) -> bool:
    """PEP 668: the running interpreter's stdlib carries EXTERNALLY-MANAGED and it is not a
    virtual environment (only then is --break-system-packages needed)."""
    in_venv = Path(python).parent.parent.joinpath("pyvenv.cfg").is_file()
    return not in_venv and Path(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED").is_file()


@dataclass(frozen=True)
class InPlaceBackend:
    """Into the interpreter that runs setup (Colab has no room for a second environment)."""

    uv: str | None  # None: pip
    uninstall_first: tuple[str, ...] = ()
    name: str = "in-place"

    @property
    def method(self) -> str:
        return "uv" if self.uv else "pip"

    def env_python(self, target: Target, prefix: PurePath) -> PurePath:
        return PurePath(sys.executable)

    def actions(self, plan: Plan) -> list[Action]:
        python = str(plan.env_python)
        brk = ("--break-system-packages",) if externally_managed(plan.env_python) else ()
        out = _record_actions(plan)
        if self.uninstall_first:
            cmd = ((self.uv, "pip", "uninstall", "--python", python) if self.uv
                   else (python, "-m", "pip", "uninstall", "--yes"))
            out.append(Action("uninstall", "remove distributions that install the same files "
                              f"as the lock's ({', '.join(self.uninstall_first)})",
                              (*cmd, *brk, *self.uninstall_first)))
        if self.uv:
            cmd = (self.uv, "pip", "install", "--python", python, "--require-hashes")
        else:
            cmd = (python, "-m", "pip", "install", "--disable-pip-version-check",
                   "--require-hashes")
        why = (" (--break-system-packages: this interpreter is marked externally managed, "
               "PEP 668, and kerasup installs into it on purpose)" if brk else "")
        out.append(Action("sync", f"install the lock's packages into {python}{why}",
                          (*cmd, *(("--offline",) if plan.offline and self.uv else ()), *brk,
                           "-r", str(plan.lock))))
        return out


def choose_backend(options: Options, environ: Mapping[str, str]) -> Backend:
    """The backend for these options; CannotProceed when its tools are missing."""
    if options.in_place:
        uv = environ.get("KERASUP_UV") or shutil.which("uv", path=environ.get("PATH"))
        return InPlaceBackend(uv, options.uninstall_first)
    if options.conda:
        tool = conda_tool(environ)
        if tool is None:
            raise CannotProceed("--conda needs micromamba, or conda-lock together with conda "
                                "or mamba, and neither was found on PATH",
                                fix="install micromamba (mamba.readthedocs.io) or `pip install "
                                    "conda-lock` with conda, or drop --conda to use the pip lock")
        return CondaBackend(tool)
    return UvVenvBackend()
