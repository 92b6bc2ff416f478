"""keras.json and KERAS_BACKEND: judge the effective settings and give each problem its fix.

Where the file is, what it holds by default, how it is read and how it is rewritten are the
contract's (:mod:`envs.contract.keras_json`: Keras' own location rule, the symlink policy,
backup-then-atomic rewrite). This module only *evaluates*: which backend wins, whether it is
a Keras 3 backend installed here, whether the file's settings are valid, and the exact fix.
Importable without Keras or TensorFlow.
"""

from __future__ import annotations

import importlib.util
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envs.contract.keras_json import (
    DEFAULTS,
    FLOATX,
    IMAGE_DATA_FORMATS,
    KerasJson,
    KerasJsonLinkError,
    location,
    read,
    update,
)

__all__ = [
    "KERAS3_BACKENDS",
    "Finding",
    "evaluate",
    "fix_command",
    "import_failure_fix",
    "installed_backends",
    "unset_env_command",
]

KERAS3_BACKENDS = ("tensorflow", "jax", "torch", "numpy", "openvino")
LEGACY_BACKENDS = ("theano", "cntk", "plaidml.keras.backend", "mxnet")
_BACKEND_MODULE = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch",
                   "numpy": "numpy", "openvino": "openvino"}


def installed_backends() -> set[str]:
    """Keras 3 backends whose library is importable here (found, not imported)."""
    return {b for b, mod in _BACKEND_MODULE.items() if importlib.util.find_spec(mod)}


def unset_env_command(var: str, system: str | None = None) -> str:
    system = system or platform.system()
    if system == "Windows":
        return (f"PowerShell: Remove-Item Env:{var}   (cmd: set {var}=; and remove it from "
                "System Properties > Environment Variables if it is set there)")
    return f"unset {var}   (and remove it from ~/.bashrc, ~/.zshrc or ~/.profile)"


def fix_command(cfg: KerasJson, backend: str = "tensorflow") -> str:
    """What repairs the file itself: ``--fix`` for a file or a non-file (moved aside), the
    contract's one-line advice for a link (kerasup never writes through one), ``chmod`` for
    a file it cannot read."""
    if cfg.kind == "link":  # the contract's own refusal says what to do instead
        try:
            update(cfg.path, backend, dry_run=True)
        except KerasJsonLinkError as exc:
            return exc.fix or exc.message
        return f"edit {cfg.link_target or cfg.path}"
    if cfg.error and cfg.error.startswith("unreadable"):
        return f"chmod u+rw '{cfg.path}'   (then: python -m verify --only keras_json)"
    what = "moves it aside" if cfg.kind == "other" else "rewrites it"
    return f"python -m verify --only keras_json --fix   ({what}: {cfg.path}, backup kept)"


@dataclass
class Finding:
    """The effective settings and every problem with them."""

    backend: str
    backend_source: str
    problems: list[tuple[str, str]] = field(default_factory=list)  # (problem, fix)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    fixable: bool = False  # --fix can repair every file problem
    settings: dict[str, Any] = field(default_factory=dict)


def _backend_problem(backend: str, where: str, expected: str,
                     installed: set[str]) -> str | None:
    if backend.lower() in LEGACY_BACKENDS:
        return (f"{where} backend is {backend!r}, a legacy Keras 2 backend: Keras 3 cannot "
                f"load it and `import tensorflow` itself fails (TensorFlow >= 2.16)")
    if backend not in KERAS3_BACKENDS:
        return (f"{where} backend {backend!r} is not a Keras 3 backend "
                f"({', '.join(KERAS3_BACKENDS)}); importing keras fails")
    if backend not in installed:
        return f"{where} backend {backend!r} is not installed in this environment"
    if backend != expected:
        return (f"{where} backend is {backend!r} but this environment is built for "
                f"{expected!r}")
    return None


