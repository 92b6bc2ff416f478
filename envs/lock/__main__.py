"""Entry point for ``python -m envs.lock``.

The lock step runs inside its own tooling (``nox -s lock``: conda-lock, py-rattler, uv,
pyyaml, packaging). Run from any other Python it says so in one line (exit 2) instead of
failing with an ImportError traceback.
"""

import importlib.util
import sys

from envs.contract.errors import ExitCode, UsageError

_TOOLING = ("conda_lock", "yaml", "packaging")


def _missing_tooling() -> list[str]:
    return [name for name in _TOOLING if importlib.util.find_spec(name) is None]


missing = _missing_tooling()
if missing:
    error = UsageError(
        f"this Python ({sys.executable}) lacks the lock step's tooling "
        f"({', '.join(missing)} not installed)",
        fix="run it through nox, which builds that environment: nox -s lock "
            "(nox -s lock -- --check to check the committed locks)")
    print(f"python -m envs.lock: error: {error.one_line()}", file=sys.stderr)
    raise SystemExit(ExitCode.USAGE)

from envs.lock.cli import main  # noqa: E402  (after the tooling check, on purpose)

raise SystemExit(main())
