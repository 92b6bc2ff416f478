"""kerasup bootstrap: take this machine from a Python interpreter to a verified environment.

This module is the single place where the install logic lives. The OS wrappers
(setup/ubuntu.sh, setup/windows.ps1) and the Colab notebook only find a Python 3.10+
and the system packages, then call it:

    python setup/bootstrap.py [--variant cpu|gpu] [--python 3.11|3.12|3.13] [--prefix DIR]
                              [--conda] [--dry-run] [--check] [--yes]

Steps: pick the lock for this variant, Python and platform; create the environment
(uv venv + uv pip sync --require-hashes, or micromamba / conda-lock with --conda);
write kerasup.pth and keras.json; record the install in <prefix>/share/kerasup/install.json
(written last, so an interrupted run is repaired by running again); run `python -m verify`.

It uses the standard library only and runs on Python 3.10+, because the system Python
may run it before any environment exists. The platform is a parameter (`Target`), so
every platform's branch can be exercised on any machine (`--platform win-64 --dry-run`).

Exit status: verify's (0 passed, 1 failed); 2 bad input; 3 setup could not proceed;
130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

__all__ = [
    "DEFAULT_PYTHON",
    "EXIT_INTERRUPTED",
    "EXIT_SETUP",
    "EXIT_USAGE",
    "PYTHONS",
    "REPO_ROOT",
    "UV_VERSION",
    "VARIANTS",
    "Options",
    "PythonInfo",
    "Runner",
    "SetupError",
    "Target",
    "UsageError",
    "check_disk",
    "check_supported",
    "choose_python",
    "conda_lock_python",
    "conda_tool",
    "default_prefix",
    "describe_os",
    "ensure_uv",
    "find_dot",
    "find_pythons",
    "install",
    "keras_json_path",
    "lock_sha256",
    "main",
    "make_install_record",
    "network_failure",
    "nvidia_driver",
    "parse_py_launcher_list",
    "path_with",
    "probe_python",
    "proxy_report",
    "read_install_record",
    "record_matches",
    "record_path",
    "run_verify",
    "select_lock",
    "supported_platforms",
    "tools_dir",
    "write_install_record",
    "write_keras_json",
    "write_pth",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("cpu", "gpu")
PYTHONS = ("3.11", "3.12", "3.13")
DEFAULT_PYTHON = "3.12"  # the version envs/*/environment.yml names
UV_VERSION = "0.13.9"
# Rough size of an installed environment plus uv's cache, in GB.
MIN_FREE_GB = {"cpu": 3.0, "gpu": 8.0}
KNOWN_PLATFORMS = ("linux-64", "linux-aarch64", "osx-arm64", "osx-64", "win-64")
# Used only when envs/<variant>/environment.yml cannot be read.
FALLBACK_PLATFORMS = {"cpu": ("linux-64", "linux-aarch64", "osx-arm64", "win-64"),
                      "gpu": ("linux-64",)}
KERAS_DEFAULTS = {"floatx": "float32", "epsilon": 1e-07, "backend": "tensorflow",
                  "image_data_format": "channels_last"}
RECORD_SCHEMA_VERSION = 1

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_SETUP = 3
EXIT_INTERRUPTED = 130


class SetupError(Exception):
    """Setup cannot go on: `message` says why, `fix` (optional) what to do about it."""

    code = EXIT_SETUP

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def one_line(self) -> str:
        """The error as the single line printed to stderr."""
        return f"{self.message}" + (f" (fix: {self.fix})" if self.fix else "")


class UsageError(SetupError):
    """Bad input: an unknown variant, an unsupported Python or platform, a bad prefix."""

    code = EXIT_USAGE


# --------------------------------------------------------------------------- platform


@dataclass(frozen=True)
class Target:
    """The machine an environment is made for: OS (sys.platform style) and CPU architecture."""

    os: str  # "linux" | "darwin" | "win32"
    machine: str  # normalised: "x86_64" | "aarch64" | "arm64" | anything else as reported
    wsl: bool = False

    @classmethod
    def current(cls) -> Target:
        """This machine."""
        osname = "win32" if sys.platform.startswith(("win", "cygwin", "msys")) else (
            "darwin" if sys.platform == "darwin" else sys.platform)
        if osname.startswith("linux"):
            osname = "linux"
        wsl = False
        if osname == "linux":
            with contextlib.suppress(OSError):
                wsl = "microsoft" in Path("/proc/version").read_text().lower()
        return cls(osname, _normalise_machine(platform.machine(), osname), wsl)

    @classmethod
    def from_platform(cls, name: str) -> Target:
        """A target from a conda platform name such as "win-64" or "linux-aarch64"."""
        table = {"linux-64": ("linux", "x86_64"), "linux-aarch64": ("linux", "aarch64"),
                 "osx-arm64": ("darwin", "arm64"), "osx-64": ("darwin", "x86_64"),
                 "win-64": ("win32", "x86_64"), "win-arm64": ("win32", "arm64")}
        if name not in table:
            raise UsageError(f"unknown platform {name!r}; known: {', '.join(KNOWN_PLATFORMS)}")
        return cls(*table[name])

    @property
    def platform(self) -> str:
        """The conda platform name (linux-64, linux-aarch64, osx-arm64, osx-64, win-64, ...)."""
        os_part = {"linux": "linux", "darwin": "osx", "win32": "win"}.get(self.os, self.os)
        arch = {"x86_64": "64", "aarch64": "aarch64", "arm64": "arm64"}.get(
            self.machine, self.machine)
        if os_part == "osx" and arch == "aarch64":
            arch = "arm64"
        if os_part == "linux" and arch == "arm64":
            arch = "aarch64"
        return f"{os_part}-{arch}"

    @property
    def is_windows(self) -> bool:
        """True for Windows (not for WSL2, which is Linux)."""
        return self.os == "win32"

    @property
    def pathsep(self) -> str:
        """The PATH separator on this target."""
        return ";" if self.is_windows else ":"

    @property
    def exe_suffix(self) -> str:
        """".exe" on Windows, "" elsewhere."""
        return ".exe" if self.is_windows else ""

    def path(self, value: str | os.PathLike[str]) -> PurePath:
        """`value` as a path of this target: a real Path on this machine's OS family."""
        if self.is_windows == (os.name == "nt"):
            return Path(value)
        return PureWindowsPath(value) if self.is_windows else PurePosixPath(value)

    def scripts_dir(self, prefix: str | os.PathLike[str]) -> PurePath:
        """Where a virtual environment keeps its programs: Scripts on Windows, bin elsewhere."""
        return self.path(prefix) / ("Scripts" if self.is_windows else "bin")

    def venv_python(self, prefix: str | os.PathLike[str]) -> PurePath:
        """The interpreter of a virtual environment at `prefix`."""
        return self.scripts_dir(prefix) / f"python{self.exe_suffix}"

    def conda_python(self, prefix: str | os.PathLike[str]) -> PurePath:
        """The interpreter of a conda environment (python.exe sits at the top on Windows)."""
        if self.is_windows:
            return self.path(prefix) / "python.exe"
        return self.path(prefix) / "bin" / "python"

    def env_bin_parts(self, conda: bool = False) -> list[tuple[str, ...]]:
        """The PATH directories of an environment, relative to its prefix."""
        if not self.is_windows:
            return [("bin",)]
        if conda:
            return [(), ("Library", "bin"), ("Scripts",)]
        return [("Scripts",)]

    def env_bin_dirs(self, prefix: str | os.PathLike[str], conda: bool = False) -> list[PurePath]:
        """Directories of an environment to put on PATH (conda keeps dot in Library/bin)."""
        return [self.path(prefix).joinpath(*parts) for parts in self.env_bin_parts(conda)]

    def site_packages(self, prefix: str | os.PathLike[str], python: str) -> PurePath:
        """Where `prefix`'s packages go, for a Python "3.X" (as sysconfig's purelib would say)."""
        root = self.path(prefix)
        if self.is_windows:
            return root / "Lib" / "site-packages"
        return root / "lib" / f"python{python}" / "site-packages"

    def activate_command(self, prefix: str | os.PathLike[str], method: str) -> str:
        """What a user types to enter the environment."""
        if method == "conda":
            return f"micromamba activate {self.path(prefix)}   (or: conda activate ...)"
        if self.is_windows:
            return f"{self.scripts_dir(prefix) / 'Activate.ps1'}"
        return f"source {self.scripts_dir(prefix) / 'activate'}"


