"""The pinned uv, in a small tools venv that kerasup makes and marks as its own.

The version is read from ``setup/tools-requirements.txt`` (the one owner of that pin, with
its hashes); uv is installed from PyPI with ``pip install --require-hashes``, never with an
installer script. A tools directory that kerasup did not create is never cleared.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path, PurePath

from envs.contract.errors import CannotProceed, UsageError
from envs.contract.fileio import write_atomic
from setup.installer.failures import explain
from setup.installer.runner import Runner
from setup.installer.target import Target

__all__ = [
    "MARKER",
    "TOOLS_REQUIREMENTS",
    "ensure_uv",
    "installed_version",
    "pinned_version",
    "tools_dir",
    "user_cache",
    "uv_path",
    "uv_version",
]

TOOLS_REQUIREMENTS = Path(__file__).resolve().parent.parent / "tools-requirements.txt"
MARKER = "created-by-kerasup"  # in the tools directory: kerasup may rebuild it


def pinned_version(requirements: Path = TOOLS_REQUIREMENTS) -> str:
    """The ``uv==X`` version pinned in tools-requirements.txt."""
    m = re.search(r"^uv==(\S+)", requirements.read_text(encoding="utf-8"), re.MULTILINE)
    if not m:
        raise CannotProceed(f"{requirements} pins no uv version",
                            fix="restore it from the repository (git checkout -- setup)")
    return m.group(1)


def user_cache(target: Target, environ: Mapping[str, str]) -> Path:
    """kerasup's folder in the user's cache directory (its CA bundle copy, its log before an
    environment exists, and by default the tools)."""
    home = Path(environ.get("HOME") or environ.get("USERPROFILE") or Path.home())
    if target.is_windows:
        return Path(environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "kerasup"
    return Path(environ.get("XDG_CACHE_HOME") or home / ".cache") / "kerasup"


def tools_dir(target: Target, environ: Mapping[str, str]) -> Path:
    """KERASUP_BOOTSTRAP_TOOLS, else a kerasup folder in the user's cache directory."""
    if environ.get("KERASUP_BOOTSTRAP_TOOLS"):
        return Path(environ["KERASUP_BOOTSTRAP_TOOLS"]).expanduser().absolute()
    return user_cache(target, environ) / "tools"


def uv_path(tools: Path, target: Target) -> PurePath:
    return target.scripts_dir(tools) / f"uv{target.exe_suffix}"


def installed_version(tools: Path, target: Target) -> str | None:
    """The uv version pip installed into the tools venv, read from its dist-info (the
    planner's question: it runs no program), when its executable is there too."""
    if not Path(uv_path(tools, target)).is_file():
        return None
    found = [*tools.glob("lib/python3*/site-packages/uv-*.dist-info"),
             *tools.glob("Lib/site-packages/uv-*.dist-info")]
    if len(found) != 1:
        return None
    return found[0].name[len("uv-"):-len(".dist-info")]


def uv_version(uv: PurePath, runner: Runner) -> str | None:
    out = runner.capture([uv, "--version"], timeout=30)
    m = re.match(r"uv (\S+)", out.stdout) if out and out.returncode == 0 else None
    return m.group(1) if m else None


def _may_rebuild(tools: Path) -> bool:
    """Absent, empty, or marked by kerasup: anything else is someone else's folder."""
    if not tools.exists():
        return True
    if tools.is_symlink() or not tools.is_dir():
        return False
    return (tools / MARKER).is_file() or not any(tools.iterdir())


def ensure_uv(tools: Path, *, base_python: PurePath, target: Target, runner: Runner,
              offline: bool) -> PurePath:
    """The pinned uv in ``tools``, installed there first when missing or another version."""
    version = pinned_version()
    uv = uv_path(tools, target)
    if uv_version(uv, runner) == version:
        runner.say(f"uv {version}: {uv}")
        return uv
    if not _may_rebuild(tools):
        raise UsageError(f"KERASUP_BOOTSTRAP_TOOLS={tools} is a folder kerasup did not create "
                         f"and holds no uv {version}; kerasup will not clear it",
                         fix="point KERASUP_BOOTSTRAP_TOOLS at a new or empty folder, or "
                             "unset it")
    if offline and not runner.dry_run:
        raise CannotProceed(f"uv {version} is not installed in {tools} and offline mode "
                            "forbids downloading it", fix="run once with network access")
    made = runner.run([base_python, "-m", "venv", "--clear", tools])
    if made is not None and made.returncode != 0:
        raise CannotProceed(f"`{base_python} -m venv` failed, so uv cannot be installed",
                            fix="sudo apt-get install python3-venv (or python3.X-venv for "
                                "your Python), then run again")
    if not runner.dry_run:
        write_atomic(tools / MARKER, time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))
    got = runner.run([target.venv_python(tools), "-m", "pip", "install", "--quiet",
                      "--disable-pip-version-check", "--require-hashes", "--only-binary",
                      ":all:", "-r", TOOLS_REQUIREMENTS], echo=False)
    if got is not None and got.returncode != 0:  # pip's own words go to the log
        raise explain(got.stdout, what=f"installing uv {version} into {tools}", offline=offline,
                      log=tools / "install.log")
    return uv
