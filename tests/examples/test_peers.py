"""tests/peers/run.py (``nox -s peers``): the sdist it fetches is the lock's, its counts are
pytest's own, and the project's suite never collects the peer suites."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _runner():
    spec = importlib.util.spec_from_file_location("peers_run", REPO / "tests" / "peers" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_keras_sdist_is_the_one_the_lock_pins() -> None:
    version, url, sha = _runner()._keras_sdist()
    assert url.endswith(f"/keras-{version}.tar.gz")
    pins = (REPO / "envs" / "cpu" / "requirements.txt").read_text()
    block = re.search(rf"^keras=={re.escape(version)} .*?(?=^\S)", pins, re.M | re.S)
    assert block and f"--hash=sha256:{sha}" in block.group(0)
    vendored = REPO / "tests" / "peers" / "vendor" / f"keras-{version}"
    assert (vendored / "model_visualization_test.py").is_file()


def test_counts_come_from_pytests_junit(tmp_path: Path) -> None:
    (tmp_path / "three_test.py").write_text(
        "import pytest\n\ndef test_ok():\n    pass\n\ndef test_bad():\n    assert False\n\n"
        "def test_skipped():\n    pytest.skip('no')\n")
    junit = tmp_path / "junit.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "--rootdir", str(tmp_path), "-c", "/dev/null", "--junitxml", str(junit),
                    str(tmp_path / "three_test.py")], capture_output=True, check=False)
    runner = _runner()
    assert runner.counts(junit) == {"passed": 1, "failed": 1, "skipped": 1}
    assert runner.counts(tmp_path / "missing.xml")["failed"] == 1  # no report is a failure


def test_the_project_suite_does_not_collect_the_peer_suites() -> None:
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", "tests/peers"], cwd=REPO,
                          capture_output=True, text=True, check=False)
    assert "model_visualization_test" not in done.stdout and "tensorflow_unit" not in \
        done.stdout, done.stdout
