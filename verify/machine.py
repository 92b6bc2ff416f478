"""Facts about this machine and environment: platform, install record, variant and lock.

Standard library and the contract layer only, so it imports anywhere (tests, a broken
environment). The platform name, the install record and its path, the variants and the
supported Pythons are the contract's (:mod:`envs.contract`); this module only decides which
of them applies to this run.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envs.contract import record as install_record
from envs.contract.facts import DEFAULT_VARIANT, GPU_VARIANT, VARIANTS
from envs.contract.fileio import file_sha256
from envs.contract.layout import Layout
from envs.contract.platforms import current_platform
from envs.contract.record import InstallRecord

__all__ = [
    "Context",
    "install_command",
    "is_wsl",
    "machine_facts",
    "resolve_context",
    "this_python",
    "toolkit_root",
    "uninstall_command",
]


def is_wsl() -> bool:
    """True under Windows Subsystem for Linux."""
    if platform.system() != "Linux":
        return False
    try:
        return "microsoft" in Path("/proc/version").read_text(encoding="utf-8").lower()
    except OSError:
        return False


def toolkit_root() -> Path:
    """The kerasup repository this package was loaded from (``kerasup.pth`` names it)."""
    return Path(__file__).resolve().parent.parent


def _installed(name: str) -> bool:
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def infer_variant() -> tuple[str, str]:
    """Guess the variant from what is installed: CUDA wheels or ``tensorflow[and-cuda]``."""
    for dist in importlib.metadata.distributions():
        name = (dist.metadata.get("Name") or "").lower()  # type: ignore[attr-defined]
        if name.startswith("nvidia-cudnn") or name.startswith("nvidia-cuda-runtime"):
            return GPU_VARIANT, f"inferred: {name} is installed"
    if _installed("tensorflow-cpu"):
        return DEFAULT_VARIANT, "inferred: tensorflow-cpu is installed"
    return DEFAULT_VARIANT, "inferred: no CUDA libraries installed"


@dataclass(frozen=True)
class Context:
    """What the checks compare this machine against."""

    variant: str
    variant_source: str
    lock: Path | None
    lock_source: str
    record: InstallRecord | None
    record_path: Path
    record_error: str | None
    expect_gpu: bool
    overlay: Path | None = None  # this personal overlay's folder, when verify runs in one

    @property
    def built_from_lock(self) -> bool:
        """kerasup created the environment (its marker is beside the install record) from the
        lock this run checks against, so every distribution that lock does not name was
        added by hand."""
        return (self.record is not None and self.lock_source.startswith("install record")
                and Layout(self.record_path.parents[2]).marker.is_file())

    def to_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant, "variant_source": self.variant_source,
            "lock": str(self.lock) if self.lock else None, "lock_source": self.lock_source,
            "lock_sha256": file_sha256(self.lock) if self.lock and self.lock.is_file() else None,
            "install_record": str(self.record_path) if self.record else None,
            "expect_gpu": self.expect_gpu,
        }


def resolve_context(variant: str | None, lock: Path | None, expect_gpu: bool | None,
                    prefix: str | None = None) -> Context:
    """Variant and lock: the command line, else the install record, else inferred."""
    root, overlay = Path(prefix or sys.prefix), None
    base = _overlay_base(root)
    if base is not None:  # a student's overlay: the shared environment's record and lock
        root, overlay = base, root
    record_path = Layout(root).install_record
    record, record_error = install_record.read(root)
    if variant:
        variant_source = "--variant"
    elif record and record.variant in VARIANTS:
        variant, variant_source = record.variant, f"install record {record_path}"
    else:
        variant, variant_source = infer_variant()
    if lock is not None:
        lock_path: Path | None = lock
        lock_source = "--lock"
    elif record and record.lock:
        lock_path, lock_source = Path(record.lock), f"install record {record_path}"
    else:
        lock_path = Layout.lock(toolkit_root(), variant)
        lock_source = "repository default (no install record)"
    if expect_gpu is None:
        expect_gpu = variant == GPU_VARIANT
    return Context(variant, variant_source, lock_path, lock_source, record, record_path,
                   record_error, expect_gpu, overlay)


def _overlay_base(root: Path) -> Path | None:
    """The shared environment a personal overlay at `root` sits on (None when it is none)."""
    try:
        text = Layout(root).overlay_of.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    base = Path(text)
    return base if base.is_absolute() and Layout(base).install_record.is_file() else None


def machine_facts(ctx: Context) -> dict[str, Any]:
    """Host, OS, Python, variant and lock: the ``machine`` object of the JSON report."""
    return {
        "host": socket.gethostname(),
        "os": platform.system(),
        "os_release": platform.release(),
        "platform": platform.platform(),
        "wsl": is_wsl(),
        "architecture": platform.machine(),
        "conda_platform": current_platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "prefix": sys.prefix,
        **ctx.to_dict(),
    }


def install_command(*specs: str, reinstall: bool = False) -> str:
    """The command that installs ``specs`` into this environment (through uv where it has no
    pip); ``reinstall``: even when that version is installed already (damaged files)."""
    q = '"' if platform.system() == "Windows" else "'"  # cmd/PowerShell vs POSIX shells
    args = " ".join(f"{q}{s}{q}" for s in specs)
    if importlib.util.find_spec("pip") is None and shutil.which("uv"):
        again = "--reinstall --no-deps " if reinstall else ""
        return f"uv pip install {again}--python {this_python()} {args}"
    again = "--force-reinstall --no-deps " if reinstall else ""
    return f"{this_python()} -m pip install {again}{args}"


def uninstall_command(*names: str) -> str:
    """The command that removes the distributions ``names`` from this environment."""
    if importlib.util.find_spec("pip") is None and shutil.which("uv"):
        return f"uv pip uninstall --python {this_python()} {' '.join(names)}"
    return f"{this_python()} -m pip uninstall -y {' '.join(names)}"


def this_python() -> str:
    """``sys.executable``, quoted when it holds a space."""
    exe = sys.executable
    return f'"{exe}"' if " " in exe else exe
