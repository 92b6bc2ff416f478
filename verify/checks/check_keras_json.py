"""keras.json and KERAS_BACKEND: the effective backend, its source, and whether it is valid."""

from __future__ import annotations

import os

from verify.cli import Options
from verify.keras_config import config_path, evaluate, read_config, write_fixed
from verify.machine import Context
from verify.plugin import Recorder

EXPECTED_BACKEND = {"cpu": "tensorflow", "gpu": "tensorflow"}


def test_keras_json(check: Recorder, options: Options, context: Context) -> None:
    expected = EXPECTED_BACKEND.get(context.variant, "tensorflow")
    path = config_path()
    cfg = read_config(path)
    finding = evaluate(cfg, os.environ, expected)
    if options.fix and finding.fixable:
        try:
            backup = write_fixed(cfg, expected)
        except OSError as exc:
            check.fail(f"--fix could not write {path}: {exc.strerror or exc}",
                       f"make {path.parent} writable, or set KERAS_HOME to a writable folder")
        check.detail("fixed", str(path))
        check.detail("backup", str(backup) if backup else None)
        cfg = read_config(path)
        finding = evaluate(cfg, os.environ, expected)
    check.detail("path", str(path))
    check.detail("exists", cfg.exists)
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
    where = f"settings from {path}" if cfg.exists else f"no {path}: Keras defaults"
    if "fixed" in check.details:
        backup = check.details["backup"]
        where = f"fixed {path}" + (f", backup {backup}" if backup else "")
    check.info(f"backend {finding.backend} (from {source}); {where}")
