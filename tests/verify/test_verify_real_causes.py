"""``python -m verify`` names the real cause: a ``dot`` that hangs (a real script that sleeps,
first on PATH) ends the model_graph check with its name and what to check; an environment on a
real ``noexec`` mount (the shared CPU environment bind-mounted read-only and noexec in a
private mount namespace) is one line naming the mount, not checks that say "reinstall"."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from envs.contract.errors import ExitCode

pytestmark = pytest.mark.slow


_ANSWERS_V = "if [ \"$1\" = -V ]; then echo 'dot - graphviz version 2.43.0 (0)' >&2; exit 0; fi\n"


# What dot hangs on, and the cause the check must name first.
_HANGS = (("-V", "did not answer `dot -V`"),
          ("render", "did not finish drawing within 20 s and was ended"))


def _start_hanging(cpu_env, verify_home: dict[str, str], tmp: Path, hangs_on: str
                   ) -> tuple[subprocess.Popen[str], Path, Path]:
    """``verify --only model_graph`` with a ``dot`` first on PATH that hangs on ``hangs_on``."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(parents=True)
    dot = bin_dir / "dot"
    dot.write_text("#!/bin/sh\n" + (_ANSWERS_V if hangs_on == "render" else "") +
                   "exec sleep 600\n")
    dot.chmod(0o755)
    report = tmp / "report.json"
    env = {**os.environ, **verify_home, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen([str(cpu_env.python), "-m", "verify", "--only", "model_graph",
                             "--json", str(report)], env=env, cwd=tmp, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc, dot, report


def test_a_hanging_dot_fails_model_graph_with_its_cause(cpu_env, verify_home,
                                                        tmp_path: Path) -> None:
    """A dot that hangs at once, or answers `dot -V` and hangs drawing (a wedged font or
    plugin mount): the check fails with that cause first, the fix naming dot (not "install
    graphviz"), in less than a minute. The two runs go at once: each mostly waits out its
    deadline, so running them one after the other would only double the wait."""
    runs = {cause: _start_hanging(cpu_env, verify_home, tmp_path / hangs_on.strip("-"),
                                  hangs_on) for hangs_on, cause in _HANGS}
    try:
        for cause, (proc, dot, report) in runs.items():
            # The timeout only keeps a regression from hanging the suite.
            out, err = proc.communicate(timeout=170)
            assert proc.returncode == ExitCode.FAILED, out + err
            check = next(c for c in json.loads(report.read_text())["checks"]
                         if c["name"] == "model_graph")
            assert str(dot) in check["summary"] and cause in check["summary"], check
            assert f"run `{dot} -V` yourself" in check["fix"]
            assert "Traceback" not in out + err
    finally:
        for proc, _, _ in runs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


_NOEXEC = r"""
set -eu
mount --bind "$1" "$2"
mount -o remount,bind,ro,noexec "$2"
set +e
"$2/bin/python" -m verify --only keras_json
echo "rc=$?"
"""


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0
                    or not shutil.which("unshare"), reason="needs root and unshare")
def test_an_environment_on_a_noexec_mount_is_one_line(cpu_env, verify_home,
                                                      tmp_path: Path) -> None:
    there = tmp_path / "nx"
    there.mkdir()
    done = subprocess.run(["unshare", "-m", "sh", "-c", _NOEXEC, "sh", str(cpu_env.prefix),
                           str(there)], env={**os.environ, **verify_home}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout.strip().splitlines()[-1] == f"rc={int(ExitCode.CANNOT_PROCEED)}", \
        done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"on {there}, which is mounted noexec" in lines[0], done.stderr
    assert f"mount -o remount,exec {there}" in lines[0]
