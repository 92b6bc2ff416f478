"""The hosts of an Ansible inventory, exactly as Ansible reads them: ``ansible-inventory --list``
run with the Python this command runs on (ranges, groups, INI, YAML, folders, plugins).

Without Ansible there is no faithful reading, so :func:`read_inventory` raises
:class:`InventoryError` naming it instead of guessing. A range far larger than any lab
(``lab[1:100000000]``) is refused before Ansible tries to expand it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import string
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MAX_HOSTS", "Inventory", "InventoryError", "read_inventory"]

MAX_HOSTS = 100_000
_RANGE = re.compile(r"\[([0-9A-Za-z]+):([0-9A-Za-z]+)(?::([0-9]+))?\]")
_TIMEOUT_S = 300


class InventoryError(ValueError):
    """The inventory cannot be read; the message is one line with the cause, ``fix`` the fix."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True)
class Inventory:
    """Inventory host names, in Ansible's order, and the address each connects to."""

    hosts: list[str]
    addresses: dict[str, str]


def _range_size(first: str, last: str, step: str | None) -> int:
    by = max(int(step or 1), 1)
    if first.isdigit() and last.isdigit():
        return max(int(last) - int(first), 0) // by + 1
    letters = string.ascii_letters
    if first in letters and last in letters:
        return max(letters.index(last) - letters.index(first), 0) // by + 1
    return 1  # not a range Ansible expands


def _refuse_huge_ranges(path: Path) -> None:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for file in files:
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            count = 1
            for match in _RANGE.finditer(line):
                count *= _range_size(*match.groups())
            if count > MAX_HOSTS:
                raise InventoryError(
                    f"{file}: {line.strip()[:80]!r} expands to {count:,} hosts, more than "
                    f"{MAX_HOSTS:,}", "check the range's bounds")


def _ansible_list(path: Path) -> dict[str, object]:
    if importlib.util.find_spec("ansible") is None:
        raise InventoryError(
            f"reading the inventory {path} needs Ansible (ansible-core), which {sys.executable} "
            "does not have", "run this command with the Python Ansible is installed in "
            "(the one that runs ansible-playbook), or pip install ansible-core")
    env = {**os.environ, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
           "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_DEPRECATION_WARNINGS": "false", "ANSIBLE_LOCALHOST_WARNING": "false"}
    try:
        run = subprocess.run([sys.executable, "-m", "ansible.cli.inventory", "-i", str(path),
                              "--list"], capture_output=True, text=True, env=env,
                             timeout=_TIMEOUT_S, check=False, errors="replace")
    except subprocess.TimeoutExpired:
        raise InventoryError(f"ansible-inventory took over {_TIMEOUT_S} s on {path}",
                             "check the inventory's ranges and plugins") from None
    if run.returncode != 0:
        lines = [ln.strip() for ln in run.stderr.splitlines() if ln.strip()]
        why = next((ln for ln in lines if "ERROR" in ln), lines[-1] if lines else "no output")
        raise InventoryError(f"ansible-inventory cannot read {path}: {why[:300]}",
                             f"run ansible-inventory -i {path} --list and correct the file")
    try:
        listed = json.loads(run.stdout)
    except ValueError:
        raise InventoryError(f"ansible-inventory printed no JSON for {path}",
                             f"run ansible-inventory -i {path} --list") from None
    return listed if isinstance(listed, dict) else {}


def _walk(listed: dict[str, object], group: str, seen: set[str]) -> list[str]:
    node = listed.get(group)
    if group in seen or not isinstance(node, dict):
        return []
    seen.add(group)
    hosts = [str(h) for h in node.get("hosts") or []]
    for child in node.get("children") or []:
        hosts += _walk(listed, str(child), seen)
    return hosts


def read_inventory(path: Path) -> Inventory:
    """Every host of the inventory at ``path`` (file or folder), as Ansible lists them."""
    if not path.exists():
        raise InventoryError(f"inventory {path} does not exist", "name your inventory file")
    _refuse_huge_ranges(path)
    listed = _ansible_list(path)
    hosts = list(dict.fromkeys(_walk(listed, "all", set())))
    if not hosts:
        raise InventoryError(f"{path}: Ansible finds no hosts in it",
                             f"list your machines in it (ansible-inventory -i {path} --list)")
    meta = listed.get("_meta")
    hostvars = meta.get("hostvars", {}) if isinstance(meta, dict) else {}
    addresses = {h: str(v["ansible_host"]) for h, v in hostvars.items()
                 if isinstance(v, dict) and v.get("ansible_host")}
    return Inventory(hosts, addresses)
