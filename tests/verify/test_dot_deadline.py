"""verify.graphviz's deadlines on a real hanging ``dot`` (a script that sleeps): ``dot -V``
and a render each end, with whatever the hung ``dot`` started, instead of hanging verify."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from verify import graphviz

pytestmark = pytest.mark.skipif(os.name == "nt", reason="a POSIX shell script stands in for dot")


def _hanging_dot(folder: Path) -> tuple[Path, Path]:
    """A ``dot`` that records its sleeping child's pid, then waits for it forever."""
    folder.mkdir(parents=True, exist_ok=True)
    pid_file = folder / "sleep.pid"
    dot = folder / "dot"
    dot.write_text(f'#!/bin/sh\nsleep 600 &\necho $! > "{pid_file}"\nwait\n')
    dot.chmod(0o755)
    return dot, pid_file


def _gone(pid_file: Path) -> bool:
    deadline = time.monotonic() + 10
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if Path(f"/proc/{pid}/stat").is_file() and \
                Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return True  # a zombie waiting for init: it has ended
        time.sleep(0.05)
    return False


def test_dot_version_gives_up_and_ends_what_dot_started(tmp_path: Path) -> None:
    dot, pid_file = _hanging_dot(tmp_path)
    with pytest.raises(graphviz.DotHung, match=r"did not answer `dot -V` within 1 s"):
        graphviz.dot_version(str(dot), timeout=1)
    assert _gone(pid_file)
    assert "dot -V" in graphviz.hung_fix(str(dot)) and "mount" in graphviz.hung_fix(str(dot))


def test_the_render_deadline_ends_a_hanging_dot(tmp_path: Path) -> None:
    dot, pid_file = _hanging_dot(tmp_path)
    with graphviz.dot_deadline(1) as deadline:
        done = subprocess.run([str(dot), "-Tpng"], input=b"digraph {}", capture_output=True,
                              timeout=60, check=False)
    assert deadline.expired and done.returncode != 0
    assert _gone(pid_file)


def test_a_dot_that_finishes_is_left_alone(tmp_path: Path) -> None:
    quick = tmp_path / "dot"
    quick.write_text("#!/bin/sh\necho 'dot - graphviz version 9.9' >&2\n")
    quick.chmod(0o755)
    with graphviz.dot_deadline(5) as deadline:
        assert graphviz.dot_version(str(quick)) == "dot - graphviz version 9.9"
    assert not deadline.expired
