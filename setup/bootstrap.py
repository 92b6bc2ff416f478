"""kerasup setup: ``python setup/bootstrap.py [options]`` (``--help`` lists them).

A shim kept at this path because ubuntu.sh, windows.ps1, the noxfile and users call it. The
installer itself is the package :mod:`setup.installer` (standard library only, Python
3.10+): preflight -> Python -> plan -> environment -> site hook -> record -> keras.json ->
``python -m verify``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    # The repository root, so `setup.installer` and `envs.contract` import from this checkout
    # (and from nowhere else: it goes first).
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if any(arg.startswith("--index-url") for arg in sys.argv[1:]):
        import os

        from setup.installer.credentials import hide_from_argv

        # Before the installer's imports (a third of a second): a token typed in the URL is
        # in this process's argv, which every account can read, until it starts again.
        hide_from_argv(os.environ)
    from setup.installer.cli import main

    sys.exit(main())
