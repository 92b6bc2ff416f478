"""``kerasup_plan``: the installer's machine-readable plan, from a registered command result.

The contract (setup/installer): ``bootstrap.py <flags> --check --plan-json`` prints ONE JSON
object on stdout, at least ``{"up_to_date": bool, "actions": [{"kind": str,
"description": str}, ...]}``, and exits 0 when the checks pass (2 usage, 3 cannot proceed).
``up_to_date`` speaks for the environment only; the site hook and keras.json repairs are
actions of their own, so the role's changed/unchanged is ``needs_run``: not up to date, or
any action other than ``verify`` (the role runs verify itself, so it also passes
``--no-verify``).
"""

from __future__ import annotations

import json
from typing import Any

try:  # inside Ansible: its own error type, shown as a task failure with our message
    from ansible.errors import AnsibleFilterError
except ImportError:  # imported by the unit tests without Ansible
    AnsibleFilterError = ValueError  # type: ignore[assignment,misc]

# Actions that change nothing the role should report (verify only reads the machine).
READ_ONLY_KINDS = frozenset({"verify"})


def _parse(stdout: str) -> dict[str, Any]:
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
    return plan


def kerasup_plan(result: dict[str, Any]) -> dict[str, Any]:
    """The plan, with ``actions`` as {kind, description} and ``needs_run`` added."""
    if not isinstance(result, dict) or "stdout" not in result:
        raise AnsibleFilterError("kerasup_plan expects a registered command result")
    plan = _parse(str(result["stdout"]))
    actions = [{"kind": str(a.get("kind", "")), "description": a["description"]}
               for a in plan.get("actions", [])]
    changes = [a for a in actions if a["kind"] not in READ_ONLY_KINDS]
    return {**plan, "actions": actions, "changes": changes,
            "needs_run": not plan["up_to_date"] or bool(changes)}


class FilterModule:
    """Ansible's entry point for the filters of this file."""

    def filters(self) -> dict[str, Any]:
        return {"kerasup_plan": kerasup_plan}
