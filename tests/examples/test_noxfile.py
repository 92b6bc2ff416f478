"""noxfile.py: its sessions, their one-line docstrings, one list of Pythons, pyenv discovery."""

from __future__ import annotations

import ast
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOXFILE = REPO / "noxfile.py"
SESSIONS = {"tests", "lint", "lock", "verify", "examples", "bench"}


def sessions_in_source() -> dict[str, ast.FunctionDef]:
    tree = ast.parse(NOXFILE.read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if ast.unparse(target) == "nox.session":
                    found[node.name] = node
    return found


def test_every_session_is_defined_with_a_one_line_docstring():
    found = sessions_in_source()
    assert set(found) == SESSIONS
    for name, node in found.items():
        doc = ast.get_docstring(node)
        assert doc and "\n" not in doc and len(doc) <= 100, name


def test_python_versions_come_from_one_place():
    source = NOXFILE.read_text()
    tree = ast.parse(source)
    assigned = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                for t in node.targets if isinstance(t, ast.Name)}
    assert ast.literal_eval(assigned["PYTHONS"]) == ("3.11", "3.12", "3.13")
    assert ast.literal_eval(assigned["DEFAULT_PYTHON"]) in ("3.11", "3.12", "3.13")
    for version in ("3.11", "3.13"):  # written once, in PYTHONS
        assert source.count(f'"{version}"') == 1, version
    assert "UV_PYTHON_DOWNLOADS" in source and 'download_python = "never"' in source


def nox_command() -> list[str] | None:
    if importlib.util.find_spec("nox") is not None:
        return [sys.executable, "-m", "nox"]
    found = shutil.which("nox")
    return [found] if found else None


def test_nox_lists_the_sessions_with_their_docstrings():
    command = nox_command()
    if command is None:
        pytest.skip("nox is not installed here (it is in the 'tools' group)")
    proc = subprocess.run([*command, "-l", "-f", str(NOXFILE)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    # "* name -> docstring" for the default selection (lint, tests), "- name -> ..." otherwise.
    listed = dict(line[2:].split(" -> ", 1) for line in proc.stdout.splitlines()
                  if line[:2] in ("* ", "- "))
    assert set(listed) == {"tests-3.11", "tests-3.12", "tests-3.13", "lint", "lock", "verify",
                           "examples", "bench"}
    assert all(doc.strip() for doc in listed.values())
    selected = {line[2:].split(" -> ")[0] for line in proc.stdout.splitlines()
                if line.startswith("* ")}
    assert selected == {"tests-3.11", "tests-3.12", "tests-3.13", "lint"}

def test_pyenv_pythons_are_appended_to_path(tmp_path, monkeypatch):
    pytest.importorskip("nox")
    for version in ("3.12.1", "3.12.10", "3.12-dev", "3.13.0t", "3.13.2", "3.10.4"):
        exe = tmp_path / "versions" / version / "bin" / f"python{version[:4]}"
        exe.parent.mkdir(parents=True)
        exe.write_text("")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv("PATH", "/usr/bin")
    monkeypatch.delenv("UV_PYTHON_DOWNLOADS", raising=False)  # restored after the test
    spec = importlib.util.spec_from_file_location("kerasup_noxfile", NOXFILE)
    noxfile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(noxfile)  # appends this fake root's versions at import
    versions = tmp_path / "versions"
    expected = [str(versions / "3.12.10" / "bin"), str(versions / "3.13.2" / "bin")]
    assert os.environ["PATH"].split(os.pathsep) == ["/usr/bin", *expected]
    assert noxfile._add_pyenv_pythons() == []  # idempotent: nothing added twice
    assert os.environ["UV_PYTHON_DOWNLOADS"] == "never"
