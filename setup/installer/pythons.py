"""Find and probe the interpreters an environment can be made from (``facts.PYTHONS``).

Looked for, most specific first: the Windows ``py`` launcher, PATH, /usr/bin and friends,
pyenv's versions and uv's own Pythons. Every candidate is run once to learn its real
version and path; nothing is trusted by its name.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from envs.contract.errors import CannotProceed, UsageError
from envs.contract.facts import DEFAULT_PYTHON, PYTHONS
from envs.contract.procs import bounded
from setup.installer.target import Target

__all__ = [
    "PythonChoice",
    "PythonInfo",
    "candidate_pythons",
    "choose_python",
    "download_host",
    "find_pythons",
    "install_ways_out",
    "parse_py_launcher_list",
    "probe_python",
    "resolve_python",
    "venv_python_version",
]


@dataclass(frozen=True, order=True)
class PythonInfo:
    """An interpreter found on this machine."""

    version: tuple[int, int, int]
    executable: Path = field(compare=False)

    @property
    def minor(self) -> str:
        """"3.X"."""
        return f"{self.version[0]}.{self.version[1]}"

    def __str__(self) -> str:
        return f"Python {'.'.join(map(str, self.version))} at {self.executable}"


_PROBE = "import sys; print(*sys.version_info[:3]); print(sys.executable)"
_SPAN = f"{PYTHONS[0]}-{PYTHONS[-1]}"  # "3.11-3.13", as messages write the supported range


def probe_python(executable: str | os.PathLike[str]) -> PythonInfo | None:
    """Ask an interpreter for its version and path; None when it does not run."""
    try:
        out = bounded([str(executable), "-c", _PROBE], capture_output=True, text=True,
                      timeout=30, check=True, stdin=subprocess.DEVNULL).stdout.splitlines()
        major, minor, micro = (int(x) for x in out[0].split())
        return PythonInfo((major, minor, micro), Path(out[1].strip() or executable))
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def parse_py_launcher_list(text: str) -> list[Path]:
    """Interpreter paths from the Windows ``py -0p`` listing (" -V:3.12 *  C:\\...\\python.exe")."""
    line_re = re.compile(r"^\s*-(?:V:)?\d+\.\d+\S*\s+(?:\*\s+)?(.+?python\w*\.exe)\s*$",
                         re.IGNORECASE)
    return [Path(m.group(1)) for m in map(line_re.match, text.splitlines()) if m]


def _glob(base: Path, pattern: str) -> list[Path]:
    """Newest first; nothing where ``base`` cannot be read (another user's home)."""
    try:
        return sorted(base.glob(pattern), reverse=True)
    except OSError:
        return []


def _windows_candidates(environ: Mapping[str, str]) -> list[Path]:
    found: list[Path] = []
    py = shutil.which("py", path=environ.get("PATH", ""))
    if py:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            listing = bounded([py, "-0p"], capture_output=True, text=True, timeout=30,
                              check=False).stdout
            found += parse_py_launcher_list(listing)
    if environ.get("LOCALAPPDATA"):
        found += _glob(Path(environ["LOCALAPPDATA"], "Programs", "Python"),
                       "Python3*/python.exe")
    return found


def _posix_candidates(environ: Mapping[str, str], home: Path) -> list[Path]:
    found: list[Path] = []
    pyenv_root = Path(environ.get("PYENV_ROOT") or home / ".pyenv")
    data_home = Path(environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    uv_root = Path(environ.get("UV_PYTHON_INSTALL_DIR") or data_home / "uv" / "python")
    for v in reversed(PYTHONS):
        found += [base / f"python{v}" for base in
                  (Path("/usr/bin"), Path("/usr/local/bin"), Path("/opt/homebrew/bin"))]
        found += _glob(pyenv_root, f"versions/{v}*/bin/python{v}")
        found += _glob(uv_root, f"cpython-{v}*/bin/python{v}")
    return found


def candidate_pythons(target: Target, environ: Mapping[str, str], *,
                      home: Path | None = None) -> list[Path]:
    """Places to look for a supported Python, most specific first (not yet probed)."""
    home = home or Path(environ.get("HOME") or environ.get("USERPROFILE") or Path.home())
    found = _windows_candidates(environ) if target.is_windows else []
    names = ["python"] if target.is_windows else \
        [f"python{v}" for v in reversed(PYTHONS)] + ["python3"]
    found += [Path(hit) for n in names if (hit := shutil.which(n, path=environ.get("PATH", "")))]
    if not target.is_windows:
        found += _posix_candidates(environ, home)
    unique: list[Path] = []
    for path in found:
        with contextlib.suppress(OSError):
            if path.exists() and path not in unique:
                unique.append(path)
    return unique


def find_pythons(target: Target, environ: Mapping[str, str], *,
                 home: Path | None = None) -> list[PythonInfo]:
    """Every supported interpreter found, newest first, one per real path."""
    infos: dict[str, PythonInfo] = {}
    for exe in candidate_pythons(target, environ, home=home):
        info = probe_python(exe)
        if info and info.minor in PYTHONS:
            infos.setdefault(str(Path(info.executable).resolve()), info)
    return sorted(infos.values(), reverse=True)


def choose_python(found: Sequence[PythonInfo], want: str) -> PythonInfo | None:
    """The newest interpreter of version ``want`` ("3.X") among ``found``."""
    matches = [p for p in found if p.minor == want]
    return max(matches) if matches else None


def venv_python_version(prefix: Path) -> str | None:
    """The "3.X" a virtual environment's pyvenv.cfg names, if it names one."""
    with contextlib.suppress(OSError):
        for line in (prefix / "pyvenv.cfg").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            m = re.match(r"(\d+\.\d+)", value.strip())
            if key.strip() in ("version_info", "version") and m:
                return m.group(1)
    return None


def venv_base_python(prefix: Path, version: str) -> PythonInfo | None:
    """The interpreter the virtual environment at ``prefix`` was made from (pyvenv.cfg's
    ``home``), when it still runs and is Python ``version``: one probe, where a search probes
    every Python on the machine (pyenv shims cost 0.2 s each)."""
    home = None
    with contextlib.suppress(OSError):
        for line in (prefix / "pyvenv.cfg").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home":
                home = Path(value.strip())
    if home is None:
        return None
    for name in (f"python{version}", "python3", "python.exe"):
        if (home / name).is_file():
            info = probe_python(home / name)
            return info if info is not None and info.minor == version else None
    return None


@dataclass(frozen=True)
class PythonChoice:
    """The interpreter an environment is made from.

    ``executable`` is None when it does not exist yet (uv installs it) or lives on another
    machine (``--platform``). ``source`` says how it was chosen (the JSON plan shows it)."""

    version: str
    executable: str | None
    source: str
    note: str | None = None


def _explicit(exe: str, name: str, want: str | None) -> PythonChoice:
    info = probe_python(exe)
    if info is None:
        raise UsageError(f"{name} {exe} does not run as a Python interpreter",
                         fix=f"point {name} at a working python{want or '3'} executable")
    if info.minor not in PYTHONS or (want and info.minor != want):
        raise UsageError(f"{name} is {info}, not a supported Python "
                         f"({want or ', '.join(PYTHONS)})",
                         fix=f"point {name} at Python {want or ' or '.join(PYTHONS)}")
    return PythonChoice(info.minor, str(info.executable), name)


def _downloads_allowed(environ: Mapping[str, str], offline: bool) -> bool:
    return not offline and environ.get("UV_PYTHON_DOWNLOADS", "").lower() not in ("never",
                                                                                  "manual")


def download_host(environ: Mapping[str, str]) -> str:
    """Where uv downloads a Python from (UV_PYTHON_INSTALL_MIRROR, else GitHub)."""
    mirror = environ.get("UV_PYTHON_INSTALL_MIRROR", "").strip()
    if not mirror:
        return "github.com"
    netloc = urlsplit(mirror).netloc.rsplit("@", 1)[-1]
    return netloc or mirror


def install_ways_out(target: Target, version: str | None = None) -> str:
    """The three ways past a failed Python download (one fix clause); ``version``: the one
    asked for (None: any supported one will do)."""
    v = version or PYTHONS[0]
    os_way = (f"winget install Python.Python.{version or DEFAULT_PYTHON}" if target.is_windows
              else f"brew install python@{version or DEFAULT_PYTHON}" if target.os == "darwin"
              else f"sudo apt-get install python{v} python{v}-venv")
    return (f"install Python {version or PYTHONS[0] + '+'} from the OS ({os_way}), or pass "
            f"--python PATH to an installed python{version or _SPAN}, or set "
            "UV_PYTHON_INSTALL_MIRROR to a mirror of python-build-standalone's releases")


def _installed(found: Sequence[PythonInfo]) -> tuple[PythonInfo, str] | None:
    """The installed interpreter to use when none was asked for: the default version when
    present, else the newest supported one; with the reason (the plan states it)."""
    chosen = choose_python(found, DEFAULT_PYTHON)
    if chosen is not None:
        others = sorted({p.minor for p in found} - {DEFAULT_PYTHON})
        why = (f"installed; preferred over {', '.join(others)} (the default, which the "
               "tests cover most)" if others else "installed: no download needed")
        return chosen, why
    if not found:
        return None
    return found[0], (f"installed (Python {DEFAULT_PYTHON}, the preferred one, is not): "
                      "used as it is, no download needed")


def resolve_python(*, want: str | None, python_exe: Path | None, target: Target,
                   environ: Mapping[str, str], offline: bool,
                   recorded: str | None, prefix: Path | None = None) -> PythonChoice:
    """The interpreter for a virtual environment, or an error saying plainly why none fits.

    Order: --python-exe (or --python PATH), KERASUP_PYTHON, the environment's own Python,
    then an installed one: the wanted version (--python, else the one the existing install
    uses), else the default 3.12 when installed, else the newest supported one installed.
    Only when no supported Python is installed at all (or --python names a version that is
    not) does uv download one."""
    if python_exe is not None:
        return _explicit(str(python_exe), "--python-exe", want)
    if environ.get("KERASUP_PYTHON"):
        return _explicit(environ["KERASUP_PYTHON"], "KERASUP_PYTHON", want)
    version = want or (recorded if recorded in PYTHONS else None)
    if prefix is not None and version and recorded == version:
        base = venv_base_python(prefix, version)
        if base is not None:
            return PythonChoice(version, str(base.executable), "existing environment",
                                None if want else "the version the existing install uses")
    found = find_pythons(target, environ)
    chosen = choose_python(found, version) if version else None
    if chosen:
        return PythonChoice(version or chosen.minor, str(chosen.executable), "found",
                            None if want else "the version the existing install uses")
    installed = None if want else _installed(found)
    if installed is not None:
        return PythonChoice(installed[0].minor, str(installed[0].executable), "found",
                            installed[1])
    return _download(want, target, environ, offline)


def _download(want: str | None, target: Target, environ: Mapping[str, str],
              offline: bool) -> PythonChoice:
    version = want or DEFAULT_PYTHON
    if _downloads_allowed(environ, offline):
        return PythonChoice(version, None, "uv-install",
                            f"no Python {version} installed"
                            f"{'' if version != DEFAULT_PYTHON else f' (nor {_SPAN})'}: uv "
                            f"downloads one from {download_host(environ)}")
    looked = ("the py launcher and PATH" if target.is_windows else
              "PATH, ~/.pyenv/versions, /usr/bin, /usr/local/bin and uv's own Pythons")
    raise CannotProceed(f"no Python {version} found (looked on {looked}), and downloads are "
                        "disabled (offline or UV_PYTHON_DOWNLOADS=never)",
                        fix=install_ways_out(target, want))
