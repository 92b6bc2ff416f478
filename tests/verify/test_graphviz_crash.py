"""verify.graphviz against the real ``dot``: the nested model's crash on Graphviz 2.42/2.43 is
recognised from pydot's own words, the curved-edge workaround is real, and the conda route's
Graphviz is read from the committed conda lock."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.graphviz_probe import NESTED_DOT, nested_ortho_crashes
from verify import graphviz

REPO = Path(__file__).resolve().parents[2]
needs_crash = pytest.mark.skipif(not nested_ortho_crashes(),
                                 reason="this Graphviz draws the nested model (no crash)")


@needs_crash
def test_the_crash_is_named_with_graphvizs_own_words() -> None:
    done = subprocess.run(["dot", "-Tpng", str(NESTED_DOT)], capture_output=True, check=False)
    # pydot's message: the return code in the exception, dot's stderr printed beside it
    said = (f'"dot" with args [\'-Tpng\', \'x\'] returned code: {done.returncode}\n\n'
            f"stdout, stderr:\n b''\n{done.stderr!r}\n")
    text = graphviz.crash_text(said)
    assert text is not None and "maze.c" in text and "Assertion" in text
    assert text.endswith(f"(signal {-done.returncode})")


@needs_crash
def test_curved_edges_draw_what_orthogonal_ones_cannot() -> None:
    source = NESTED_DOT.read_text().replace("splines=ortho", "splines=spline")
    done = subprocess.run(["dot", "-Tpng"], input=source.encode(), capture_output=True,
                          check=False)
    assert done.returncode == 0 and done.stdout.startswith(b"\x89PNG")


def test_a_plain_failure_is_not_a_crash() -> None:
    assert graphviz.crash_text('"dot" not found in path.') is None
    assert graphviz.crash_text("Format: 'pngx' not recognized.") is None


def test_the_conda_routes_graphviz_comes_from_the_lock() -> None:
    text = (REPO / "envs" / "cpu" / "conda-lock.yml").read_text()
    version = graphviz.conda_graphviz("cpu", REPO)
    assert version is not None and re.search(
        rf"- name: graphviz\n  version: {re.escape(version)}\n", text)
    assert f"Graphviz {version}" in graphviz.newer_graphviz_fix("cpu")
    assert graphviz.conda_graphviz("no-such-variant", REPO) is None


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_dot_version_is_dots_own_line() -> None:
    assert graphviz.dot_version().startswith("dot - graphviz version ")
    assert graphviz.dot_version("/nonexistent/dot").startswith("unknown (")
