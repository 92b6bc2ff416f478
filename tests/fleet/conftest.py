"""Fleet tests: real ansible-playbook runs over real SSH (Debian's openssh-server)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Registered here so `-m fleet` works without touching pyproject.toml's marker list.
    config.addinivalue_line("markers", "fleet: runs the Ansible role against SSH test hosts")