def _file_problems(cfg: KerasJson) -> list[str]:
    """What is wrong with the file itself and with its standard settings."""
    if cfg.error:  # the contract's reading: not a file, a dangling link, unreadable, BOM...
        consequence = ("; Keras silently ignores it and runs on its defaults"
                       if cfg.error.startswith(("not valid JSON", "nested")) else
                       "; importing keras fails" if cfg.error.startswith("holds") else "")
        return [f"{cfg.path}: {cfg.error}{consequence}"]
    data = cfg.settings
    out: list[str] = []
    floatx = data.get("floatx", DEFAULTS["floatx"])
    if floatx not in FLOATX:
        out.append(f"{cfg.path}: floatx {floatx!r} is invalid (one of {', '.join(FLOATX)}); "
                   "importing keras fails")
    epsilon = data.get("epsilon", DEFAULTS["epsilon"])
    if not isinstance(epsilon, float) or not 0 < epsilon < 1:
        out.append(f"{cfg.path}: epsilon {epsilon!r} is invalid (a small positive float such "
                   "as 1e-07; Keras rejects integers)")
    idf = data.get("image_data_format", DEFAULTS["image_data_format"])
    if idf not in IMAGE_DATA_FORMATS:
        out.append(f"{cfg.path}: image_data_format {idf!r} is invalid (one of "
                   f"{', '.join(IMAGE_DATA_FORMATS)}); importing keras fails")
    backend = data.get("backend")
    if backend is not None and not isinstance(backend, str):
        out.append(f"{cfg.path}: backend {backend!r} is not a string")
    return out


def evaluate(cfg: KerasJson, environ: Mapping[str, str], expected: str = "tensorflow",
             installed: set[str] | None = None, system: str | None = None) -> Finding:
    """Validate the file and KERAS_BACKEND; collect every problem with its exact fix."""
    installed = installed_backends() if installed is None else installed
    file_fix = fix_command(cfg, expected)
    problems = [(text, file_fix) for text in _file_problems(cfg)]
    warnings: list[tuple[str, str]] = []
    data = cfg.settings
    file_backend = data.get("backend") if isinstance(data.get("backend"), str) else None
    env_backend = environ.get("KERAS_BACKEND") or None  # Keras ignores an empty value
    if env_backend:
        backend, source = env_backend, "KERAS_BACKEND environment variable"
    elif file_backend:
        backend, source = file_backend, str(cfg.path)
    else:
        backend, source = DEFAULTS["backend"], "Keras default"
    why = _backend_problem(file_backend, str(cfg.path), expected, installed) \
        if file_backend else None
    if why and env_backend:
        warnings.append((f"{why} (overridden here by KERAS_BACKEND={env_backend}, but "
                         "every shell without that variable breaks)", file_fix))
    elif why:
        problems.append((why, file_fix))
    file_problems = len(problems)
    if env_backend:
        why = _backend_problem(env_backend, "KERAS_BACKEND", expected, installed)
        if why:
            problems.append((f"{why} (it overrides keras.json)",
                             unset_env_command("KERAS_BACKEND", system)))
    settings = {k: data.get(k, DEFAULTS[k]) for k in ("floatx", "epsilon", "image_data_format")}
    # --fix repairs files and moves non-files aside; it never writes through a link and
    # cannot make an unreadable file readable.
    repairable = cfg.kind in ("file", "other") and not (cfg.error or "").startswith("unreadable")
    return Finding(backend, source, problems, warnings,
                   fixable=repairable and (file_problems > 0 or bool(warnings)),
                   settings=settings)


def import_failure_fix(exc: BaseException, environ: Mapping[str, str] | None = None,
                       expected: str = "tensorflow") -> str:
    """What to do when ``import keras``/``import tensorflow`` fails with ``exc``.

    The fix is worked out here, from keras.json and KERAS_BACKEND as they are now, rather
    than by pointing at the keras_json check: when that check cannot repair the cause (a
    link, an unreadable file) the user would be sent round in a circle.
    """
    environ = os.environ if environ is None else environ
    cfg = read(location(environ))
    finding = evaluate(cfg, environ, expected)
    if finding.problems:
        return finding.problems[0][1]
    return (f"reinstall the environment from its lock: python -m verify --only packages "
            f"names what is missing or broken ({type(exc).__name__} is not caused by "
            f"{Path(cfg.path).name} or KERAS_BACKEND)")
