"""The site hook setup writes (kerasup.pth + _kerasup_path.py): ``verify`` and ``envs`` are
importable from any directory, nothing else of the checkout is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from setup_helpers import REPO

from setup.installer import configure


@pytest.fixture(scope="module")
def env_python(tmp_path_factory) -> Path:
    """A bare virtual environment (no packages) with the hook installed, as setup does."""
    prefix = tmp_path_factory.mktemp("hooked") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    python = prefix / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    configure.write_site_hook(Path(purelib), REPO)
    assert configure.hook_current(Path(purelib), REPO)
    return python


def _run(python: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd="/",
                          check=False)


@pytest.mark.parametrize("name", ["setup", "tests", "examples", "benchmarks", "noxfile"])
def test_the_rest_of_the_checkout_is_not_importable(env_python, name):
    done = _run(env_python, f"import {name}")
    assert done.returncode != 0 and "ModuleNotFoundError" in done.stderr, done.stderr


def test_the_toolkit_is_importable_from_anywhere(env_python):
    done = _run(env_python, "import envs.contract.facts, verify; print(verify.__file__); "
                            "print(envs.contract.facts.__file__)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(REPO / "verify" / "__init__.py"),
                                   str(REPO / "envs" / "contract" / "facts.py")]


def test_the_pth_is_one_ascii_line_and_idempotent(tmp_path):
    site = tmp_path / "site"
    root = tmp_path / "café 'x'"
    configure.write_site_hook(site, root)
    line = (site / "kerasup.pth").read_text(encoding="ascii")
    assert line.count("\n") == 1 and line.startswith("import _kerasup_path; ")
    code = (f"import sys; sys.path.insert(0, {str(site)!r}); import site; "
            f"site.addsitedir({str(site)!r}); site.addsitedir({str(site)!r}); "
            "import _kerasup_path; print(sum(isinstance(f, _kerasup_path.ToolkitFinder) "
            "for f in sys.meta_path)); print([f.root for f in sys.meta_path "
            "if isinstance(f, _kerasup_path.ToolkitFinder)][0])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          encoding="utf-8", check=True)
    assert done.stdout.splitlines() == ["1", str(root)]


def test_the_copied_module_is_the_linted_site_hook(tmp_path):
    configure.write_site_hook(tmp_path, REPO)
    source = Path(configure.__file__).with_name("site_hook.py")
    assert (tmp_path / "_kerasup_path.py").read_bytes() == source.read_bytes()
