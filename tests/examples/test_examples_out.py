"""``examples/mnist_dense.py --out`` follows envs.contract.fileio's rule before any work: a
device or file is not a folder, and a planted link at a name it writes is refused (exit 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run(out: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "examples" / "mnist_dense.py"), "--out",
                           str(out)], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False)


def test_a_planted_link_in_out_is_refused(tmp_path: Path, plant_link) -> None:
    out = tmp_path / "out"
    out.mkdir()
    planted = plant_link(out / "model.png")
    done = _run(out)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "model.png is a symbolic link" in lines[0], done.stderr
    assert planted.untouched() and sorted(p.name for p in out.iterdir()) == \
        ["model.png", "model.png.victim"]


@pytest.mark.skipif(not Path("/dev/null").is_char_device(), reason="POSIX /dev/null")
def test_a_device_is_not_a_folder() -> None:
    done = _run("/dev/null")
    assert done.returncode == 2 and "not a folder" in done.stderr
    assert Path("/dev/null").is_char_device()


@pytest.mark.slow
def test_the_notebook_runner_refuses_a_planted_link(cpu_env, tmp_path: Path,
                                                    plant_link) -> None:
    out = tmp_path / "out"
    out.mkdir()
    planted = plant_link(out / "mnist_dense.executed.ipynb")
    done = subprocess.run([str(cpu_env.python), str(REPO / "examples" / "run_notebook.py"),
                           "--out", str(out)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "executed.ipynb is a symbolic link" in done.stderr and "Traceback" not in done.stderr
    assert planted.untouched()
