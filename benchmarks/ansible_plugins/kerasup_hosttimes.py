"""Ansible callback for benchmarks/fleet_50.py: how long each host's own tasks ran.

A task's time for a host runs from the worker starting it for that host to its result, so
waiting for a free fork is not counted. Written as JSON {host: seconds} to the file named by
KERASUP_BENCH_TIMES when the playbook ends. Enabled only by the benchmark.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    """Sums each host's task run times."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kerasup_hosttimes"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._started: dict[tuple[str, str], float] = {}
        self._busy: dict[str, float] = {}

    def v2_runner_on_start(self, host: Any, task: Any) -> None:
        self._started[(host.get_name(), task._uuid)] = time.monotonic()

    def _done(self, result: Any, *_: Any, **__: Any) -> None:
        host = result._host.get_name()
        started = self._started.pop((host, result._task._uuid), None)
        if started is not None:
            self._busy[host] = self._busy.get(host, 0.0) + time.monotonic() - started

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = _done
    v2_runner_on_unreachable = _done

    def v2_playbook_on_stats(self, stats: Any) -> None:
        out = os.environ.get("KERASUP_BENCH_TIMES")
        if out:
            Path(out).write_text(json.dumps(self._busy), encoding="utf-8")
