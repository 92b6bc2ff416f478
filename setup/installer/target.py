"""The machine an environment is made for, and every per-OS path the installer needs.

A :class:`Target` is a conda platform from :mod:`envs.contract.platforms` (never a table of
our own) plus whether Linux runs under WSL2. Paths are computed for the target, not for the
host, so ``--platform win-64 --dry-run`` shows the Windows branch on any machine.
"""

from __future__ import annotations

import contextlib
import os
import platform as _platform
import re
import shlex
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

from envs.contract import platforms
from envs.contract.errors import UsageError

__all__ = ["Target", "describe_os", "find_dot", "path_with"]

StrPath = str | os.PathLike[str]


def _is_wsl(proc_version: Path = Path("/proc/version")) -> bool:
    with contextlib.suppress(OSError):
        return "microsoft" in proc_version.read_text(encoding="utf-8", errors="replace").lower()
    return False


@dataclass(frozen=True)
class Target:
    """A conda platform (``linux-64``, ``win-64`` ...) and whether it is WSL2."""

    platform: str
    wsl: bool = False

    @classmethod
    def current(cls) -> Target:
        """This machine, through the contract's one normaliser."""
        name = platforms.normalise(sys.platform, _platform.machine())
        return cls(name, wsl=sys.platform.startswith("linux") and _is_wsl())

    @classmethod
    def from_platform(cls, name: str) -> Target:
        """A target from a conda platform name; UsageError for a name kerasup does not know."""
        if name not in platforms.PLATFORMS:
            raise UsageError(f"unknown platform {name!r}",
                             fix=f"use one of {', '.join(platforms.PLATFORMS)}")
        return cls(name)

    @property
    def os(self) -> str:
        """``sys.platform``'s family: linux, darwin or win32."""
        known = platforms.PLATFORMS.get(self.platform)
        return known.os if known else self.platform.split("-", 1)[0]

    @property
    def machine(self) -> str:
        known = platforms.PLATFORMS.get(self.platform)
        return known.machine if known else self.platform.split("-", 1)[-1]

    @property
    def is_windows(self) -> bool:
        """True for Windows (not for WSL2, which is Linux)."""
        return self.os == "win32"

    @property
    def pathsep(self) -> str:
        return ";" if self.is_windows else ":"

    @property
    def exe_suffix(self) -> str:
        return ".exe" if self.is_windows else ""

    def path(self, value: StrPath) -> PurePath:
        """``value`` as a path of this target: a real Path on this machine's OS family."""
        if self.is_windows == (os.name == "nt"):
            return Path(value)
        return PureWindowsPath(value) if self.is_windows else PurePosixPath(value)

    def scripts_dir(self, prefix: StrPath) -> PurePath:
        """Where a virtual environment keeps its programs: Scripts on Windows, bin elsewhere."""
        return self.path(prefix) / ("Scripts" if self.is_windows else "bin")

    def venv_python(self, prefix: StrPath) -> PurePath:
        return self.scripts_dir(prefix) / f"python{self.exe_suffix}"

    def conda_python(self, prefix: StrPath) -> PurePath:
        """A conda environment's interpreter (python.exe sits at the top on Windows)."""
        if self.is_windows:
            return self.path(prefix) / "python.exe"
        return self.path(prefix) / "bin" / "python"

    def env_bin_parts(self, *, conda: bool = False) -> list[tuple[str, ...]]:
        """An environment's PATH directories, relative to its prefix."""
        if not self.is_windows:
            return [("bin",)]
        if conda:
            return [(), ("Library", "bin"), ("Scripts",)]
        return [("Scripts",)]

    def env_bin_dirs(self, prefix: StrPath, *, conda: bool = False) -> list[PurePath]:
        return [self.path(prefix).joinpath(*parts) for parts in self.env_bin_parts(conda=conda)]

    def site_packages(self, prefix: StrPath, python: str) -> PurePath:
        """Where ``prefix``'s packages go for a Python "3.X" (sysconfig's purelib)."""
        root = self.path(prefix)
        if self.is_windows:
            return root / "Lib" / "site-packages"
        return root / "lib" / f"python{python}" / "site-packages"

    def activate_command(self, prefix: StrPath, *, method: str) -> str:
        """What a user types to enter the environment, quoted for their shell."""
        if method == "conda":
            return f"micromamba activate {self._quote(self.path(prefix))}"
        if self.is_windows:
            return f"& {self._quote(self.scripts_dir(prefix) / 'Activate.ps1')}"
        return f"source {self._quote(self.scripts_dir(prefix) / 'activate')}"

    def _quote(self, value: PurePath) -> str:
        """POSIX: shlex; PowerShell: single quotes, a quote doubled."""
        text = str(value)
        if not self.is_windows:
            return shlex.quote(text)
        return "'" + text.replace("'", "''") + "'"


def describe_os(target: Target, os_release: Path = Path("/etc/os-release")) -> str:
    """One line describing the running OS, for the preflight report."""
    name = _platform.platform(terse=True)
    if target.os == "linux":
        with contextlib.suppress(OSError):
            for line in os_release.read_text(encoding="utf-8").splitlines():
                if line.startswith("PRETTY_NAME="):
                    name = line.split("=", 1)[1].strip().strip('"')
        if target.wsl:
            name += " under WSL2"
    return f"{name}, {target.machine} ({target.platform})"


def _dot_dirs_elsewhere(target: Target, environ: Mapping[str, str]) -> list[Path]:
    """Where graphviz installers put dot, often not yet on PATH in this session."""
    if target.is_windows:
        dirs = [Path(environ[v]) / "Graphviz" / "bin"
                for v in ("ProgramFiles", "ProgramFiles(x86)", "ProgramW6432") if environ.get(v)]
        if environ.get("LOCALAPPDATA"):
            dirs.append(Path(environ["LOCALAPPDATA"]) / "Programs" / "Graphviz" / "bin")
        if environ.get("ChocolateyInstall"):
            dirs.append(Path(environ["ChocolateyInstall"]) / "bin")
        return dirs
    if target.os == "darwin":
        return [Path("/opt/homebrew/bin"), Path("/usr/local/bin")]
    return [Path("/usr/bin"), Path("/usr/local/bin")]


def find_dot(target: Target, environ: Mapping[str, str], *, env_prefix: StrPath | None = None,
             conda: bool = False) -> Path | None:
    """The directory holding graphviz's ``dot`` for ``target``: the environment, PATH, then
    where winget, choco and Homebrew put it. None when there is none."""
    exe = f"dot{target.exe_suffix}"
    dirs: list[Path] = []
    if env_prefix is not None:
        dirs += [Path(env_prefix).joinpath(*p) for p in target.env_bin_parts(conda=conda)]
    dirs += [Path(d) for d in environ.get("PATH", "").split(target.pathsep) if d]
    dirs += _dot_dirs_elsewhere(target, environ)
    return next((d for d in dirs if (d / exe).is_file()), None)


def path_with(directories: Iterable[StrPath], path: str, target: Target) -> str:
    """PATH with ``directories`` in front, each once (case-insensitively on Windows)."""

    def key(entry: str) -> str:
        entry = re.sub(r"[\\/]+$", "", entry)
        return entry.lower() if target.is_windows else entry

    out: list[str] = []
    seen: set[str] = set()
    for entry in [*map(str, directories), *path.split(target.pathsep)]:
        if entry and key(entry) not in seen:
            seen.add(key(entry))
            out.append(entry)
    return target.pathsep.join(out)
