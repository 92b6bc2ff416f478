"""keras.json and KERAS_BACKEND: the effective backend, its source, and whether it is valid."""

from __future__ import annotations

import os
from pathlib import Path

from envs.contract.facts import VARIANTS
from envs.contract.keras_json import KerasJsonLinkError, location, read, update
from verify.cli import Options
from verify.keras_config import evaluate
from verify.machine import Context
from verify.plugin import Recorder

EXPECTED_BACKEND = dict.fromkeys(VARIANTS, "tensorflow")  # every variant runs TensorFlow


def _repair(check: Recorder, path: Path, expected: str) -> None:
    """--fix: the contract's update (backup kept, a non-file moved aside, links refused)."""
    try:
        done = update(path, expected)
    except KerasJsonLinkError as exc:
        check.fail(exc.message, exc.fix)
    except OSError as exc:
        check.fail(f"--fix could not write {path}: {exc.strerror or exc}",
                   f"make {path} and its folder writable, or set KERAS_HOME to a "
                   "writable folder")
    check.detail("fixed", done.action)
    check.detail("backup", str(done.backup) if done.backup else None)


def test_keras_json(check: Recorder, options: Options, context: Context) -> None:
    expected = EXPECTED_BACKEND.get(context.variant, "tensorflow")
    path = location()
    cfg = read(path)
    finding = evaluate(cfg, os.environ, expected)
    if options.fix and finding.fixable:
        _repair(check, path, expected)
        cfg = read(path)
        finding = evaluate(cfg, os.environ, expected)
    check.detail("path", str(path))
    check.detail("kind", cfg.kind)
    check.detail("exists", cfg.kind != "missing")
    check.detail("backend", finding.backend)
    check.detail("backend_source", finding.backend_source)
    check.detail("expected_backend", expected)
    check.detail("settings", finding.settings)
    for text, fix in finding.problems:
        check.problem(text, fix)
    for text, fix in finding.warnings:
        check.warning(text, fix)
    source = ("KERAS_BACKEND" if finding.backend_source.startswith("KERAS_BACKEND") else
              finding.backend_source)
    where = f"settings from {path}" if cfg.kind != "missing" else f"no {path}: Keras defaults"
    if "fixed" in check.details:
        backup = check.details["backup"]
        where = f"fixed {path} ({check.details['fixed']})" + (
            f", old one kept as {backup}" if backup else "")
    check.info(f"backend {finding.backend} (from {source}); {where}")
