"""Resolve a variant's pip part once with uv and write it twice: a hashed, universal
requirements.txt and the same resolution as PEP 751 pylock.toml (every wheel's URL and sha256).

How: a throw-away uv project whose dependencies are the pip part, with
``requires-python = ">=3.11, <3.14"``, ``environments`` = the variant's platforms and
``required-environments`` = the same (uv then refuses a resolution lacking a wheel for any of
them), ``no-build`` (metadata only from wheels) and a fixed ``--exclude-newer`` (re-runs
reproduce). ``uv lock`` resolves; ``uv export`` renders both files from that one lock, so they
cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from envs.contract import piplock
from envs.contract.errors import LockError
from envs.contract.facts import PYTHONS
from envs.contract.lockheader import (
    KEY_EXCLUDE_NEWER,
    KEY_INPUTS,
    KEY_PLATFORMS,
    KEY_PYTHONS,
    KEY_RESOLVER,
)
from envs.contract.piplock import PinnedRequirement
from envs.contract.platforms import UV_VERSION  # the `lock` group pins the same
from envs.lock.inputs_hash import pip_inputs_hash, read_lock_header, render_header
from envs.lock.spec import EnvSpec

__all__ = [
    "PipLocks",
    "default_exclude_newer",
    "parse_exclude_newer",
    "parse_requirements",
    "read_requirements",
    "resolve",
    "uv_bin",
    "uv_environment",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipLocks:
    """The two renderings of one resolution, ready to write."""

    requirements_txt: str
    pylock_toml: str


def uv_bin() -> str:
    """The uv executable of the `lock` dependency group, else the one on PATH."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if not found:
            raise LockError("uv is not installed: run `uv sync --group lock` (or "
                            f"`pip install uv=={UV_VERSION}`), then retry") from None
        return found


def parse_exclude_newer(value: str) -> str:
    """Normalise a date or timestamp to uv's RFC 3339 UTC form, e.g. 2026-11-20T00:00:00Z."""
    text = value.strip()
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise LockError(f"--exclude-newer {value!r} is not a date: write e.g. 2026-11-20 "
                        "or 2026-11-20T12:00:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_exclude_newer(existing: Path) -> str:
    """Re-use the date recorded in an existing lock (reproducible re-runs), else now."""
    if existing.is_file():
        recorded = read_lock_header(existing).get(KEY_EXCLUDE_NEWER)
        if recorded:
            return parse_exclude_newer(recorded)
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _project(spec: EnvSpec) -> str:
    """pyproject.toml of the throw-away project that uv resolves."""
    lowest, highest = PYTHONS[0], PYTHONS[-1]
    major, minor = highest.split(".")
    environments = [t.uv_environment() for t in spec.targets]
    # json.dumps of str lists is valid TOML arrays of basic strings.
    return "\n".join([
        "[project]",
        f'name = "kerasup-{spec.variant}"',
        'version = "0"',
        f'requires-python = ">={lowest}, <{major}.{int(minor) + 1}"',
        f"dependencies = {json.dumps(list(spec.pip))}",
        "",
        "[tool.uv]",
        "package = false",
        "no-build = true",
        f"environments = {json.dumps(environments)}",
        f"required-environments = {json.dumps(environments)}",
        "",
    ])


def _one_line(stderr: str) -> str:
    """uv's multi-line error report folded into one line."""
    lines = [ln.strip(" ╰─▶│") for ln in stderr.splitlines()]
    text = " ".join(ln for ln in lines if ln and not ln.startswith(("hint:", "warning:")))
    return re.sub(r"\s+", " ", text)[:600]


# What decides where uv asks and whom it trusts: a replay or a recording run replaces all of it.
_NETWORK_VARIABLES = re.compile(r"^(UV_.*|(HTTPS?|ALL|NO)_PROXY|SSL_CERT_(FILE|DIR))$", re.I)


def uv_environment(network: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment uv runs in: this process's, or, when `network` is given, this process's
    without any uv, proxy or CA variable, plus `network` (e.g. a replay proxy and its CA)."""
    env = dict(os.environ)
    if network is not None:
        env = {k: v for k, v in env.items() if not _NETWORK_VARIABLES.match(k)}
        env.update(network)
    return {**env, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}


def _run_uv(args: list[str], cwd: Path, what: str, env: Mapping[str, str]) -> None:
    proc = subprocess.run([uv_bin(), *args], cwd=cwd, env=dict(env), text=True,
                          capture_output=True, check=False)
    if proc.returncode != 0:
        raise LockError(f"uv could not {what}: {_one_line(proc.stderr)}")
    log.debug("uv %s: ok", " ".join(args))


def resolve(spec: EnvSpec, exclude_newer: str, offline: bool = False,
            network: Mapping[str, str] | None = None) -> PipLocks:
    """Resolve `spec`'s pip part for every target Python and platform (needs PyPI unless
    `offline`, which resolves from uv's cache). `network`: see :func:`uv_environment`."""
    env = uv_environment(network)
    if not spec.pip:
        raise LockError(f"{spec.path}: the `- pip:` section is empty; nothing to lock")
    flags = ["--no-config", "--exclude-newer", exclude_newer, *(["--offline"] if offline else [])]
    with tempfile.TemporaryDirectory(prefix=f"kerasup-{spec.variant}-piplock-") as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text(_project(spec), encoding="utf-8")
        _run_uv(["lock", "--quiet", *flags], root, f"resolve the {spec.variant} pip part "
                f"(fix {spec.path.name} or choose another --exclude-newer)", env)
        export = ["export", "--quiet", "--frozen", "--no-config", "--no-emit-project",
                  "--no-header"]
        _run_uv([*export, "--format", "requirements-txt", "-o", "requirements.txt"], root,
                "export requirements.txt", env)
        _run_uv([*export, "--format", "pylock.toml", "-o", "pylock.toml"], root,
                "export pylock.toml", env)
        requirements = (root / "requirements.txt").read_text(encoding="utf-8")
        pylock = (root / "pylock.toml").read_text(encoding="utf-8")
    header = render_header(spec.variant, {
        KEY_INPUTS: pip_inputs_hash(spec),
        KEY_EXCLUDE_NEWER: exclude_newer,
        KEY_PYTHONS: " ".join(PYTHONS),
        KEY_PLATFORMS: " ".join(spec.platforms),
        KEY_RESOLVER: f"uv {_uv_version()} (uv lock + uv export, universal)",
    })
    req_header = header + (
        "# Install: pip install --require-hashes -r requirements.txt  |  uv pip sync "
        "requirements.txt\n"
        "# Wheels only: a lab laptop never builds a package from source.\n"
        "--only-binary :all:\n")
    return PipLocks(req_header + requirements.lstrip("\n"), header + pylock.lstrip("\n"))


def _uv_version() -> str:
    out = subprocess.run([uv_bin(), "--version"], capture_output=True, text=True, check=False)
    parts = out.stdout.split()
    return parts[1] if len(parts) > 1 else "unknown"


def read_requirements(path: Path) -> dict[str, list[PinnedRequirement]]:
    """Parse a requirements.txt written by uv export: name -> entries (one per marker fork)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LockError(f"{path} not found: run `nox -s lock`") from None
    return parse_requirements(text, str(path))


def parse_requirements(text: str, origin: str) -> dict[str, list[PinnedRequirement]]:
    """requirements.txt text by name (``origin`` names it in errors), read with the one
    parser setup and verify use too (:mod:`envs.contract.piplock`)."""
    entries: dict[str, list[PinnedRequirement]] = {}
    for entry in piplock.parse_requirements(text, origin):
        entries.setdefault(entry.name, []).append(entry)
    return entries
