"""Filters that read the role's variables as an admin writes them in any inventory: an INI
``[group:vars]`` value is always a string, so lists and mappings may arrive as text.

``kerasup_list``: a list as is; ``"[a, b]"`` as YAML/JSON; otherwise split on commas (or, with
``"args"``, shell-like on whitespace). ``kerasup_dict``: a mapping as is, a JSON/YAML text, or
``"KEY=value KEY2=value"``. ``kerasup_installer_args``: the extra installer flags, refused when
they are not flags or take over a flag the role sets itself.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import yaml

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # imported by the unit tests without Ansible
    AnsibleFilterError = ValueError  # type: ignore[assignment,misc]

# Flags the role derives from its own variables (set those variables instead).
ROLE_FLAGS = {"--variant": "kerasup_variant", "--prefix": "kerasup_prefix",
              "--python": "kerasup_python", "--python-exe": "kerasup_installer_python",
              "--offline": "kerasup_offline", "--check": "ansible-playbook --check",
              "--plan-json": "(the role's plan)", "--no-verify": "(the role runs verify)",
              "--no-kernel": "kerasup_kernel", "--from-bundle": "kerasup_bundle_file",
              "--expect-sha256": "kerasup_bundle_sha256"}
_FLAG = re.compile(r"^--[a-z][a-z0-9-]*(=.*)?$")


def _text(value: str, what: str) -> Any:
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise AnsibleFilterError(f"{what}: {value!r} is not valid YAML/JSON ({exc})") from None


def kerasup_list(value: Any, how: str = "commas", what: str = "a list variable") -> list[str]:
    """``value`` as a list of strings (see the module docstring)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            value = _text(stripped, what)
        elif how == "args":
            value = shlex.split(stripped)
        else:
            value = [part.strip() for part in stripped.split(",") if part.strip()]
    if not isinstance(value, list | tuple) or not all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
        raise AnsibleFilterError(f"{what} must be a list of strings, got {value!r}")
    return [str(v) for v in value]


def kerasup_dict(value: Any, what: str = "kerasup_environment") -> dict[str, str]:
    """``value`` as a mapping of strings (see the module docstring)."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("{"):
            value = _text(stripped, what)
        else:
            pairs = [p.partition("=") for p in shlex.split(stripped)]
            if not all(sep and key for key, sep, _ in pairs):
                raise AnsibleFilterError(f"{what}: write KEY=value pairs or a mapping, got "
                                         f"{value!r}")
            value = {key: val for key, _, val in pairs}
    if not isinstance(value, dict):
        raise AnsibleFilterError(f"{what} must be a mapping, got {value!r}")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def kerasup_installer_args(value: Any) -> list[str]:
    """The extra installer flags, validated."""
    args = kerasup_list(value, "args", "kerasup_installer_extra_args")
    for arg in [value] if isinstance(value, str) else args:
        if any(c in arg for c in "\0\n\r"):
            raise AnsibleFilterError(f"kerasup_installer_extra_args: {arg!r} holds a control "
                                     "character")
    flags = [a for a in args if a.startswith("-")]
    for flag in flags:
        name = flag.split("=", 1)[0]
        if name in ROLE_FLAGS:
            raise AnsibleFilterError(f"kerasup_installer_extra_args: {name} is set by the role; "
                                     f"set {ROLE_FLAGS[name]} instead")
        if not _FLAG.match(flag):
            raise AnsibleFilterError(f"kerasup_installer_extra_args: {flag!r} is not a long "
                                     "installer flag (--name or --name=value; see "
                                     "setup/bootstrap.py --help)")
    if args and not args[0].startswith("--"):
        raise AnsibleFilterError(f"kerasup_installer_extra_args: {args[0]!r} is a value "
                                 "without a flag before it")
    return args


class FilterModule:
    """Ansible's entry point for the filters of this file."""

    def filters(self) -> dict[str, Any]:
        return {"kerasup_list": kerasup_list, "kerasup_dict": kerasup_dict,
                "kerasup_installer_args": kerasup_installer_args}
