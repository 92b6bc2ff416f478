"""nox -s lint parses setup/*.ps1 with tree-sitter-powershell: the real script passes, and
one unbalanced parenthesis fails it, naming the line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tree_sitter_powershell")

REPO = Path(__file__).resolve().parents[2]
CHECK = REPO / "tests" / "lint" / "ps_syntax.py"
SCRIPT = REPO / "setup" / "windows.ps1"


def _run(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(CHECK), str(path)], capture_output=True,
                          text=True, check=False)


def test_windows_ps1_parses():
    done = _run(SCRIPT)
    assert done.returncode == 0, done.stdout


def test_one_unbalanced_parenthesis_fails(tmp_path):
    text = SCRIPT.read_text(encoding="utf-8")
    at = text.index("if (")
    bad = tmp_path / "windows.ps1"
    bad.write_text(text[:at] + "if ((" + text[at + 4:], encoding="utf-8")
    done = _run(bad)
    line = text[:at].count("\n") + 1
    assert done.returncode == 1 and f"windows.ps1:{line}:" in done.stdout, done.stdout
