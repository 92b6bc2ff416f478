"""The one rule for files a user names for output (envs.contract.fileio.output_kind and
write_outputs), on real files, FIFOs, devices and links; as root, /dev/null and /dev/stdout
are real nodes in a private mount namespace, so a failure cannot break the machine's own."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from envs.contract import fileio

REPO = Path(__file__).resolve().parents[2]
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def test_a_regular_file_is_replaced_atomically_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    target.chmod(0o640)
    fileio.write_outputs({target: "new", tmp_path / "fresh.xml": b"<x/>"})
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert (tmp_path / "fresh.xml").read_bytes() == b"<x/>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.xml", "report.json"]


def test_a_fifo_is_written_to_and_stays_a_fifo(tmp_path: Path, fifo_reader) -> None:
    reader = fifo_reader(tmp_path / "pipe")
    fileio.write_outputs({reader.path: "through the pipe"})
    assert reader.result(10) == b"through the pipe"
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


def test_a_planted_link_is_refused_and_its_target_untouched(tmp_path: Path, plant_link) -> None:
    planted = plant_link(tmp_path / "report.json")
    other = tmp_path / "junit.xml"
    other.write_text("old junit")
    with pytest.raises(fileio.UnsafeTarget) as refused:
        fileio.write_outputs({other: "new junit", planted.link: "report"})
    assert "symbolic link" in refused.value.strerror
    assert str(planted.victim) in refused.value.strerror and planted.untouched()
    assert other.read_text() == "old junit"  # all or none
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml", "report.json",
                                                          "report.json.victim"]


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(fileio.UnsafeTarget, match="directory"):
        fileio.output_kind(tmp_path)


@pytest.mark.skipif(not ROOT, reason="making a device node needs root")
def test_a_block_device_is_refused_and_stays_one(tmp_path: Path) -> None:
    node = tmp_path / "disk"
    os.mknod(node, 0o600 | stat.S_IFBLK, os.makedev(240, 0))  # a local-use major: no disk
    with pytest.raises(fileio.UnsafeTarget, match="block device"):
        fileio.write_outputs({node: "report"})
    assert stat.S_ISBLK(node.lstat().st_mode)


def test_the_process_own_stdout_is_written_to(tmp_path: Path) -> None:
    """/dev/stdout is the descriptor the caller handed over (here a pipe): written to."""
    code = ("import sys; from pathlib import Path; from envs.contract import fileio; "
            "fileio.write_outputs({Path('/dev/stdout'): 'junit!', Path(sys.argv[1]): 'json'})")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r.json")], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "junit!" and (tmp_path / "r.json").read_text() == "json"


_IN_NAMESPACE = r"""
set -eu
mount -t tmpfs -o size=1m,mode=755 kh-dev /dev
mknod -m 666 /dev/null c 1 3
ln -s /proc/self/fd/1 /dev/stdout
"$1" -c 'from pathlib import Path; from envs.contract import fileio
fileio.write_outputs({Path("/dev/null"): "report", Path("/dev/stdout"): "<junit/>"})
fileio.write_atomic(Path("/dev/null"), "any caller")'
echo
stat -c %F /dev/null
ls -A /dev
"""


@pytest.mark.skipif(not ROOT or not shutil.which("unshare"), reason="needs root and unshare")
def test_dev_null_stays_a_device_for_root() -> None:
    """The bug: staged beside /dev/null and renamed over it (by the report writer, and by
    write_atomic for any other caller). /dev here is a private tmpfs."""
    done = subprocess.run(["unshare", "-m", "sh", "-c", _IN_NAMESPACE, "sh", sys.executable],
                          cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0 and "unshare" in done.stderr and "Operation not permitted" in \
            done.stderr:
        pytest.skip(f"no private mount namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines == ["<junit/>", "character special file", "null", "stdout"], done.stdout
    assert Path("/dev/null").is_char_device()
