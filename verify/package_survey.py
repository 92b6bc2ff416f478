"""What the packages check needs to know about the installed distributions, in one pass, and
optionally in a child process.

The survey (versions, unmet requirements, files that differ from RECORD) is pure Python work
over ~30,000 RECORD rows. verify runs it in a child interpreter while TensorFlow imports in
the parent (verify.preload): in-process, the two share one GIL and the import took 0.9 s
longer. ``python -m verify.package_survey [--deep]`` prints the survey as JSON.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from verify.child import LOW_PRIORITY, run_module
from verify.distributions import installed
from verify.installed_files import Damage, damaged_files
from verify.locks import broken_requirements, installed_versions

__all__ = ["Survey", "survey", "survey_in_child"]


@dataclass(frozen=True)
class Survey:
    """canonical name -> version; pip-check lines; damaged files of every distribution."""

    versions: dict[str, str]
    broken: list[str]
    damaged: list[Damage] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"versions": self.versions, "broken": self.broken,
                           "damaged": [asdict(d) for d in self.damaged]})

    @classmethod
    def from_json(cls, text: str) -> Survey:
        data: dict[str, Any] = json.loads(text)
        return cls(dict(data["versions"]), list(data["broken"]),
                   [Damage(**d) for d in data["damaged"]])


def survey(*, deep: bool = False) -> Survey:
    """The survey, in this process."""
    found = installed()
    return Survey(installed_versions(found), broken_requirements(found=found),
                  damaged_files(sorted(found), deep=deep, found=found))


def survey_in_child(*, deep: bool = False, timeout: float = 600) -> Survey:
    """The survey by this interpreter in a child process (verify.child); in-process when
    that fails."""
    done = run_module("verify.package_survey", ["--deep"] if deep else [], timeout=timeout,
                      niceness=LOW_PRIORITY)
    if done is not None and done.returncode == 0:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            return Survey.from_json(done.stdout.decode("utf-8"))
    return survey(deep=deep)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    print(survey(deep="--deep" in args).to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
