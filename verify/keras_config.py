"""keras.json: find it the way Keras does, validate it strictly, and repair it on request.

Pure logic plus one writer (:func:`write_fixed`); importable without Keras or TensorFlow.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULTS",
    "Finding",
    "KerasConfig",
    "config_path",
    "evaluate",
    "installed_backends",
    "read_config",
    "unset_env_command",
    "write_fixed",
]

DEFAULTS: dict[str, Any] = {
    "floatx": "float32", "epsilon": 1e-07, "backend": "tensorflow",
    "image_data_format": "channels_last",
}
FLOATX = ("float16", "float32", "float64")
IMAGE_DATA_FORMATS = ("channels_last", "channels_first")
KERAS3_BACKENDS = ("tensorflow", "jax", "torch", "numpy", "openvino")
LEGACY_BACKENDS = ("theano", "cntk", "plaidml.keras.backend", "mxnet")
_BACKEND_MODULE = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch",
                   "numpy": "numpy", "openvino": "openvino"}


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$KERAS_HOME/keras.json``, else ``~/.keras/keras.json`` (``/tmp/.keras`` if ``~`` is
    not writable), exactly as ``keras/src/backend/config.py`` decides."""
    environ = os.environ if environ is None else environ
    if "KERAS_HOME" in environ:
        base = Path(environ["KERAS_HOME"])
    else:
        home = Path("~").expanduser()
        base = (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"
    return (base / "keras.json").expanduser()


@dataclass
class KerasConfig:
    """What was read: the path, whether it exists, the raw text and the parsed object."""

    path: Path
    exists: bool
    text: str | None = None
    data: Any = None
    parse_error: str | None = None


def read_config(path: Path) -> KerasConfig:
    if not path.is_file():
        return KerasConfig(path, exists=path.exists())
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return KerasConfig(path, True, None, None, f"not UTF-8 text ({exc.reason})")
    except OSError as exc:
        return KerasConfig(path, True, None, None, f"unreadable ({exc.strerror or exc})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return KerasConfig(path, True, text, None,
                           f"line {exc.lineno} column {exc.colno}: {exc.msg}")
    return KerasConfig(path, True, text, data)


def installed_backends() -> set[str]:
    """Keras 3 backends whose library is importable here (found, not imported)."""
    return {b for b, mod in _BACKEND_MODULE.items() if importlib.util.find_spec(mod)}


def unset_env_command(var: str, system: str | None = None) -> str:
    system = system or platform.system()
    if system == "Windows":
        return (f"PowerShell: Remove-Item Env:{var}   (cmd: set {var}=; and remove it from "
                "System Properties > Environment Variables if it is set there)")
    return f"unset {var}   (and remove it from ~/.bashrc, ~/.zshrc or ~/.profile)"


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


def evaluate(cfg: KerasConfig, environ: Mapping[str, str], expected: str = "tensorflow",
             installed: set[str] | None = None, system: str | None = None) -> Finding:
    """Validate the file and KERAS_BACKEND; collect every problem with its exact fix."""
    installed = installed_backends() if installed is None else installed
    file_fix = f"python -m verify --only keras_json --fix   (rewrites {cfg.path}, backup kept)"
    data: dict[str, Any] = cfg.data if isinstance(cfg.data, dict) else {}
    problems: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    file_problems = 0
    if cfg.parse_error:
        problems.append((f"{cfg.path} is not valid JSON ({cfg.parse_error}); Keras silently "
                         "ignores it and runs on its defaults", file_fix))
        file_problems += 1
    elif cfg.exists and cfg.data is not None and not isinstance(cfg.data, dict):
        problems.append((f"{cfg.path} holds a JSON {type(cfg.data).__name__}, not an object; "
                         "importing keras fails", file_fix))
        file_problems += 1
    floatx = data.get("floatx", DEFAULTS["floatx"])
    if floatx not in FLOATX:
        problems.append((f"{cfg.path}: floatx {floatx!r} is invalid (one of "
                         f"{', '.join(FLOATX)}); importing keras fails", file_fix))
        file_problems += 1
    epsilon = data.get("epsilon", DEFAULTS["epsilon"])
    if not isinstance(epsilon, float) or not 0 < epsilon < 1:
        problems.append((f"{cfg.path}: epsilon {epsilon!r} is invalid (a small positive float "
                         "such as 1e-07; Keras rejects integers)", file_fix))
        file_problems += 1
    idf = data.get("image_data_format", DEFAULTS["image_data_format"])
    if idf not in IMAGE_DATA_FORMATS:
        problems.append((f"{cfg.path}: image_data_format {idf!r} is invalid (one of "
                         f"{', '.join(IMAGE_DATA_FORMATS)}); importing keras fails", file_fix))
        file_problems += 1

    file_backend = data.get("backend")
    if file_backend is not None and not isinstance(file_backend, str):
        problems.append((f"{cfg.path}: backend {file_backend!r} is not a string", file_fix))
        file_problems += 1
        file_backend = None
    env_backend = environ.get("KERAS_BACKEND") or None  # Keras ignores an empty value
    if env_backend:
        backend, source = env_backend, "KERAS_BACKEND environment variable"
    elif file_backend:
        backend, source = file_backend, str(cfg.path)
    else:
        backend, source = DEFAULTS["backend"], "Keras default"
    if file_backend:
        why = _backend_problem(file_backend, str(cfg.path), expected, installed)
        if why and env_backend:
            warnings.append((f"{why} (overridden here by KERAS_BACKEND={env_backend}, but "
                             "every shell without that variable breaks)", file_fix))
        elif why:
            problems.append((why, file_fix))
            file_problems += 1
    if env_backend:
        why = _backend_problem(env_backend, "KERAS_BACKEND", expected, installed)
        if why:
            problems.append((f"{why} (it overrides keras.json)",
                             unset_env_command("KERAS_BACKEND", system)))
    settings = {"floatx": floatx, "epsilon": epsilon, "image_data_format": idf}
    return Finding(backend, source, problems, warnings,
                   fixable=file_problems > 0 or bool(warnings), settings=settings)


def fixed_config(cfg: KerasConfig, expected: str = "tensorflow") -> dict[str, Any]:
    """The repaired settings: the user's other keys kept, every invalid one replaced."""
    data = dict(cfg.data) if isinstance(cfg.data, dict) else {}
    if data.get("floatx") not in FLOATX:
        data["floatx"] = DEFAULTS["floatx"]
    eps = data.get("epsilon")
    if not isinstance(eps, float) or not 0 < eps < 1:
        data["epsilon"] = DEFAULTS["epsilon"]
    if data.get("image_data_format") not in IMAGE_DATA_FORMATS:
        data["image_data_format"] = DEFAULTS["image_data_format"]
    data["backend"] = expected
    return data


def write_fixed(cfg: KerasConfig, expected: str = "tensorflow",
                now: dt.datetime | None = None) -> Path | None:
    """Back up the file (timestamped copy beside it), then atomically write the repair.

    Returns the backup path (None when there was no file to back up).
    """
    now = now or dt.datetime.now(dt.UTC)
    path = cfg.path
    path.parent.mkdir(parents=True, exist_ok=True)
    backup: Path | None = None
    if path.exists():
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        backup = path.with_name(f"{path.name}.bak-{stamp}")
        n = 1
        while backup.exists():
            backup = path.with_name(f"{path.name}.bak-{stamp}-{n}")
            n += 1
        shutil.copy2(path, backup)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keras.json.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(fixed_config(cfg, expected), f, indent=4)
            f.write("\n")
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return backup
