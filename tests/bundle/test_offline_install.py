"""Install the linux-64 bundle with no network at all: a network namespace with only
loopback (``unshare -n``, as root), an empty uv cache and a fresh HOME; then verify trains on
the bundle's MNIST. (`nox -s bench` measures the install against its floor.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envs.contract import record
from envs.contract.layout import Layout
from setup.installer import payload
from tests.graphviz_probe import ready_but_for_graphviz

from .conftest import REPO, python_for

pytestmark = [pytest.mark.slow, pytest.mark.network]


def _unshare_ok() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def _isolated_env(tmp: Path) -> dict[str, str]:
    """A fresh HOME, an empty uv cache, and no proxy or index settings."""
    home = tmp / "home"
    home.mkdir()
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TERM")}
    return {**keep, "HOME": str(home), "UV_CACHE_DIR": str(tmp / "uv-cache"),
            "PYTHONPATH": str(REPO), "KERASUP_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
            "KERAS_HOME": str(home / ".keras")}


def _bootstrap(*args: str | Path) -> list[str]:
    return [str(a) for a in ("unshare", "-n", sys.executable, REPO / "setup" / "bootstrap.py",
                             *args)]


@pytest.mark.skipif(not _unshare_ok(), reason="needs root and unshare -n")
def test_offline_install_then_verify(linux_bundle, tmp_path):
    """The real command line, in a namespace with no network: the same workflow as any
    install (prefix lock, install.log, record, kernel, verify on the bundle's MNIST)."""
    python = python_for("3.12")
    if python is None:
        pytest.skip("needs a CPython 3.12 interpreter")
    env = _isolated_env(tmp_path)
    env.pop("PYTHONPATH")  # the environment's kerasup.pth alone must find the toolkit
    prefix = tmp_path / "env"
    done = subprocess.run(_bootstrap("--from-bundle", linux_bundle.archive, "--prefix", prefix,
                                     "--python-exe", python),
                          env=env, capture_output=True, text=True, cwd=tmp_path, check=False,
                          timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    installed, error = record.read(prefix)
    assert error is None and installed is not None and installed.method == "uv"
    assert installed.source.startswith(f"bundle:{linux_bundle.archive}")
    assert installed.python == "3.12" and installed.variant == "cpu"
    # The toolkit in the environment is this checkout's runtime payload, not the bundle's.
    toolkit = Layout(prefix).toolkit
    assert installed.toolkit_root == str(toolkit)
    assert sorted(payload.files(toolkit)) == payload.files(REPO)
    assert (toolkit / "verify" / "cli.py").read_bytes() == (REPO / "verify/cli.py").read_bytes()
    assert not (toolkit / "tests").exists() and not (toolkit / "setup" / "ansible").exists()
    log = Layout(prefix).install_log.read_text()
    assert "--no-index" in log and "--find-links" in log
    assert subprocess.run([str(prefix / "bin" / "pytest"), "--version"], capture_output=True,
                          check=False).returncode == 0
    report = json.loads(Layout(prefix).verify_report.read_text())
    # model_graph warns where this Graphviz crashes on nested models (2.42/2.43)
    assert ready_but_for_graphviz(report), report["counts"]
    text = json.dumps(report)
    assert "mnist" in text.lower() and "synthetic" not in text.lower()
