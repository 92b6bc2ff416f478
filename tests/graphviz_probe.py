"""Whether this machine's Graphviz crashes on Keras' nested model (Graphviz 2.42/2.43: Debian 12,
Ubuntu): found by running the real ``dot`` on the DOT that Keras 3.15.1 writes for it, so that
tests of full verify runs expect exactly what verify must say here."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path
from typing import Any

NESTED_DOT = Path(__file__).resolve().parent / "verify" / "data" / "nested_ortho.dot"


@functools.cache
def nested_ortho_crashes() -> bool:
    """True when ``dot`` is on PATH and dies (a signal) on the nested model's graph."""
    dot = shutil.which("dot")
    if dot is None:
        return False
    done = subprocess.run([dot, "-Tsvg", str(NESTED_DOT)], capture_output=True, timeout=60,
                          check=False)
    return done.returncode < 0 or done.returncode > 128


def expected_graph_status() -> str:
    """model_graph's status on this machine: fail where Graphviz crashes, else pass."""
    return "fail" if nested_ortho_crashes() else "pass"


def ready_but_for_graphviz(report: dict[str, Any]) -> bool:
    """A verify report that is ready, or (where this Graphviz crashes on nested models) fails
    only model_graph, and for that reason."""
    if report.get("ok") is True:
        return not nested_ortho_crashes()
    failed = [c for c in report.get("checks", []) if c["status"] in ("fail", "error")]
    return nested_ortho_crashes() and [c["name"] for c in failed] == ["model_graph"] and \
        "crashed drawing a nested model" in failed[0]["summary"]
