"""``python -m verify`` writes its reports by envs.contract.fileio's rule: root's
``--json /dev/null --junit /dev/stdout`` leaves /dev/null a device (in a private mount
namespace with its own /dev, so a failure cannot break the machine's), and a planted link is
refused before any check runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from envs.contract.errors import ExitCode

pytestmark = pytest.mark.slow

_IN_NAMESPACE = r"""
set -eu
mount -t tmpfs -o size=1m,mode=755 kh-dev /dev
mknod -m 666 /dev/null c 1 3
ln -s /proc/self/fd/1 /dev/stdout
set +e
"$1" -m verify --only keras_json --no-color --json /dev/null --junit /dev/stdout >"$2"
echo "rc=$?"
stat -c %F /dev/null
ls -A /dev
"""


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="needs root and unshare")
def test_root_reports_to_dev_null_and_stdout(cpu_env, verify_home, tmp_path: Path) -> None:
    screen = tmp_path / "screen.txt"
    done = subprocess.run(["unshare", "-m", "sh", "-c", _IN_NAMESPACE, "sh",
                           str(cpu_env.python), str(screen)],
                          env={**os.environ, **verify_home}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["rc=0", "character special file", "null", "stdout"], \
        done.stdout + done.stderr
    text = screen.read_text()
    junit = ET.fromstring(text[text.index("<?xml"):text.index("</testsuites>") + 13])
    ran = [c for c in junit.iter("testcase") if c.find("skipped") is None]
    assert [c.get("name") for c in ran] == ["test_keras_json"]
    assert Path("/dev/null").is_char_device()


@pytest.mark.parametrize("flag", ["--json", "--junit"])
def test_a_planted_link_is_refused_before_any_check(cpu_env, verify_home, tmp_path: Path,
                                                    flag: str, plant_link) -> None:
    planted = plant_link(tmp_path / "report")
    done = subprocess.run([str(cpu_env.python), "-m", "verify", flag, str(planted.link)],
                          env={**os.environ, **verify_home}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == ExitCode.USAGE and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "symbolic link" in lines[0] and flag in lines[0], done.stderr
    assert planted.untouched()


def test_out_folder_with_a_link_or_fifo_at_a_drawing_name_is_refused(
        cpu_env, verify_home, tmp_path: Path) -> None:
    """--out: model_graph removed model.png (a link) and model.svg (a FIFO) and wrote files
    there; now both are refused before any check, and stay as they were."""
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.png"
    victim.write_text("precious")
    (out / "model.png").symlink_to(victim)
    os.mkfifo(out / "model.svg")
    done = subprocess.run([str(cpu_env.python), "-m", "verify", "--only", "model_graph",
                           "--out", str(out)], env={**os.environ, **verify_home}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == ExitCode.USAGE and done.stdout == "", done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--out" in lines[0] and "symbolic link" in lines[0]
    assert victim.read_text() == "precious" and (out / "model.png").is_symlink()
    assert (out / "model.svg").is_fifo()
    assert sorted(p.name for p in out.iterdir()) == ["model.png", "model.svg"]
