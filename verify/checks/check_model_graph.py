"""Model graph: keras.utils.plot_model writes PNG and SVG (pydot and Graphviz's dot work), and
draws a nested functional model with Keras' defaults (``expand_nested=True``, orthogonal edges),
as a user's first nested model is drawn: Graphviz 2.42/2.43 (Debian 12, Ubuntu) crashes there."""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
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
    SPLINE_WORKAROUND,
    TRAP,
    Deadline,
    DotHung,
    crash_text,
    dot_deadline,
    dot_version,
    find_dot_off_path,
    hung_fix,
    install_fix,
    newer_graphviz_fix,
    path_fix,
)
from verify.machine import Context, install_command
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


def test_model_graph(check: Recorder, options: Options, context: Context) -> None:
    if options.out is not None:
        _draw(check, options.out, context.variant, kept=True)
        return
    # Without --out the drawings are proof enough: nothing is left behind in /tmp.
    with tempfile.TemporaryDirectory(prefix="kerasup-verify-") as scratch:
        _draw(check, Path(scratch), context.variant, kept=False)


def nested_model(keras: Any) -> Any:
    """The model of Keras' own ``integration_tests/model_visualization_test.py``
    (``test_plot_nested_functional_model``, Keras 3.15.1): a functional model inside a
    functional model, with residual additions around it."""
    layers = keras.layers
    inputs = keras.Input((3,), name="input")
    x = layers.Dense(4, activation="relu", name="dense")(inputs)
    x = layers.Dense(4, activation="relu", name="dense_1")(x)
    inner = keras.Model(inputs, layers.Dense(3, activation="relu", name="dense_2")(x),
                        name="inner_model")
    inputs = keras.Input((3,), name="input_1")
    residual = layers.Dense(3, activation="relu", trainable=False, name="dense_3")(inputs)
    x = layers.Add(name="add")([inner(residual), residual])
    residual = x
    x = layers.Dense(4, activation="relu", name="dense_4")(x)
    x = layers.Dense(4, activation="relu", name="dense_5")(x)
    x = layers.Dense(3, activation="relu", name="dense_6")(x)
    x = layers.Add(name="add_1")([x, residual])
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="dense_7")(x)
    return keras.Model(inputs, outputs, name="nested")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _draw_nested(check: Recorder, keras: Any, out: Path, variant: str) -> dict[str, Any]:
    """Keras' defaults plus ``expand_nested=True``, as ``plot_model(model, expand_nested=True)``
    draws; one SVG (the layout, where Graphviz crashes, is the same for every format, and SVG
    skips PNG's rasterising: 0.01 s of dot's time against 0.16 s)."""
    path = out / "nested_model.svg"
    path.unlink(missing_ok=True)
    model = nested_model(keras)
    said = io.StringIO()  # pydot prints dot's stderr (the assertion) rather than raising it
    try:
        with contextlib.redirect_stdout(said):
            keras.utils.plot_model(model, to_file=str(path), expand_nested=True)
    except Exception as exc:  # pydot raises AssertionError("... returned code: -6")
        crash = crash_text(f"{exc}\n{said.getvalue()}")
        if crash is not None:
            _diagnose_crash(check, keras, model, path, crash, variant)
            return {}
        if not _drawn(path):  # with IPython installed, plot_model raises after writing an
            check.problem(f"plot_model(expand_nested=True) to {path} failed: "  # SVG
                          f"{_first_line(exc)}", install_fix())
            return {}
    if not _drawn(path):
        check.problem(f"plot_model(expand_nested=True) wrote no SVG at {path}", install_fix())
        return {}
    return {"path": str(path), "bytes": path.stat().st_size}


def _drawn(path: Path) -> bool:
    return path.is_file() and b"<svg" in path.read_bytes()[:4096]