def _normalise_machine(machine: str, osname: str) -> str:
    m = machine.lower()
    if m in ("amd64", "x86_64", "x64"):
        return "x86_64"
    if m in ("arm64", "aarch64", "armv8l"):
        return "arm64" if osname == "darwin" else "aarch64"
    return m


def describe_os(target: Target, os_release: Path = Path("/etc/os-release")) -> str:
    """A one-line description of the running OS, for the preflight report."""
    name = platform.platform(terse=True)
    if target.os == "linux":
        with contextlib.suppress(OSError):
            for line in os_release.read_text().splitlines():
                if line.startswith("PRETTY_NAME="):
                    name = line.split("=", 1)[1].strip().strip('"')
        if target.wsl:
            name += " under WSL2"
    return f"{name}, {target.machine} ({target.platform})"


# --------------------------------------------------------------------------- locks


def supported_platforms(variant: str, repo: Path = REPO_ROOT) -> tuple[str, ...]:
    """The conda platforms a variant supports: the `platforms:` list of its environment.yml."""
    spec = repo / "envs" / variant / "environment.yml"
    try:
        text = spec.read_text()
    except OSError:
        return FALLBACK_PLATFORMS.get(variant, ())
    found: list[str] = []
    inside = False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        if re.match(r"^platforms\s*:", line):
            inside = True
            continue
        if inside:
            item = re.match(r"^\s+-\s*(\S+)", line)
            if item:
                found.append(item.group(1).strip("'\""))
            else:
                break
    return tuple(found) or FALLBACK_PLATFORMS.get(variant, ())


def check_supported(variant: str, target: Target, repo: Path = REPO_ROOT) -> None:
    """Refuse (UsageError) a variant/platform combination that kerasup has no lock for."""
    if variant not in VARIANTS:
        raise UsageError(f"unknown variant {variant!r}: choose one of {', '.join(VARIANTS)}")
    plat = target.platform
    if plat == "osx-64":
        raise UsageError(
            "Intel Macs (osx-64) are not supported: TensorFlow publishes no macOS x86_64 "
            "wheels for the versions kerasup locks",
            fix="use an Apple silicon Mac, Linux, WSL2 or Colab")
    if variant == "gpu" and target.is_windows:
        raise UsageError(
            "TensorFlow has had no native-Windows GPU support since 2.10, so kerasup never "
            "installs a GPU build on Windows",
            fix="run setup/ubuntu.sh --variant gpu inside WSL2 "
                "(setup\\windows.ps1 -Variant gpu prints the commands)")
    if variant == "gpu" and target.os == "darwin":
        raise UsageError("the gpu variant needs CUDA, which macOS does not have",
                         fix="use --variant cpu on a Mac")
    allowed = supported_platforms(variant, repo)
    if plat not in allowed:
        raise UsageError(f"the {variant} variant does not support {plat}: it is locked for "
                         f"{', '.join(allowed)}")


def select_lock(variant: str, target: Target, repo: Path = REPO_ROOT,
                method: str = "uv") -> Path:
    """The lock file to install `variant` on `target` from.

    `method` "uv" or "pip": the universal hashed pip lock envs/<variant>/requirements.txt
    (environment markers inside it pick each platform's wheels, win_amd64 included);
    "conda": envs/<variant>/conda-lock.yml. Raises UsageError for an unsupported
    combination and SetupError when the lock has not been generated.
    """
    check_supported(variant, target, repo)
    name = "conda-lock.yml" if method == "conda" else "requirements.txt"
    lock = repo / "envs" / variant / name
    if not lock.is_file():
        raise SetupError(f"lock {lock} not found", fix="generate it with `nox -s lock`")
    return lock


def lock_sha256(lock: Path) -> str:
    """Hex sha256 of a lock file's bytes (what install.json records)."""
    return hashlib.sha256(lock.read_bytes()).hexdigest()


