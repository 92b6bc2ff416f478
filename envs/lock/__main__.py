"""Entry point for ``python -m envs.lock``."""

from envs.lock.cli import main

raise SystemExit(main())
