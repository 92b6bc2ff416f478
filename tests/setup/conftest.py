"""Fixtures for the setup tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from setup_helpers import SETUP_TOOLS

from setup.installer import uvtool
from setup.installer.runner import Runner
from setup.installer.target import Target


@pytest.fixture(scope="session")
def setup_tools() -> Path:
    """The tools venv holding the pinned uv, installed for real (from PyPI) when missing."""
    uv = uvtool.ensure_uv(SETUP_TOOLS, base_python=Path(sys.executable),
                          target=Target.current(), runner=Runner(), offline=False)
    assert Path(uv).is_file()
    return SETUP_TOOLS


@pytest.fixture(scope="session")
def uv_exe(setup_tools: Path) -> str:
    """The pinned uv itself."""
    return str(uvtool.uv_path(setup_tools, Target.current()))
