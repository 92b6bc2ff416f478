"""keras.json: where Keras reads it, what it holds by default, and how kerasup rewrites it.

The location follows ``keras/src/backend/config.py`` exactly: ``$KERAS_HOME/keras.json`` when
``KERAS_HOME`` is set (even empty: then it is ``keras.json`` in the current directory),
else ``~/.keras/keras.json``, or ``/tmp/.keras/keras.json`` when the home directory is not
writable.

Rewriting (:func:`update`) never destroys the user's file and never writes through a link:

- a regular file is backed up first (:func:`envs.contract.fileio.backup_exclusive`), then
  replaced atomically with the user's other keys kept and its mode kept;
- something that is not a regular file (a directory, a FIFO) is moved aside to
  ``keras.json.bak-<time>``, then a good file is written;
- a symbolic link is left alone: :func:`update` raises :class:`KerasJsonLinkError`, whose fix
  names the link's target to edit (kerasup writes only what it created; a dotfiles
  repository's link stays a link).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envs.contract.errors import CannotProceed
from envs.contract.fileio import backup_exclusive, move_aside, write_atomic

__all__ = [
    "DEFAULTS",
    "KerasJson",
    "KerasJsonLinkError",
    "Update",
    "keras_home",
    "location",
    "read",
    "repaired",
    "update",
]

DEFAULTS: dict[str, Any] = {
    "floatx": "float32", "epsilon": 1e-07, "backend": "tensorflow",
    "image_data_format": "channels_last",
}
FLOATX = ("float16", "float32", "float64")
IMAGE_DATA_FORMATS = ("channels_last", "channels_first")
_MAX_BYTES = 1 << 20  # a keras.json is a few hundred bytes; never read a huge file whole


def _home(environ: Mapping[str, str]) -> Path:
    """``os.path.expanduser("~")`` as it would be under ``environ``."""
    if os.name == "nt":
        if environ.get("USERPROFILE"):
            return Path(environ["USERPROFILE"])
        if environ.get("HOMEPATH"):
            return Path(environ.get("HOMEDRIVE", "") + environ["HOMEPATH"])
    elif environ.get("HOME"):
        return Path(environ["HOME"])
    return Path.home()


def keras_home(environ: Mapping[str, str] | None = None) -> Path:
    """Keras' own folder under ``environ`` (default: this process's): ``$KERAS_HOME``, else
    ``~/.keras``, or ``/tmp/.keras`` when the home directory is not writable. keras.json and
    the dataset cache (``datasets/``) live there; this is the one place the rule is written."""
    environ = os.environ if environ is None else environ
    if "KERAS_HOME" in environ:
        return Path(environ["KERAS_HOME"]).expanduser()
    home = _home(environ)
    base = home if os.access(home, os.W_OK) else Path("/tmp")
    return base / ".keras"


def location(environ: Mapping[str, str] | None = None) -> Path:
    """Where Keras reads keras.json under ``environ`` (default: this process's)."""
    return keras_home(environ) / "keras.json"


@dataclass(frozen=True)
class KerasJson:
    """What is at the keras.json path.

    ``kind``: "missing", "file" (a regular file), "link" (a symbolic link, to anything), or
    "other" (a directory, FIFO, socket...). For a file (or a link to one): the text, the
    parsed ``data``, and ``error`` when it cannot be used as Keras would use it.
    """

    path: Path
    kind: str
    text: str | None = None
    data: Any = None
    error: str | None = None
    link_target: Path | None = None

    @property
    def settings(self) -> dict[str, Any]:
        """The parsed object, or {} when it is not one."""
        return dict(self.data) if isinstance(self.data, dict) else {}


def _kind(path: Path) -> str:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "other"
    if stat.S_ISLNK(mode):
        return "link"
    return "file" if stat.S_ISREG(mode) else "other"


def _parse(path: Path) -> tuple[str | None, Any, str | None]:
    try:
        with path.open("rb") as fh:
            raw = fh.read(_MAX_BYTES + 1)
    except OSError as exc:
        return None, None, f"unreadable ({exc.strerror or exc})"
    if len(raw) > _MAX_BYTES:
        return None, None, f"larger than {_MAX_BYTES // 1024} KiB, not a Keras config"
    if raw.startswith(b"\xef\xbb\xbf"):
        text = raw[3:].decode("utf-8", errors="replace")
        data = _loads(text)[0]
        return text, data, "starts with a UTF-8 byte-order mark, which Keras cannot read"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, None, f"not UTF-8 text ({exc.reason})"
    data, error = _loads(text)
    return text, data, error


def _loads(text: str) -> tuple[Any, str | None]:
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
    except RecursionError:
        return None, "nested too deeply to be a Keras config"


def read(path: Path) -> KerasJson:
    """Inspect the keras.json at ``path`` without following a link for anything but reading."""
    kind = _kind(path)
    if kind == "missing":
        return KerasJson(path, kind)
    if kind == "other":
        return KerasJson(path, kind, error="not a regular file (a directory or device); Keras "
                                           "fails to import")
    target = Path(os.path.realpath(path)) if kind == "link" else None
    if target is not None and not target.is_file():
        return KerasJson(path, kind, error=f"a symbolic link to {target}, which is not a "
                                           "regular file", link_target=target)
    text, data, error = _parse(path)
    if error is None and not isinstance(data, dict):
        error = f"holds a JSON {type(data).__name__}, not an object"
    return KerasJson(path, kind, text, data, error, target)


def repaired(current: KerasJson, backend: str) -> dict[str, Any]:
    """The settings to write: the user's other keys kept, invalid standard ones replaced."""
    data = {**DEFAULTS, **current.settings}
    if data.get("floatx") not in FLOATX:
        data["floatx"] = DEFAULTS["floatx"]
    eps = data.get("epsilon")
    if not isinstance(eps, float) or not 0 < eps < 1:
        data["epsilon"] = DEFAULTS["epsilon"]
    if data.get("image_data_format") not in IMAGE_DATA_FORMATS:
        data["image_data_format"] = DEFAULTS["image_data_format"]
    data["backend"] = backend
    return data


class KerasJsonLinkError(CannotProceed):
    """keras.json is a symbolic link whose target kerasup will not write through."""


@dataclass(frozen=True)
class Update:
    """What :func:`update` did (or would do): "unchanged", "created", "updated" or
    "replaced" (a non-file moved aside), and where the old one went."""

    action: str
    path: Path
    backup: Path | None = None


def _needs_change(current: KerasJson, backend: str) -> bool:
    return current.error is not None or repaired(current, backend) != current.settings


def plan(path: Path, backend: str = "tensorflow") -> Update:
    """What :func:`update` would do, read-only (no write path is reached): the planner's
    call. KerasJsonLinkError for a link that needs a change."""
    current = read(path)
    return Update(_action(current, path, backend), path)


def _action(current: KerasJson, path: Path, backend: str) -> str:
    if current.kind != "missing" and not _needs_change(current, backend):
        return "unchanged"
    if current.kind == "link":
        raise KerasJsonLinkError(
            f"{path} is a symbolic link to {current.link_target}; kerasup does not write "
            "through links it did not create",
            fix=f'edit {current.link_target} to hold "backend": "{backend}", or replace the '
                "link with a file and run again")
    return {"missing": "created", "file": "updated", "other": "replaced"}[current.kind]


def update(path: Path, backend: str = "tensorflow", *, dry_run: bool = False,
           now: dt.datetime | None = None) -> Update:
    """Make keras.json at ``path`` valid and select ``backend`` (see the module docstring).

    Raises :class:`KerasJsonLinkError` for a link that needs a change, and OSError when the
    file cannot be written (the old one is then untouched).
    """
    current = read(path)
    action = _action(current, path, backend)
    if action == "unchanged" or dry_run:
        return Update(action, path)
    backup: Path | None = None
    if current.kind == "file":
        backup = backup_exclusive(path, now)
    elif current.kind == "other":
        backup = move_aside(path, "bak", now)
    write_atomic(path, json.dumps(repaired(current, backend), indent=4) + "\n")
    return Update(action, path, backup)
