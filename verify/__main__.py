"""``python -m verify``: run the readiness checks (see ``--help``)."""

from __future__ import annotations

import sys

from verify.app import main

if __name__ == "__main__":
    sys.exit(main())
