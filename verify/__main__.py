"""``python -m verify``: run the readiness checks (see ``--help``).

The environment is checked before pytest or TensorFlow is imported, so a Python that is not
a kerasup environment gets one line naming the one to use, not an ImportError traceback.
"""

from __future__ import annotations

import sys

from envs.contract.errors import KerasupError


def _run() -> int:
    from verify.preflight import check_environment

    if not {"-h", "--help", "--version", "--list"} & set(sys.argv[1:]):
        try:
            check_environment()
        except KerasupError as exc:
            print(f"python -m verify: error: {exc.one_line()}", file=sys.stderr)
            return int(exc.code)
    from verify import preload
    from verify.app import main

    code = main()
    if "tensorflow" in sys.modules or preload.alive():
        preload.exit_now(code)  # reports committed: skip TensorFlow's teardown (and its import)
    return code


if __name__ == "__main__":
    sys.exit(_run())
