"""Fixtures for the setup tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from setup_helpers import SETUP_TOOLS, bootstrap


@pytest.fixture(scope="session")
def setup_tools() -> Path:
    """The tools venv holding the pinned uv, installed for real (from PyPI) when missing."""
    uv = bootstrap.ensure_uv(SETUP_TOOLS, Path(sys.executable), bootstrap.Target.current(),
                             bootstrap.Runner())
    assert Path(uv).is_file()
    return SETUP_TOOLS