def conda_lock_python(lock: Path, target: Target) -> str | None:
    """The "3.X" Python a conda-lock.yml (version 1) pins for `target`, if it names one."""
    try:
        text = lock.read_text()
    except OSError:
        return None
    for block in re.split(r"\n(?=- name:|  - name:)", text):
        if re.search(r"name:\s*python\s*$", block.splitlines()[0]) and re.search(
                rf"platform:\s*{re.escape(target.platform)}\s*$", block, re.MULTILINE):
            version = re.search(r"version:\s*['\"]?(\d+\.\d+)", block)
            if version:
                return version.group(1)
    return None


# --------------------------------------------------------------------------- pythons


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


def probe_python(executable: str | os.PathLike[str], args: Sequence[str] = ()) -> PythonInfo | None:
    """Ask an interpreter for its version and real path; None if it does not run."""
    code = "import sys; print(*sys.version_info[:3]); print(sys.executable)"
    try:
        out = subprocess.run([str(executable), *args, "-c", code], capture_output=True,
                             text=True, timeout=30, check=True).stdout.splitlines()
        major, minor, micro = (int(x) for x in out[0].split())
        return PythonInfo((major, minor, micro), Path(out[1].strip() or executable))
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def parse_py_launcher_list(text: str) -> list[Path]:
    """Interpreter paths from the Windows `py -0p` listing (" -V:3.12 *  C:\\...\\python.exe")."""
    paths = []
    for line in text.splitlines():
        m = re.match(r"^\s*-(?:V:)?\d+\.\d+\S*\s+(?:\*\s+)?(.+?python\w*\.exe)\s*$", line,
                     re.IGNORECASE)
        if m:
            paths.append(Path(m.group(1)))
    return paths


def candidate_pythons(target: Target, environ: Mapping[str, str],
                      home: Path | None = None) -> list[Path]:
    """Places to look for a Python 3.11-3.13, most specific first (not yet probed)."""
    home = home or Path(environ.get("HOME") or environ.get("USERPROFILE") or Path.home())
    names = [f"python{v}" for v in reversed(PYTHONS)] + ["python3"]
    found: list[Path] = []
    search_path = environ.get("PATH", "")
    if target.is_windows:
        py = shutil.which("py", path=search_path)
        if py:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                listing = subprocess.run([py, "-0p"], capture_output=True, text=True,
                                         timeout=30).stdout
                found += parse_py_launcher_list(listing)
        local = environ.get("LOCALAPPDATA")
        if local:
            found += _glob(Path(local, "Programs", "Python"), "Python31[123]/python.exe")
        names = ["python"]
    for name in names:
        hit = shutil.which(name, path=search_path)
        if hit:
            found.append(Path(hit))
    if not target.is_windows:
        pyenv_root = Path(environ.get("PYENV_ROOT") or home / ".pyenv")
        uv_root = Path(environ.get("UV_PYTHON_INSTALL_DIR")
                       or Path(environ.get("XDG_DATA_HOME") or home / ".local" / "share")
                       / "uv" / "python")
        for v in reversed(PYTHONS):
            for base in (Path("/usr/bin"), Path("/usr/local/bin"), Path("/opt/homebrew/bin")):
                found.append(base / f"python{v}")
            found += _glob(pyenv_root, f"versions/{v}*/bin/python{v}")
            found += _glob(uv_root, f"cpython-{v}*/bin/python{v}")
    unique: list[Path] = []
    for p in found:
        with contextlib.suppress(OSError):
            if p.exists() and p not in unique:
                unique.append(p)
    return unique


def _glob(base: Path, pattern: str) -> list[Path]:
    """Newest first; nothing where `base` cannot be read (another user's home)."""
    try:
        return sorted(base.glob(pattern), reverse=True)
    except OSError:
        return []


def find_pythons(target: Target, environ: Mapping[str, str],
                 home: Path | None = None) -> list[PythonInfo]:
    """Every supported (3.11-3.13) interpreter found, newest first, one per real path."""
    infos: dict[str, PythonInfo] = {}
    for exe in candidate_pythons(target, environ, home):
        info = probe_python(exe)
        if info and info.minor in PYTHONS:
            key = str(Path(info.executable).resolve())
            infos.setdefault(key, info)
    return sorted(infos.values(), reverse=True)


def choose_python(found: Sequence[PythonInfo], want: str) -> PythonInfo | None:
    """The newest interpreter of version `want` ("3.X") among `found`."""
    matches = [p for p in found if p.minor == want]
    return max(matches) if matches else None


# --------------------------------------------------------------------------- checks


