"""``kerasup_plan``: the installer's machine-readable plan, from a registered command result.

The contract (setup/installer): ``bootstrap.py <flags> --check --plan-json`` prints ONE JSON
object on stdout, at least ``{"up_to_date": bool, "actions": [{"kind": str,
"description": str}, ...]}``, and exits 0 when the checks pass (2 usage, 3 cannot proceed).
The role's changed/unchanged comes from ``up_to_date`` and nothing else.

TODO(merge setup/installer): ``legacy=True`` is a temporary shim for today's bootstrap.py,
which has no ``--plan-json``: it reads the ``kerasup: would ...`` lines of ``--dry-run
--no-verify`` instead (no such line: up to date). Delete it with ``kerasup__plan_json``.
"""

from __future__ import annotations

import json
from typing import Any

try:  # inside Ansible: its own error type, shown as a task failure with our message
    from ansible.errors import AnsibleFilterError
except ImportError:  # imported by the unit tests without Ansible
    AnsibleFilterError = ValueError  # type: ignore[assignment,misc]

_WOULD = "kerasup: would "


def _from_json(stdout: str) -> dict[str, Any]:
    try:
        plan = json.loads(stdout)
    except ValueError as exc:
        raise AnsibleFilterError(
            f"the installer's --plan-json output is not JSON ({exc}); is the toolkit on the "
            "host older than the role? (fix: update kerasup_toolkit_dir / kerasup_source)"
        ) from exc
    if not isinstance(plan, dict) or not isinstance(plan.get("up_to_date"), bool):
        raise AnsibleFilterError("the installer's plan lacks a boolean 'up_to_date'")
    actions = plan.get("actions", [])
    if not isinstance(actions, list) or not all(
        isinstance(a, dict) and isinstance(a.get("description"), str) for a in actions
    ):
        raise AnsibleFilterError("the installer's plan 'actions' is not a list of "
                                 "{kind, description} objects")
    return {**plan, "actions": [{"kind": str(a.get("kind", "")),
                                 "description": a["description"]} for a in actions]}


def _from_dry_run(stdout: str) -> dict[str, Any]:
    # TODO(merge setup/installer): temporary shim, see the module docstring.
    actions = [{"kind": "legacy", "description": line[len(_WOULD):].strip()}
               for line in stdout.splitlines() if line.startswith(_WOULD)]
    return {"up_to_date": not actions, "actions": actions}


def kerasup_plan(result: dict[str, Any], plan_json: bool = True) -> dict[str, Any]:
    """``{"up_to_date": bool, "actions": [...]}`` from the plan task's registered result."""
    if not isinstance(result, dict) or "stdout" not in result:
        raise AnsibleFilterError("kerasup_plan expects a registered command result")
    stdout = str(result["stdout"])
    return _from_json(stdout) if plan_json else _from_dry_run(stdout)


class FilterModule:
    """Ansible's entry point for the filters of this file."""

    def filters(self) -> dict[str, Any]:
        return {"kerasup_plan": kerasup_plan}
