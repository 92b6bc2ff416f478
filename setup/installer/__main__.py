"""``python -m setup.installer``: the same command line as ``setup/bootstrap.py``."""

from __future__ import annotations

import sys

from setup.installer.cli import main

sys.exit(main())