def free_gb(path: Path) -> float:
    """Free space in GB on the file system that holds `path` (or its nearest existing parent)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free / 1e9


def check_disk(prefix: Path, variant: str, environ: Mapping[str, str]) -> str:
    """Refuse when too little disk is free for `variant`; KERASUP_MIN_FREE_GB overrides the need."""
    override = environ.get("KERASUP_MIN_FREE_GB")
    try:
        need = float(override) if override else MIN_FREE_GB[variant]
    except ValueError as exc:
        raise UsageError(f"KERASUP_MIN_FREE_GB={override!r} is not a number") from exc
    free = free_gb(prefix)
    if free < need:
        raise SetupError(
            f"too little disk: {free:.1f} GB free at {prefix}, the {variant} environment "
            f"needs about {need:g} GB",
            fix="free some space or choose another --prefix (KERASUP_MIN_FREE_GB overrides)")
    return f"disk: {free:.1f} GB free at {prefix} (needs about {need:g} GB)"


def _redact(url: str) -> str:
    return re.sub(r"//[^@/]+@", "//***@", url)


def proxy_report(environ: Mapping[str, str]) -> str:
    """One line saying which proxy variables are set (credentials hidden)."""
    parts = []
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        value = environ.get(name) or environ.get(name.lower())
        if value:
            parts.append(f"{name}={_redact(value)}")
    return "proxy: " + (", ".join(parts) if parts else "none set (direct connection)")


def nvidia_driver(environ: Mapping[str, str]) -> str | None:
    """'GPU name, driver version' from nvidia-smi, or None when no NVIDIA driver answers."""
    path = environ.get("PATH", "") + os.pathsep + "/usr/lib/wsl/lib"
    smi = shutil.which("nvidia-smi", path=path)
    if not smi:
        return None
    try:
        out = subprocess.run([smi, "--query-gpu=name,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    first = out.stdout.strip().splitlines()[:1]
    return first[0] if out.returncode == 0 and first else None


def find_dot(target: Target, environ: Mapping[str, str],
             env_prefix: str | os.PathLike[str] | None = None,
             conda: bool = False) -> Path | None:
    """The directory holding graphviz's `dot` for `target`, or None.

    Looks in the environment itself (conda puts it in bin, or Library\\bin on Windows), on
    PATH, then where the Windows installers (winget, choco) and Homebrew put it, which is
    often not on PATH yet in the current session.
    """
    exe = f"dot{target.exe_suffix}"
    dirs: list[Path] = []
    if env_prefix is not None:
        dirs += [Path(env_prefix).joinpath(*parts) for parts in target.env_bin_parts(conda)]
    dirs += [Path(d) for d in environ.get("PATH", "").split(target.pathsep) if d]
    if target.is_windows:
        for var in ("ProgramFiles", "ProgramFiles(x86)", "ProgramW6432"):
            if environ.get(var):
                dirs.append(Path(environ[var]) / "Graphviz" / "bin")
        if environ.get("LOCALAPPDATA"):
            dirs.append(Path(environ["LOCALAPPDATA"]) / "Programs" / "Graphviz" / "bin")
        choco = environ.get("ChocolateyInstall")
        if choco:
            dirs.append(Path(choco) / "bin")
    elif target.os == "darwin":
        dirs += [Path("/opt/homebrew/bin"), Path("/usr/local/bin")]
    else:
        dirs += [Path("/usr/bin"), Path("/usr/local/bin")]
    for d in dirs:
        if (d / exe).is_file():
            return d
    return None


def path_with(directories: Iterable[str | os.PathLike[str]], path: str, target: Target) -> str:
    """PATH with `directories` in front, once each (case-insensitively on Windows)."""
    sep = target.pathsep

    def key(entry: str) -> str:
        entry = entry.rstrip("\\/")
        return entry.lower() if target.is_windows else entry

    front = [str(d) for d in directories]
    seen = {key(d) for d in front}
    rest = [p for p in path.split(sep) if p and key(p) not in seen]
    out: list[str] = []
    for entry in front + rest:
        if entry not in out:
            out.append(entry)
    return sep.join(out)


# --------------------------------------------------------------------------- files


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def keras_json_path(environ: Mapping[str, str]) -> Path:
    """Where Keras reads its config: $KERAS_HOME/keras.json, else ~/.keras/keras.json."""
    keras_home = environ.get("KERAS_HOME")
    if keras_home:
        return Path(keras_home) / "keras.json"
    # as os.path.expanduser("~") sees it (Keras' own rule): USERPROFILE on Windows
    user_home = environ.get("USERPROFILE" if os.name == "nt" else "HOME")
    return Path(user_home or Path.home()) / ".keras" / "keras.json"


def write_keras_json(path: Path, backend: str = "tensorflow",
                     dry_run: bool = False) -> tuple[str, Path | None]:
    """Make keras.json select `backend`, keeping the user's other keys.

    Writes only when the file is missing, unreadable or names another backend; backs the
    old file up first (keras.json.bak-<UTC time>) and replaces it atomically. Returns
    (what happened: "created" | "updated" | "unchanged", the backup path or None).
    """
    existing: dict[str, object] | None = None
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            existing = loaded if isinstance(loaded, dict) else None
        except (OSError, ValueError):
            existing = None
        if existing is not None and existing.get("backend") == backend:
            return "unchanged", None
    config = {**KERAS_DEFAULTS, **(existing or {}), "backend": backend}
    backup = None
    if path.exists():
        backup = path.with_name(f"{path.name}.bak-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
    if dry_run:
        return ("updated" if backup else "created"), backup
    if backup:
        shutil.copy2(path, backup)
    _atomic_write(path, json.dumps(config, indent=4) + "\n")
    return ("updated" if backup else "created"), backup


def write_pth(site_packages: Path, repo: Path = REPO_ROOT) -> Path:
    """Write <site-packages>/kerasup.pth naming the repository, so `python -m verify` works."""
    pth = site_packages / "kerasup.pth"
    _atomic_write(pth, f"{repo}\n")
    return pth


def record_path(prefix: Path) -> Path:
    """<prefix>/share/kerasup/install.json."""
    return prefix / "share" / "kerasup" / "install.json"


def make_install_record(variant: str, python: str, target: Target, lock: Path, method: str,
                        toolkit_root: Path = REPO_ROOT,
                        created: str | None = None) -> dict[str, object]:
    """The install record (schema_version 1, see ARCHITECTURE.md)."""
    return {
        "schema_version": RECORD_SCHEMA_VERSION,
        "variant": variant,
        "python": python,
        "platform": target.platform,
        "lock": str(lock.resolve()),
        "lock_sha256": lock_sha256(lock),
        "method": method,
        "toolkit_root": str(toolkit_root.resolve()),
        "created": created or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_install_record(prefix: Path, record: Mapping[str, object]) -> Path:
    """Write install.json atomically; setup writes it last, once the install succeeded."""
    path = record_path(prefix)
    _atomic_write(path, json.dumps(dict(record), indent=2) + "\n")
    return path


def read_install_record(prefix: Path) -> dict[str, object] | None:
    """The install record at `prefix`, or None when missing or unreadable."""
    try:
        data = json.loads(record_path(prefix).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def record_matches(existing: Mapping[str, object] | None, wanted: Mapping[str, object]) -> bool:
    """True when an existing record describes the install `wanted` (ignoring its time)."""
    if not existing:
        return False
    return all(existing.get(k) == v for k, v in wanted.items() if k != "created")


# --------------------------------------------------------------------------- running


Say = Callable[[str], None]


def _say(message: str) -> None:
    print(f"kerasup: {message}", flush=True)


@dataclass
class Runner:
    """Runs commands and says so; under dry_run it only says what it would do."""

    dry_run: bool = False
    say: Say = _say

    def note(self, action: str) -> bool:
        """Announce a change; True when it should really be made."""
        self.say(("would " if self.dry_run else "") + action)
        return not self.dry_run

    def run(self, cmd: Sequence[str | os.PathLike[str]], env: Mapping[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str] | None:
        """Run `cmd`, passing its output through; return it with the output's last lines."""
        shown = " ".join(_quote(str(c)) for c in cmd)
        if not self.note(f"run: {shown}"):
            return None
        tail: list[str] = []
        proc = subprocess.Popen([str(c) for c in cmd], env=dict(env) if env else None, cwd=cwd,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors="replace")
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                print(f"    {line.rstrip()}", flush=True)
                tail = [*tail[-40:], line.rstrip()]
            proc.wait()
        except BaseException:  # Ctrl-C: do not leave the child running on its own
            proc.kill()
            proc.wait()
            raise
        return subprocess.CompletedProcess(list(map(str, cmd)), proc.returncode, "\n".join(tail))


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w@%+=:,./\\-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


