"""The environments kerasup makes: variants, supported Pythons and the default Python.

``pyproject.toml``'s ``requires-python``, the locks' ``# kerasup-pythons:`` headers and the
nox sessions all derive from (and are tested against) these tuples.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEFAULT_PYTHON",
    "DEFAULT_VARIANT",
    "GPU_VARIANT",
    "PYTHONS",
    "REPOSITORY_URL",
    "VARIANTS",
    "Variant",
    "variant",
]

# The canonical place to get kerasup from: the README's clone command and the Colab
# notebook's default both name this URL (a test holds them to it).
REPOSITORY_URL = "https://github.com/kerasup/kerasup.git"

# The CPython minor versions every pip lock covers (uv's universal resolution spans them).
PYTHONS: tuple[str, ...] = ("3.11", "3.12", "3.13")
# The Python of envs/*/environment.yml and of environments made without --python.
DEFAULT_PYTHON = "3.12"


@dataclass(frozen=True)
class Variant:
    """One environment variant: its name and what installing it costs."""

    name: str
    summary: str
    min_free_gb: float  # disk to ask for before installing: the environment plus uv's cache
    download_mb: int  # what a first install downloads (measured, rounded up)
    installed_gb: float  # the environment's size on disk once installed
    needs_nvidia_driver: bool = False


_VARIANTS: tuple[Variant, ...] = (
    # linux-64, Python 3.12: downloads are the sums of the locks' wheel sizes; the CPU
    # install was measured with du (1.8 GB); the GPU one is the 6.0 GB measured before
    # JupyterLab was added, plus the 0.1 GB it adds to the CPU environment.
    Variant("cpu", "TensorFlow on the CPU (every supported platform)", 3.0, 450, 1.8),
    Variant("gpu", "TensorFlow with CUDA and cuDNN wheels (Linux x86_64, WSL2)", 9.0, 3550, 6.1,
            needs_nvidia_driver=True),
)
VARIANTS: tuple[str, ...] = tuple(v.name for v in _VARIANTS)
DEFAULT_VARIANT = "cpu"
# The variant that needs the NVIDIA driver (CUDA wheels): what a GPU machine is given.
GPU_VARIANT = next(v.name for v in _VARIANTS if v.needs_nvidia_driver)


def variant(name: str) -> Variant:
    """The variant called ``name``; KeyError for an unknown one (callers phrase the error)."""
    for v in _VARIANTS:
        if v.name == name:
            return v
    raise KeyError(name)
