"""Lock each variant's environment.yml into hashed pip locks and a conda-lock file.

Run it as ``python -m envs.lock`` (``nox -s lock``); ``--check`` works offline and only needs
pyyaml, packaging and conda-lock.
"""

from envs.lock.errors import LockError

__all__ = ["LockError"]