NETWORK_ERRORS = re.compile(
    r"(Network connectivity is disabled|Failed to fetch|error sending request|dns error|"
    r"failed to lookup address|Could not connect|Connection refused|ConnectError|"
    r"NewConnectionError|Max retries exceeded|Temporary failure in name resolution|"
    r"timed out|No matching distribution found|not found in the cache)", re.IGNORECASE)


def network_failure(output: str, offline: bool) -> bool:
    """True when a uv or pip failure came from having no network (and no cached packages)."""
    return offline or bool(NETWORK_ERRORS.search(output))


def tools_dir(target: Target, environ: Mapping[str, str]) -> Path:
    """The small venv that holds the pinned uv: KERASUP_BOOTSTRAP_TOOLS, else a user cache dir."""
    if environ.get("KERASUP_BOOTSTRAP_TOOLS"):
        return Path(environ["KERASUP_BOOTSTRAP_TOOLS"])
    home = Path(environ.get("HOME") or environ.get("USERPROFILE") or Path.home())
    if target.is_windows:
        return Path(environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "kerasup" / "tools"
    return Path(environ.get("XDG_CACHE_HOME") or home / ".cache") / "kerasup" / "tools"


def _uv_version(uv: PurePath) -> str | None:
    try:
        out = subprocess.run([str(uv), "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.match(r"uv (\S+)", out.stdout)
    return m.group(1) if out.returncode == 0 and m else None


def ensure_uv(tools: Path, base_python: Path, target: Target, runner: Runner,
              offline: bool = False, repo: Path = REPO_ROOT) -> PurePath:
    """The pinned uv (UV_VERSION), installed from PyPI with hashes into the `tools` venv if needed.

    Never downloads an installer script: `python -m venv` + `pip install --require-hashes`
    from setup/tools-requirements.txt.
    """
    uv = target.scripts_dir(tools) / f"uv{target.exe_suffix}"
    if _uv_version(uv) == UV_VERSION:
        runner.say(f"uv {UV_VERSION}: {uv}")
        return uv
    if offline and not runner.dry_run:
        raise SetupError(f"uv {UV_VERSION} is not installed in {tools} and KERASUP_OFFLINE=1 "
                         "forbids downloading it", fix="run once with network access")
    made = runner.run([base_python, "-m", "venv", "--clear", tools])
    if made is not None and made.returncode != 0:
        raise SetupError(f"`{base_python} -m venv` failed, so uv cannot be installed",
                         fix="sudo apt-get install python3-venv  (or python3.X-venv for "
                             "your Python), then run again")
    tools_python = target.venv_python(tools)
    got = runner.run([tools_python, "-m", "pip", "install", "--quiet",
                      "--disable-pip-version-check", "--require-hashes", "--only-binary", ":all:",
                      "-r",
                      repo / "setup" / "tools-requirements.txt"])
    if got is not None and got.returncode != 0:
        if network_failure(got.stdout, offline):
            raise SetupError(f"cannot download uv {UV_VERSION} from PyPI: no network",
                             fix="connect (set HTTPS_PROXY behind a proxy) and run again")
        raise SetupError(f"installing uv {UV_VERSION} into {tools} failed (see above)")
    return uv


def run_verify(python: PurePath, prefix: Path, target: Target, runner: Runner,
               environ: Mapping[str, str], extra_path: Sequence[str | os.PathLike[str]] = (),
               args: Sequence[str] = ()) -> int:
    """Run `python -m verify --json ... --junit ...` inside the environment; its exit status.

    Writes <prefix>/share/kerasup/verify-report.json and verify-junit.xml. Runs from the
    report directory, not the repository, so it proves kerasup.pth works.
    """
    share = prefix / "share" / "kerasup"
    cmd = [python, "-m", "verify", "--json", share / "verify-report.json",
           "--junit", share / "verify-junit.xml", *args]
    env = dict(environ)
    env["PATH"] = path_with([*extra_path], environ.get("PATH", ""), target)
    if not runner.dry_run:
        share.mkdir(parents=True, exist_ok=True)
    done = runner.run(cmd, env=env, cwd=share if share.is_dir() else None)
    return 0 if done is None else done.returncode


# --------------------------------------------------------------------------- install


@dataclass
class Options:
    """What the user asked for (the command line, parsed)."""

    variant: str = "cpu"
    python: str | None = None
    python_exe: Path | None = None
    prefix: Path | None = None
    conda: bool = False
    dry_run: bool = False
    check: bool = False
    yes: bool = False
    offline: bool = False
    verify: bool = True
    force: bool = False
    platform: str | None = None


def default_prefix(repo: Path = REPO_ROOT) -> Path:
    """.venv in the repository."""
    return repo / ".venv"


def _check_prefix(prefix: Path, conda: bool) -> str:
    """Refuse a prefix that is a file or a non-empty directory that is not an environment."""
    if prefix.exists() and not prefix.is_dir():
        raise UsageError(f"prefix {prefix} exists and is not a directory",
                         fix="choose another --prefix")
    if not prefix.is_dir():
        return "new"
    if (prefix / "pyvenv.cfg").is_file():
        return "venv"
    if (prefix / "conda-meta").is_dir():
        return "conda"
    if any(prefix.iterdir()):
        raise UsageError(f"prefix {prefix} is a non-empty directory that is not an environment",
                         fix="choose another --prefix or empty it")
    return "new"


def _venv_python_version(prefix: Path) -> str | None:
    with contextlib.suppress(OSError):
        for line in (prefix / "pyvenv.cfg").read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() in ("version_info", "version"):
                m = re.match(r"(\d+\.\d+)", value.strip())
                if m:
                    return m.group(1)
    return None


def conda_tool(environ: Mapping[str, str]) -> tuple[str, Path, Path | None] | None:
    """What --conda installs with: ("micromamba", exe, None), or ("conda-lock", exe, the
    conda/mamba/micromamba it drives); None when neither is usable."""
    path = environ.get("PATH", "")
    micromamba = shutil.which("micromamba", path=path)
    if micromamba:
        return "micromamba", Path(micromamba), None
    lock_tool = shutil.which("conda-lock", path=path)
    conda_exe = next((hit for n in ("mamba", "conda") if (hit := shutil.which(n, path=path))),
                     None)
    if lock_tool and conda_exe:
        return "conda-lock", Path(lock_tool), Path(conda_exe)
    return None


def resolve_python(opts: Options, target: Target, environ: Mapping[str, str], runner: Runner,
                   uv: Callable[[], PurePath], existing: Mapping[str, object] | None) -> PythonInfo:
    """The interpreter the environment is made from, or a SetupError saying plainly why not."""
    if opts.python_exe:
        info = probe_python(opts.python_exe)
        if not info:
            raise UsageError(f"--python-exe {opts.python_exe} does not run")
        if info.minor not in PYTHONS or (opts.python and info.minor != opts.python):
            raise UsageError(f"{info} is not a supported Python "
                             f"({opts.python or ', '.join(PYTHONS)})")
        return info
    want = opts.python
    if not want and existing and existing.get("python") in PYTHONS:
        want = str(existing["python"])
        runner.say(f"keeping Python {want}, which the existing install at the prefix uses")
    want = want or DEFAULT_PYTHON
    found = find_pythons(target, environ)
    chosen = choose_python(found, want)
    if chosen:
        return chosen
    downloads = environ.get("UV_PYTHON_DOWNLOADS", "").lower() not in ("never", "manual") \
        and not opts.offline
    reason = ("downloads are disabled (UV_PYTHON_DOWNLOADS=never or KERASUP_OFFLINE=1)"
              if not downloads else "")
    if downloads:
        runner.say(f"no Python {want} installed; getting a uv-managed Python {want}")
        if runner.dry_run:
            runner.note(f"run: uv python install {want}")
            return PythonInfo((int(want[0]), int(want[2:]), 0), Path(f"<uv-managed python{want}>"))
        uv_exe = uv()
        got = runner.run([uv_exe, "python", "install", want])
        if got is not None and got.returncode == 0:
            where = subprocess.run([str(uv_exe), "python", "find", want], capture_output=True,
                                   text=True)
            info = probe_python(where.stdout.strip()) if where.returncode == 0 else None
            if info:
                return info
        reason = "uv could not download one (no network, or its download host is unreachable)"
    if not opts.python and found:
        chosen = found[0]
        runner.say(f"Python {want} is not available ({reason}); falling back to installed "
                   f"{chosen}")
        return chosen
    looked = "the py launcher, PATH" if target.is_windows else \
        "PATH, ~/.pyenv/versions, /usr/bin, /usr/local/bin and uv's own Pythons"
    fix = ("winget install Python.Python.3.12" if target.is_windows else
           f"sudo apt-get install python{want} python{want}-venv (Ubuntu: sudo "
           "add-apt-repository ppa:deadsnakes/ppa first)")
    other = f", and no other Python {'/'.join(PYTHONS)}" if not opts.python else ""
    raise SetupError(f"no Python {want} found (looked on {looked}){other}; {reason}", fix=fix)


def install(opts: Options, target: Target | None = None, repo: Path = REPO_ROOT,
            environ: Mapping[str, str] | None = None, runner: Runner | None = None) -> int:
    """The whole bootstrap: checks, environment, keras.json, record, verify. Returns exit status."""
    started = time.monotonic()
    environ = dict(os.environ if environ is None else environ)
    runner = runner or Runner(dry_run=opts.dry_run or opts.check)
    say = runner.say
    here = Target.current()
    if opts.platform:
        target = Target.from_platform(opts.platform)
        if target.platform != here.platform and not (opts.dry_run or opts.check):
            raise UsageError(f"--platform {opts.platform} is not this machine ({here.platform}); "
                             "use it only with --dry-run or --check")
    target = target or here
    opts.offline = opts.offline or environ.get("KERASUP_OFFLINE", "") not in ("", "0")
    if opts.python and opts.python not in PYTHONS:
        raise UsageError(f"unsupported Python {opts.python!r}: choose one of {', '.join(PYTHONS)}")
    method = "conda" if opts.conda else "uv"
    prefix = Path(opts.prefix or default_prefix(repo)).expanduser().absolute()

    # 1. checks, before anything changes
    say(f"OS: {describe_os(target)}" if target == here else f"platform: {target.platform} "
        "(--platform: paths and locks of that platform, nothing is run for it)")
    check_supported(opts.variant, target, repo)
    kind = _check_prefix(prefix, opts.conda)
    _check_existing_env(prefix, kind, opts)
    tool = None
    if opts.conda:
        tool = conda_tool(environ)
        if not tool:
            raise SetupError("--conda needs micromamba, or conda-lock together with conda or "
                             "mamba, and neither was found on PATH",
                             fix="install micromamba (mamba.readthedocs.io) or `pip install "
                                 "conda-lock` with conda, or drop --conda to use the pip lock")
        say(f"conda route: {tool[0]} at {tool[1]}")
    lock = select_lock(opts.variant, target, repo, method)
    say(f"lock: {lock} (sha256 {lock_sha256(lock)[:12]}...)")
    existing = read_install_record(prefix)
    say(f"prefix: {prefix} ({'new' if kind == 'new' else 'existing ' + kind + ' environment'}"
        f"{', install record found' if existing else ''})")
    say(proxy_report(environ))
    if opts.variant == "gpu":
        driver = nvidia_driver(environ)
        if driver:
            say(f"NVIDIA driver: {driver}")
        else:
            say("warning: no NVIDIA driver answered (nvidia-smi not found or failed): the GPU "
                "build installs, but verify's GPU checks will be skipped or fail until a driver "
                "is installed (https://docs.nvidia.com/cuda/wsl-user-guide/ on WSL2)")

    tools = tools_dir(target, environ)
    uv_path: list[PurePath] = []

    def get_uv() -> PurePath:
        if not uv_path:
            uv_path.append(Path(environ["KERASUP_UV"]) if environ.get("KERASUP_UV") else
                           ensure_uv(tools, Path(sys.executable), target, runner, opts.offline,
                                     repo))
        return uv_path[0]

    if opts.conda:
        pinned = conda_lock_python(lock, target)
        if opts.python and pinned and opts.python != pinned:
            raise UsageError(f"the conda lock pins Python {pinned}, not {opts.python}",
                             fix="drop --python, or drop --conda to use the pip lock")
        py_minor = pinned or DEFAULT_PYTHON
        env_python = target.conda_python(prefix)
        say(f"Python: {py_minor} from the conda lock")
    else:
        if target != here:
            want = opts.python or DEFAULT_PYTHON
            info = PythonInfo((3, int(want.split(".")[1]), 0),
                              Path(f"<a Python {want} found on the {target.platform} machine>"))
        else:
            info = resolve_python(opts, target, environ, runner, get_uv,
                                  existing if kind == "venv" else None)
        py_minor = info.minor
        env_python = target.venv_python(prefix)
        say(f"Python for the environment: {info}")

    wanted = make_install_record(opts.variant, py_minor, target, lock, method, repo)
    up_to_date = (not opts.force and record_matches(existing, wanted)
                  and Path(env_python).exists())
    if up_to_date:
        say("disk: no check needed, nothing to install")
    else:
        say(check_disk(prefix, opts.variant, environ))
    if opts.check:
        say("checks passed" + (" (the environment is up to date)" if up_to_date else ""))
        return EXIT_OK

    # 2. the environment
    if up_to_date:
        say(f"environment at {prefix} is up to date (same lock sha256, Python {py_minor}, "
            "variant and platform): skipping install")
    else:
        if existing and runner.note(f"remove the old install record {record_path(prefix)}"):
            record_path(prefix).unlink(missing_ok=True)
        if opts.conda:
            _install_conda(prefix, kind, lock, tool, runner, opts, environ)
        else:
            _install_venv(prefix, kind, info, lock, target, runner, opts, environ, get_uv,
                          finished=existing is not None)

    # 3. the toolkit on the env's path, keras.json, the record (last)
    site = _site_packages(env_python, prefix, target, py_minor, runner)
    pth = site / "kerasup.pth"
    if up_to_date and Path(pth).is_file() and Path(pth).read_text().strip() == str(repo):
        pass
    elif runner.note(f"write {pth} (naming {repo})"):
        write_pth(Path(site), repo)
    kj = keras_json_path(environ)
    what, backup = write_keras_json(kj, dry_run=True)
    if what == "unchanged":
        say(f"keras.json: {kj} already selects the tensorflow backend")
    elif runner.note(f"{'create' if what == 'created' else 'update'} {kj} (backend tensorflow"
                     f"{', backup ' + str(backup) if backup else ''})"):
        write_keras_json(kj)
    if not up_to_date and runner.note(f"write the install record {record_path(prefix)}"):
        write_install_record(prefix, wanted)

    installed_s = time.monotonic() - started

    # 4. verify
    dot = find_dot(target, environ, prefix, opts.conda)
    if dot:
        say(f"graphviz dot: {dot}")
    else:
        say("warning: graphviz `dot` not found: keras.utils.plot_model will fail (install "
            "graphviz, e.g. sudo apt-get install graphviz)")
    status = EXIT_OK
    if opts.verify:
        extra = [*map(str, target.env_bin_dirs(prefix, opts.conda)), *([str(dot)] if dot else [])]
        status = run_verify(env_python, prefix, target, runner, environ, extra)
        share = prefix / "share" / "kerasup"
        if not opts.dry_run:
            say(f"verify exited {status}; report: {share / 'verify-report.json'} "
                f"(JUnit: {share / 'verify-junit.xml'})")
    say(f"activate the environment with:  {target.activate_command(prefix, method)}")
    if not opts.dry_run:
        say(f"done in {time.monotonic() - started:.1f}s (install steps {installed_s:.1f}s, "
            f"the rest verify)")
    if opts.dry_run:
        say("dry run: nothing was changed")
    return status


def _site_packages(env_python: PurePath, prefix: Path, target: Target, py_minor: str,
                   runner: Runner) -> PurePath:
    if not runner.dry_run and Path(env_python).exists():
        out = subprocess.run([str(env_python), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    return target.site_packages(prefix, py_minor)


def _install_venv(prefix: Path, kind: str, info: PythonInfo, lock: Path, target: Target,
                  runner: Runner, opts: Options, environ: Mapping[str, str],
                  get_uv: Callable[[], PurePath], finished: bool = True) -> None:
    """Create (or reuse) the venv at `prefix` and sync it to `lock` with hashes required.

    `finished`: the prefix had an install record, so an earlier run completed; without
    one, an environment kerasup made is rebuilt rather than trusted."""
    uv = get_uv()
    env = {**environ, "UV_PYTHON_DOWNLOADS": environ.get("UV_PYTHON_DOWNLOADS", "never")}
    env.pop("VIRTUAL_ENV", None)
    have = _venv_python_version(prefix) if kind == "venv" else None
    python_ok = Path(target.venv_python(prefix)).exists()
    if kind == "venv" and (opts.force or not finished):
        # Ours, but no record: an earlier run stopped half-way (or --force). A package's
        # files may be half there while its metadata says installed, so start clean (from
        # uv's cache that takes seconds, faster than reinstalling in place).
        runner.say("no install record: an earlier run did not finish; recreating the "
                   "environment")
        recreate = True
    elif kind == "venv" and have == info.minor and python_ok:
        runner.say(f"reusing the Python {have} virtual environment at {prefix}")
        recreate = False
    else:
        recreate = True
    if recreate:
        made = runner.run([uv, "venv", "--clear", "--python", info.executable, prefix], env=env)
        if made is not None and made.returncode != 0:
            raise SetupError(f"`uv venv` failed to create {prefix} (see above)")
        _mark_ours(prefix, runner)
    sync = [uv, "pip", "sync", "--require-hashes", "--python", target.venv_python(prefix), lock]
    if opts.offline:
        sync.insert(3, "--offline")
    done = runner.run(sync, env=env)
    if done is not None and done.returncode != 0:
        if network_failure(done.stdout, opts.offline):
            cache = environ.get("UV_CACHE_DIR") or "uv's cache"
            raise SetupError(
                "cannot install: no network (or proxy), and the locked packages are not in "
                f"{cache}",
                fix="connect (set HTTPS_PROXY behind a proxy) and run again; KERASUP_OFFLINE=1 "
                    "installs only from the cache")
        raise SetupError("`uv pip sync` failed (see above); the environment is incomplete and "
                         "running again repairs it")


MARKER = Path("share") / "kerasup" / "created-by-kerasup"


def _mark_ours(prefix: Path, runner: Runner) -> None:
    """Mark an environment as made by kerasup (so a rerun may rebuild it without asking)."""
    if not runner.dry_run:
        _atomic_write(prefix / MARKER, time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))


def _check_existing_env(prefix: Path, kind: str, opts: Options) -> None:
    """Refuse an environment of the other kind, or one kerasup did not make (unless --yes)."""
    if kind == "conda" and not opts.conda:
        raise UsageError(f"prefix {prefix} holds a conda environment",
                         fix="add --conda, or choose another --prefix")
    if kind == "venv" and opts.conda:
        raise UsageError(f"prefix {prefix} holds a virtual environment, not a conda one",
                         fix="drop --conda, or choose another --prefix")
    ours = (prefix / MARKER).is_file() or record_path(prefix).is_file()
    if kind in ("venv", "conda") and not ours and not opts.yes:
        what = "a conda environment" if kind == "conda" else "a virtual environment"
        raise UsageError(f"prefix {prefix} holds {what} that kerasup did not make; installing "
                         "the lock there replaces its packages",
                         fix="rerun with --yes, or choose another --prefix")


def _install_conda(prefix: Path, kind: str, lock: Path,
                   tool: tuple[str, Path, Path | None] | None,
                   runner: Runner, opts: Options, environ: Mapping[str, str]) -> None:
    assert tool is not None
    if kind == "conda" and runner.note(f"remove the outdated conda environment {prefix}"):
        shutil.rmtree(prefix)
    name, exe, conda_exe = tool
    if name == "micromamba":
        cmd: list[str | os.PathLike[str]] = [exe, "create", "--yes", "--prefix", prefix,
                                             "--file", lock]
        if opts.offline:
            cmd.append("--offline")
    else:
        cmd = [exe, "install", "--conda", str(conda_exe), "--prefix", prefix, lock]
    done = runner.run(cmd, env=environ)
    if done is not None and done.returncode != 0:
        if network_failure(done.stdout, opts.offline):
            raise SetupError("cannot install the conda lock: no network and the packages are "
                             "not cached", fix="connect and run again")
        raise SetupError(f"`{name}` failed to create {prefix} (see above)")
    _mark_ours(prefix, runner)


# --------------------------------------------------------------------------- command line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"kerasup: error: {message} (see --help)\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The bootstrap's command line (ubuntu.sh and windows.ps1 pass their flags through)."""
    p = _Parser(prog="bootstrap.py", description=__doc__.split("\n\n")[0],
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", default="cpu", help="cpu (default) or gpu")
    p.add_argument("--python", help=f"Python version for the environment: {', '.join(PYTHONS)} "
                   f"(default {DEFAULT_PYTHON}, or the one an existing install uses)")
    p.add_argument("--python-exe", type=Path, help="use this interpreter for the environment")
    p.add_argument("--prefix", type=Path,
                   help="where the environment goes (default: .venv in the repository)")
    p.add_argument("--conda", action="store_true",
                   help="create it from envs/<variant>/conda-lock.yml with micromamba/conda-lock")
    p.add_argument("--dry-run", action="store_true", help="print every action, change nothing")
    p.add_argument("--check", action="store_true", help="run the checks only, change nothing")
    p.add_argument("--yes", action="store_true", help="replace a foreign environment at --prefix")
    p.add_argument("--force", action="store_true", help="re-sync even if the install is up to date")
    p.add_argument("--offline", action="store_true",
                   help="never download (same as KERASUP_OFFLINE=1)")
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="skip `python -m verify`")
    p.add_argument("--platform", help="pretend to be another platform (with --dry-run/--check): "
                   + ", ".join(KNOWN_PLATFORMS))
    p.add_argument("--find-dot", action="store_true",
                   help="print the directory holding graphviz's dot (exit 1 if none) and stop")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    opts = Options(variant=args.variant, python=args.python, python_exe=args.python_exe,
                   prefix=args.prefix, conda=args.conda, dry_run=args.dry_run, check=args.check,
                   yes=args.yes, offline=args.offline, verify=args.verify, force=args.force,
                   platform=args.platform)
    try:
        if args.find_dot:
            target = Target.from_platform(args.platform) if args.platform else Target.current()
            dot = find_dot(target, os.environ, args.prefix, args.conda)
            if dot:
                print(dot)
            return EXIT_OK if dot else 1
        return install(opts)
    except SetupError as exc:
        sys.stderr.write(f"kerasup: error: {exc.one_line()}\n")
        return exc.code
    except KeyboardInterrupt:
        sys.stderr.write("kerasup: interrupted; run the same command again to finish\n")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
