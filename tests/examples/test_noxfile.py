"""noxfile.py: its sessions, the contract's Pythons, how the suite is split, pyenv discovery."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections import defaultdict
from pathlib import Path

import pytest

from envs.contract.facts import DEFAULT_PYTHON, PYTHONS
from tests.conftest import COLLECTED_MARKERS

REPO = Path(__file__).resolve().parents[2]
NOXFILE = REPO / "noxfile.py"
SESSIONS = {"tests", "lint", "lock", "verify", "examples", "bench", "pristine", "peers",
            "live_index"}


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


def test_python_versions_come_from_the_contract():
    """PYTHONS and DEFAULT_PYTHON are imported from envs.contract.facts, never re-spelled."""
    source = NOXFILE.read_text()
    tree = ast.parse(source)
    imported = {alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
                and node.module == "envs.contract.facts" for alias in node.names}
    assert {"PYTHONS", "DEFAULT_PYTHON"} <= imported
    assigned = {t.id for node in tree.body if isinstance(node, ast.Assign)
                for t in node.targets if isinstance(t, ast.Name)}
    assert not {"PYTHONS", "DEFAULT_PYTHON"} & assigned
    for version in PYTHONS:
        assert f'"{version}"' not in source, version
    assert "UV_PYTHON_DOWNLOADS" in source and 'download_python = "never"' in source


# Collects the whole suite (no -m) in a child pytest and prints each test's marker names.
COLLECT = """
import json, pytest
class Markers:
    found = {}
    def pytest_collection_modifyitems(self, items):
        for item in items:
            self.found[item.nodeid] = sorted({m.name for m in item.iter_markers()})
pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "-m", ""], plugins=[Markers()])
print("MARKERS " + json.dumps(Markers.found))
"""


def _every_tests_markers(config: pytest.Config) -> dict[str, list[str]]:
    """Each test's marker names: this run's own collection when it is the whole suite (as in
    `nox -s tests`; tests/conftest.py records it before -m or -k deselect), else a child
    pytest's."""
    whole = [Path(a).resolve() for a in config.args] == [REPO / "tests"]
    collected = config.stash.get(COLLECTED_MARKERS, {})
    if whole and collected:
        return collected
    proc = subprocess.run([sys.executable, "-c", COLLECT], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTEST_ADDOPTS": ""})
    line = next((x for x in proc.stdout.splitlines() if x.startswith("MARKERS ")), None)
    assert line, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(line.removeprefix("MARKERS "))


def selects(expression: str, markers: list[str]) -> bool:
    """Whether `-m expression` selects a test with these markers (and/or/not over names)."""
    return eval(expression, {"__builtins__": {}}, defaultdict(bool, dict.fromkeys(markers, True)))


@pytest.mark.skipif(sysconfig.get_python_version() != DEFAULT_PYTHON,
                    reason="which tests each session runs does not depend on the Python")
def test_sessions_split_the_suite_by_python(request: pytest.FixtureRequest) -> None:
    """The default Python runs every test; the others the fast ones that can differ between
    Pythons, and the lockinstall proof; neither runs a live_index test (those depend on what
    the registry serves today)."""
    constants = {t.id: node.value for node in ast.parse(NOXFILE.read_text()).body
                 if isinstance(node, ast.Assign) for t in node.targets
                 if isinstance(t, ast.Name)}
    default = ast.literal_eval(constants["MARKERS_DEFAULT"])
    other = ast.literal_eval(constants["MARKERS_OTHER"])
    tests = _every_tests_markers(request.config)
    assert len(tests) > 100
    for nodeid, markers in tests.items():
        excluded = "gpu" in markers or "live_index" in markers
        assert selects(default, markers) == (not excluded), nodeid  # the default: all else
        default_only = (("slow" in markers and "lockinstall" not in markers)
                        or "one_python" in markers)
        assert selects(other, markers) == (not excluded and not default_only), nodeid
    assert any("live_index" in markers for markers in tests.values())
    assert any("lockinstall" in markers for markers in tests.values())
    assert any("one_python" in markers for markers in tests.values())


def load_noxfile():
    """Import noxfile.py as a module (it appends pyenv's Pythons to PATH: see below)."""
    pytest.importorskip("nox")
    spec = importlib.util.spec_from_file_location("kerasup_noxfile", NOXFILE)
    noxfile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(noxfile)
    return noxfile


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
    test_sessions = {f"tests-{version}" for version in PYTHONS}
    assert set(listed) == test_sessions | {"lint", "lock", "verify", "examples", "bench",
                                           "pristine", "peers", "live_index"}
    assert all(doc.strip() for doc in listed.values())
    selected = {line[2:].split(" -> ")[0] for line in proc.stdout.splitlines()
                if line.startswith("* ")}
    assert selected == test_sessions | {"lint"}


def test_pyenv_pythons_are_appended_to_path(tmp_path, monkeypatch):
    for version in ("3.12.1", "3.12.10", "3.12-dev", "3.13.0t", "3.13.2", "3.10.4"):
        exe = tmp_path / "versions" / version / "bin" / f"python{version[:4]}"
        exe.parent.mkdir(parents=True)
        exe.write_text("")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv("PATH", "/usr/bin")
    monkeypatch.delenv("UV_PYTHON_DOWNLOADS", raising=False)  # restored after the test
    noxfile = load_noxfile()  # appends this fake root's versions at import
    versions = tmp_path / "versions"
    expected = [str(versions / "3.12.10" / "bin"), str(versions / "3.13.2" / "bin")]
    assert os.environ["PATH"].split(os.pathsep) == ["/usr/bin", *expected]
    assert noxfile._add_pyenv_pythons() == []  # idempotent: nothing added twice
    assert os.environ["UV_PYTHON_DOWNLOADS"] == "never"


def test_run_sh_runs_every_stage_and_names_the_failed_ones(tmp_path):
    """tests/run.sh: `-- ARGS` replace `-s tests`; a failed stage does not hide the next ones."""
    tools = tmp_path / "tools"
    (tools / "bin").mkdir(parents=True)
    log = tmp_path / "calls"
    nox = tools / "bin" / "nox"  # a stand-in for the pinned nox: logs, fails the lint stage
    nox.write_text(f'#!/bin/sh\necho "$*" >> {log}\n[ "$2" != lint ]\n')
    nox.chmod(0o755)
    (tools / ".requirements.txt").write_bytes((REPO / "tests" / "tools-requirements.txt")
                                             .read_bytes())  # up to date: nothing installed
    proc = subprocess.run(["bash", str(REPO / "tests" / "run.sh"), "--", "-s", "tests-3.13",
                           "--", "-k", "x"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "KERASUP_TOOLS_DIR": str(tools)})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert log.read_text().splitlines() == ["-s lint", "-s lock -- --check",
                                            "-s tests-3.13 -- -k x"]
    assert "failed: lint" in proc.stdout
    usage = subprocess.run(["bash", str(REPO / "tests" / "run.sh"), "--help"],
                           capture_output=True, text=True, timeout=60).stdout
    assert "replace `-s tests`" in usage and "after a second --" in usage
