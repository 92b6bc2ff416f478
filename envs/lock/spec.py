"""Read and validate a variant's environment.yml (the single source of truth for its locks).

Every problem is reported as one line naming the file and the fix (a LockError).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from packaging.requirements import InvalidRequirement, Requirement

from envs.lock.errors import LockError
from envs.lock.platforms import Target, targets_for

__all__ = ["ENVS_DIR", "EnvSpec", "load_spec", "read_spec"]

ENVS_DIR = Path(__file__).resolve().parent.parent
# A conda match spec as environment.yml writes it: [channel::]name [version [build]].
_CONDA_SPEC = re.compile(r"^(?:[\w.-]+::)?[A-Za-z0-9_][\w.-]*"
                         r"(?:\s*[=<>!~]{0,2}\s*[\w.*+!=<>~,|]+(?:\s+[\w.*+]+)?)?$")


@dataclass(frozen=True)
class EnvSpec:
    """A validated environment.yml of one variant."""

    variant: str
    path: Path
    name: str
    channels: tuple[str, ...]
    platforms: tuple[str, ...]
    conda: tuple[str, ...]
    pip: tuple[str, ...]

    @property
    def targets(self) -> list[Target]:
        """The platforms of this variant as lock targets."""
        return targets_for(self.variant, self.platforms)

    def pip_requirements(self) -> list[Requirement]:
        """The pip part as parsed requirements."""
        return [Requirement(line) for line in self.pip]


def load_spec(variant: str, envs_dir: Path = ENVS_DIR) -> EnvSpec:
    """Read envs/<variant>/environment.yml."""
    return read_spec(envs_dir / variant / "environment.yml", variant)


def _fail(path: Path, problem: str) -> LockError:
    return LockError(f"{path}: {problem}")


def _string_list(path: Path, data: dict[str, object], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _fail(path, f"`{key}:` must be a non-empty list of strings")
    return tuple(value)


def read_spec(path: Path, variant: str) -> EnvSpec:
    """Parse and validate one environment.yml for `variant`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LockError(f"{path} not found: every variant needs an environment.yml") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise _fail(path, f"not valid YAML{where} ({problem}); fix the syntax there") from None
    if not isinstance(data, dict):
        raise _fail(path, "must be a YAML mapping with name, channels, platforms, dependencies")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise _fail(path, "`name:` is missing; give the environment a name")
    channels = _string_list(path, data, "channels")
    extra = [c for c in channels if c not in ("conda-forge", "nodefaults")]
    if extra or "conda-forge" not in channels:
        raise _fail(path, f"`channels:` must be [conda-forge], not {channels}: the locks are "
                          "solved against conda-forge only (take other packages from PyPI)")
    platforms = _string_list(path, data, "platforms")
    if len(set(platforms)) != len(platforms):
        raise _fail(path, "`platforms:` lists a platform twice; remove the duplicate")
    targets_for(variant, platforms)  # refuses osx-64, Windows GPU, unknown platforms

    conda, pip = _dependencies(path, data.get("dependencies"))
    conda_names = {re.split(r"[\s=<>!~]", spec, maxsplit=1)[0].lower() for spec in conda}
    if "python" not in conda_names:
        raise _fail(path, "the conda part must pin python (e.g. `- python=3.12`)")
    if pip and "pip" not in conda_names:
        raise _fail(path, "a `- pip:` section needs `- pip` among the conda dependencies")
    return EnvSpec(variant, path, name, channels, platforms, tuple(conda), tuple(pip or ()))


def _dependencies(path: Path, deps: object) -> tuple[list[str], list[str] | None]:
    """The conda specs and the `- pip:` requirements of `dependencies:`."""
    if not isinstance(deps, list) or not deps:
        raise _fail(path, "`dependencies:` must be a non-empty list")
    conda: list[str] = []
    pip: list[str] | None = None
    for item in deps:
        if isinstance(item, str):
            if not _CONDA_SPEC.match(item.strip()):
                raise _fail(path, f"conda spec {item!r} is not a valid match spec "
                                  "(write e.g. `numpy>=1.26` or `python=3.12`)")
            conda.append(item.strip())
        elif isinstance(item, dict) and set(item) == {"pip"} and pip is None:
            pip = _pip_part(path, item["pip"])
        else:
            raise _fail(path, f"unexpected dependency entry {item!r}: list conda specs as "
                              "strings and pip requirements under one `- pip:` entry")
    return conda, pip


def _pip_part(path: Path, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(path, "`- pip:` must hold a list of requirement strings")
    seen: set[str] = set()
    lines: list[str] = []
    for line in value:
        text = line.strip()
        if text.startswith("-"):
            raise _fail(path, f"pip option {text!r} is not supported; list only requirements")
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            detail = str(exc).splitlines()[0]
            raise _fail(path, f"pip requirement {text!r} is not valid PEP 508 ({detail}); "
                              "fix its syntax") from None
        if req.url:
            raise _fail(path, f"pip requirement {text!r} is a direct URL; locks take "
                              "packages from PyPI only, so name a version instead")
        key = f"{req.name.lower()};{req.marker}"
        if key in seen:
            raise _fail(path, f"pip requirement {req.name!r} is listed twice; merge the lines")
        seen.add(key)
        lines.append(text)
    return lines
