"""The installer's tier: any Python 3.10+, standard library only. Imported in isolated mode
(``-I -S``: no site-packages, no user site, no cwd) by the oldest Python setup runs on, every
module of ``setup.installer`` pulls in nothing but the standard library, ``setup`` itself
and ``envs.contract``."""

from __future__ import annotations

import json
import pkgutil
import shutil
import subprocess
from pathlib import Path

import pytest
from setup_helpers import REPO

import setup.installer

PROBE = """
import sys
before = set(sys.modules)  # what the interpreter itself started with
import importlib, json, pkgutil
sys.path.insert(0, sys.argv[1])
import setup.installer
names = [f"setup.installer.{m.name}" for m in pkgutil.iter_modules(setup.installer.__path__)
         if m.name != "__main__"]
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "modules": sorted(set(sys.modules) - before),
                  "stdlib": sorted(sys.stdlib_module_names)}))
"""


def _python310() -> str:
    found = next((str(p) for p in sorted(Path.home().glob(".pyenv/versions/3.10*/bin/python3.10"))),
                 None) or shutil.which("python3.10")
    if not found:
        pytest.skip("no Python 3.10 here")
    return found


def test_every_installer_module_imports_only_the_standard_library_on_3_10():
    done = subprocess.run([_python310(), "-I", "-S", "-c", PROBE, str(REPO)], capture_output=True,
                          text=True, check=False, cwd="/")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    expected = {m.name for m in pkgutil.iter_modules(setup.installer.__path__)} - {"__main__"}
    assert {n.rsplit(".", 1)[1] for n in out["imported"]} == expected
    stdlib = set(out["stdlib"])
    outside = [m for m in out["modules"]
               if m.partition(".")[0] not in stdlib
               and m.partition(".")[0] != "setup"
               and not (m == "envs" or m == "envs.contract" or m.startswith("envs.contract."))]
    assert outside == [], outside


def test_the_shim_is_tiny():
    assert len((REPO / "setup" / "bootstrap.py").read_text().splitlines()) < 40


@pytest.mark.parametrize("path", sorted((REPO / "setup").rglob("*.py")), ids=lambda p: p.name)
def test_modules_stay_small(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) < 400
