"""A hung ``nvidia-smi`` (a real script that sleeps, first on PATH) is ended after its deadline
and named with what to check by the contract's query (setup's GPU preflight prints that line as
its warning)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from envs.contract import nvidia

pytestmark = pytest.mark.skipif(os.name == "nt", reason="a POSIX shell script stands in")


@pytest.fixture
def hung_smi(tmp_path: Path) -> dict[str, str]:
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\nexec sleep 600\n")
    smi.chmod(0o755)
    return {"PATH": f"{tmp_path}{os.pathsep}/usr/bin:/bin"}


def test_a_hung_nvidia_smi_is_named(hung_smi: dict[str, str]) -> None:
    found, why = nvidia.query_driver_why(hung_smi, timeout=1)
    assert found is None and why is not None
    assert "nvidia-smi" in why and "did not answer within 1 s" in why and "dmesg" in why
    assert nvidia.query_driver(hung_smi, timeout=1) is None

