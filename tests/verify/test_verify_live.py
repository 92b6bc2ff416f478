"""verify shows its work as it happens: in a real pseudo-terminal, and through a pipe."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.realfs import pty_chunks

pytestmark = pytest.mark.slow

ESC = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _env(verify_home: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "NO_COLOR")}
    return {**env, **verify_home, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}


def _run_in_pty(argv: list[str], env: dict[str, str], cwd: Path,
                timeout: float = 600) -> tuple[list[tuple[float, str]], int]:
    """Run ``argv`` on a pty; every chunk it wrote, with the seconds since the start."""
    return pty_chunks(argv, env, cwd=cwd, timeout=timeout)


def _first(chunks: list[tuple[float, str]], needle: str) -> float:
    text = ""
    for at, chunk in chunks:
        text += chunk
        if needle in ESC.sub("", text):
            return at
    raise AssertionError(f"{needle!r} never appeared in {ESC.sub('', text)!r}")


def test_terminal_shows_the_header_first_and_the_running_check_live(
        cpu_env, verify_home: dict[str, str], tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    argv = [str(cpu_env.python), "-m", "verify", "--only", "python_platform", "gpu",
            "--json", str(report)]
    chunks, rc = _run_in_pty(argv, _env(verify_home), tmp_path)
    assert rc == 0, "".join(c for _, c in chunks)
    header = _first(chunks, "kerasup verify ")
    live = _first(chunks, "gpu: importing TensorFlow")
    platform_line = _first(chunks, "PASS  python_platform")
    gpu_line = _first(chunks, "PASS  gpu")
    # The header and the first check's line come while TensorFlow is still importing, and
    # the live line names what the running check does before its result line arrives.
    assert header <= platform_line <= live < gpu_line
    print(f"first line after {header:.2f}s; gpu result after {gpu_line:.2f}s")
    screen = ESC.sub("", "".join(c for _, c in chunks))
    assert "Traceback" not in screen
    data = json.loads(report.read_text())
    assert {c["name"]: c["status"] for c in data["checks"]}["gpu"] == "pass"


def test_a_pipe_gets_plain_lines_in_order_and_no_control_codes(
        cpu_env, verify_home: dict[str, str], tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    proc = subprocess.Popen(
        [str(cpu_env.python), "-m", "verify", "--only", "python_platform", "keras_json",
         "gpu", "--json", str(report)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env=_env(verify_home), cwd=tmp_path, text=True)
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(line)
    assert proc.wait(timeout=600) == 0, "".join(seen)
    out = "".join(seen)
    assert "\x1b" not in out and "\r" not in out
    names = [m.group(1) for m in re.finditer(r"^  (?:PASS|WARN)\s+(\w+)", out, re.M)]
    assert names == ["python_platform", "keras_json", "gpu"]
    assert out.splitlines()[0].startswith("kerasup verify ")
    data = json.loads(report.read_text())
    # The screen and the report describe the same run.
    assert re.search(rf"^{data['counts']['pass'] + data['counts']['warn']} of "
                     rf"{len(data['checks'])} checks ran:", out, re.M)
    assert "not selected: jupyter_kernel, mnist, model_graph, packages" in out
