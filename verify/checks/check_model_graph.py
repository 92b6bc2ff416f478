"""Model graph: keras.utils.plot_model writes PNG and SVG (pydot and Graphviz's dot work)."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from verify import tutorial
from verify._keras import import_keras
from verify.cli import Options
from verify.graphviz import (
    RENDER_TIMEOUT,
    TRAP,
    DotHung,
    dot_deadline,
    dot_version,
    find_dot_off_path,
    hung_fix,
    install_fix,
    path_fix,
)
from verify.machine import install_command
from verify.plugin import Recorder


def _writable_dir(out: Path) -> str | None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".kerasup-probe-")
        os.close(fd)
        Path(probe).unlink()
    except OSError as exc:
        return f"{exc.strerror or exc}"
    return None


def test_model_graph(check: Recorder, options: Options) -> None:
    if options.out is not None:
        _draw(check, options.out, kept=True)
        return
    # Without --out the drawings are proof enough: nothing is left behind in /tmp.
    with tempfile.TemporaryDirectory(prefix="kerasup-verify-") as scratch:
        _draw(check, Path(scratch), kept=False)


def _plot(check: Recorder, keras: Any, model: Any, path: Path) -> None:
    """plot_model to ``path``; a ``dot`` still running after its deadline is ended, and
    reported here (DotHung: the next drawing would hang too)."""
    with dot_deadline() as deadline:
        try:
            keras.utils.plot_model(model, to_file=str(path), show_shapes=True,
                                   show_layer_names=True)
        except Exception:
            if not deadline.expired:
                raise
    if deadline.expired:
        dot = check.details.get("dot") or "dot"
        check.problem(f"Graphviz's dot ({dot}) did not finish drawing {path.name} within "
                      f"{RENDER_TIMEOUT:g} s and was ended", hung_fix(str(dot)))
        raise DotHung(path.name)


def _look_for_dot(check: Recorder) -> None:
    """Record where ``dot`` is and its version, or why Keras cannot run it."""
    dot = shutil.which("dot")
    check.detail("dot", dot)
    if dot:
        try:
            check.detail("dot_version", dot_version(dot))
        except DotHung as exc:
            check.problem(str(exc), hung_fix(dot))
    elif (found := find_dot_off_path()) is not None:
        check.detail("dot_off_path", str(found))
        check.problem(f"Graphviz's dot is installed at {found}, but {found.parent} is not on "
                      "PATH, so Keras cannot run it", path_fix(found))
    else:
        trap = ""
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            trap = (f"; the Python package graphviz {importlib.metadata.version('graphviz')} "
                    "is installed, but that is not the program")
        check.problem(f"Graphviz's dot is not on PATH{trap} ({TRAP})", install_fix())


def _draw(check: Recorder, out: Path, *, kept: bool) -> None:
    check.detail("out", str(out))
    check.detail("kept", kept)
    try:
        import pydot

        check.detail("pydot", getattr(pydot, "__version__", "installed"))
    except ImportError as exc:
        check.detail("pydot", None)
        check.problem(f"pydot is not importable ({exc}): plot_model cannot draw ({TRAP})",
                      install_command("pydot>=3"))
    _look_for_dot(check)
    unwritable = _writable_dir(out)
    if unwritable:
        check.problem(f"cannot write to the output directory {out}: {unwritable}",
                      "pass a writable directory: --out DIR (or leave --out out for a temp dir)")
    if check.problems:
        return
    check.phase("importing Keras")
    keras = import_keras(check)
    check.phase("rendering the model graph (PNG and SVG)")
    model = tutorial.build_model(keras)
    files: dict[str, dict[str, Any]] = {}
    for ext in ("png", "svg"):
        path = out / f"model.{ext}"
        path.unlink(missing_ok=True)
        try:
            _plot(check, keras, model, path)
        except DotHung:
            break
        except Exception as exc:  # plot_model raises ImportError/OSError/pydot errors
            text = str(exc).strip().splitlines()
            message = f"{type(exc).__name__}: {text[0] if text else ''}"
            if not path.is_file() or path.stat().st_size == 0:
                check.problem(f"plot_model to {path} failed: {message}", install_fix())
                continue
            # With IPython installed, plot_model returns an inline image after writing the
            # file, and IPython cannot embed SVG: the file is what counts.
            check.detail(f"{ext}_note", f"file written; plot_model then raised {message}")
        size = path.stat().st_size if path.is_file() else 0
        files[ext] = {"path": str(path), "bytes": size}
        if size == 0:
            # In notebooks Keras prints the pydot/graphviz error instead of raising.
            check.problem(f"plot_model wrote no {ext.upper()} at {path}", install_fix())
        elif ext == "png" and not path.read_bytes().startswith(b"\x89PNG"):
            check.problem(f"{path} is not a PNG image", install_fix())
        elif ext == "svg" and b"<svg" not in path.read_bytes()[:4096]:
            check.problem(f"{path} is not an SVG image", install_fix())
    check.detail("files", files)
    sizes = ", ".join(f"{Path(f['path']).name} {f['bytes']:,} B" for f in files.values())
    where = f"in {out}" if kept else "(in a temporary folder, removed; --out DIR keeps them)"
    check.info(f"{sizes} {where} ({check.details.get('dot_version', 'dot')})")