def _diagnose_crash(check: Recorder, keras: Any, model: Any, path: Path, crash: str,
                    variant: str) -> None:
    """Graphviz died on the nested model: say which Graphviz, and what works on it."""
    version = str(check.details.get("dot_version", "unknown"))
    check.detail("nested_crash", crash)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            keras.utils.plot_model(model, to_file=str(path), expand_nested=True,
                                   splines="spline")
    except Exception as exc:  # SVG: raised after writing, with IPython; else a real failure
        if not _drawn(path):
            check.detail("spline_error", _first_line(exc))
    works = _drawn(path)
    path.unlink(missing_ok=True)
    check.detail("spline_workaround_works", works)
    fix = [f"draw with curved edges, which works with this Graphviz: keras.utils.plot_model("
           f'model, "model.png", expand_nested=True, {SPLINE_WORKAROUND})'] if works else []
    fix.append(newer_graphviz_fix(variant))
    # A warning when curved edges draw on this Graphviz (the example and the notebook fall
    # back to them, so the environment can draw every model); a failure when nothing does.
    say = check.warning if works else check.problem
    say(f"Graphviz ({version}) crashed drawing a nested model with Keras' defaults "
                  f'(expand_nested=True, splines="ortho"): {crash}; a nested model cannot be '
                  "drawn as plot_model draws it", "\n".join(fix))


def _draw(check: Recorder, out: Path, variant: str, *, kept: bool) -> None:
    check.detail("out", str(out))
    check.detail("kept", kept)
    try:
        import pydot

        check.detail("pydot", getattr(pydot, "__version__", "installed"))
    except ImportError as exc:
        check.detail("pydot", None)
        check.problem(f"pydot is not importable ({exc}): plot_model cannot draw ({TRAP})",
                      install_command("pydot>=3"))
    dot = shutil.which("dot")
    check.detail("dot", dot)
    if dot:
        try:
            check.detail("dot_version", dot_version(dot))
        except DotHung as exc:  # a broken Graphviz or a wedged mount: drawing would hang too
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
    unwritable = _writable_dir(out)
    if unwritable:
        check.problem(f"cannot write to the output directory {out}: {unwritable}",
                      "pass a writable directory: --out DIR (or leave --out out for a temp dir)")
    if check.problems:
        return
    check.phase("importing Keras")
    keras = import_keras(check)
    check.phase("rendering the model graph (PNG and SVG)")
    with dot_deadline() as deadline:  # pydot sets no timeout: a dot past it is ended
        files = _draw_flat(check, keras, out, deadline)
        if not deadline.expired:
            check.phase("rendering a nested model with Keras' defaults (expand_nested=True)")
            nested = _draw_nested(check, keras, out, variant)
            if nested:
                files["nested_svg"] = nested
    if deadline.expired:
        dot = str(check.details.get("dot") or "dot")
        check.problem(f"Graphviz's dot ({dot}) did not finish drawing within "
                      f"{RENDER_TIMEOUT:g} s and was ended", hung_fix(dot))
    check.detail("files", files)
    sizes = ", ".join(f"{Path(f['path']).name} {f['bytes']:,} B" for f in files.values())
    where = f"in {out}" if kept else "(in a temporary folder, removed; --out DIR keeps them)"
    check.info(f"{sizes} {where} ({check.details.get('dot_version', 'dot')})")


def _draw_flat(check: Recorder, keras: Any, out: Path,
               deadline: Deadline) -> dict[str, dict[str, Any]]:
    """The tutorial's network, PNG and SVG, with shapes and names (stops once a dot hung)."""
    model = tutorial.build_model(keras)
    files: dict[str, dict[str, Any]] = {}
    for ext in ("png", "svg"):
        if deadline.expired:
            break
        path = out / f"model.{ext}"
        path.unlink(missing_ok=True)
        try:
            keras.utils.plot_model(model, to_file=str(path), show_shapes=True,
                                   show_layer_names=True)
        except Exception as exc:  # plot_model raises ImportError/OSError/pydot errors
            if deadline.expired:  # dot hung and was ended: the caller names that cause
                break
            message = _first_line(exc)
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
    return files
