"""The report's ``versions`` block: what is installed and running, read from the environment.

Never from the lock: the point is to see what is really there. Cheap by design, so verify
keeps its speed: :func:`installed` reads distribution metadata only (no import, usable for the
header before TensorFlow loads); :func:`collect` adds what only the running libraries know
(TensorFlow's git version and the CUDA/cuDNN it was built for, Keras' backend) from modules
already imported by the checks, and Graphviz and the NVIDIA driver from the checks' own
findings (``dot -V`` runs here only when the model_graph check did not run it).
"""

from __future__ import annotations

import importlib.metadata
import platform
import shutil
import sys
from collections.abc import Iterable
from typing import Any

from verify.result import CheckResult

__all__ = ["collect", "header_text", "installed"]

# TensorFlow's distributions, in the order looked for (the CPU wheel first, as the CPU lock).
TENSORFLOW_DISTS = ("tensorflow-cpu", "tensorflow", "tensorflow-macos", "tf-nightly")


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def installed() -> dict[str, Any]:
    """Python and the installed TensorFlow (which distribution), Keras, numpy and pydot."""
    tf_dist = next((d for d in TENSORFLOW_DISTS if _version(d)), None)
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "tensorflow": _version(tf_dist) if tf_dist else None,
        "tensorflow_distribution": tf_dist,
        "keras": _version("keras"),
        "numpy": _version("numpy"),
        "pydot": _version("pydot"),
    }


def _tensorflow_build() -> dict[str, Any]:
    """Git version, compiler and CUDA/cuDNN build of an already imported TensorFlow."""
    tf = sys.modules.get("tensorflow")
    if tf is None or not hasattr(tf, "version"):
        return {}
    out: dict[str, Any] = {"tensorflow_git_version": getattr(tf.version, "GIT_VERSION", None),
                           "tensorflow_compiler": getattr(tf.version, "COMPILER_VERSION", None)}
    try:
        build = dict(tf.sysconfig.get_build_info())
    except Exception:  # an odd build without the info: the rest of the block still stands
        build = {}
    out["tensorflow_cuda_build"] = bool(build.get("is_cuda_build"))
    out["tensorflow_built_cuda"] = build.get("cuda_version")
    out["tensorflow_built_cudnn"] = build.get("cudnn_version")
    return out


def _keras_backend() -> str | None:
    keras = sys.modules.get("keras")
    try:
        return str(keras.backend.backend()) if keras is not None else None
    except Exception:  # a half-imported Keras: the block says unknown rather than crash
        return None


def _details(checks: Iterable[CheckResult], name: str) -> dict[str, Any]:
    return next((c.details for c in checks if c.name == name), {})


def _graphviz(checks: list[CheckResult]) -> str | None:
    said = _details(checks, "model_graph").get("dot_version")
    if isinstance(said, str):
        return said
    dot = shutil.which("dot")
    if dot is None:
        return None
    from verify.graphviz import DotHung, dot_version

    try:
        return dot_version(dot, timeout=10)
    except DotHung:
        return "unknown (dot -V did not answer)"


def _driver(checks: list[CheckResult]) -> str | None:
    driver = _details(checks, "gpu").get("driver")
    return str(driver["driver_version"]) if isinstance(driver, dict) and \
        driver.get("driver_version") else None


def collect(checks: list[CheckResult]) -> dict[str, Any]:
    """The whole block, once the checks have run."""
    return {**installed(), **_tensorflow_build(), "keras_backend": _keras_backend(),
            "graphviz": _graphviz(checks), "nvidia_driver": _driver(checks)}


def header_text(versions: dict[str, Any], sep: str) -> str:
    """``versions: TensorFlow 2.21.0 (tensorflow-cpu) · Keras 3.15.1 · numpy … · pydot …``."""
    tf = versions.get("tensorflow")
    parts = [f"TensorFlow {tf} ({versions.get('tensorflow_distribution')})" if tf
             else "TensorFlow not installed",
             f"Keras {versions.get('keras') or 'not installed'}"
             + (f" (backend {versions['keras_backend']})" if versions.get("keras_backend")
                else ""),
             f"numpy {versions.get('numpy') or 'not installed'}",
             f"pydot {versions.get('pydot') or 'not installed'}"]
    if versions.get("graphviz"):
        parts.append(str(versions["graphviz"]).replace("dot - graphviz version", "Graphviz"))
    if versions.get("nvidia_driver"):
        parts.append(f"NVIDIA driver {versions['nvidia_driver']}")
    return "versions: " + f" {sep} ".join(parts)
