"""The lock step's error: the contract's :class:`~envs.contract.errors.LockError`.

It is defined once, in the contract, because verify and setup read the same locks and report
the same problems; the lock step re-exports it under its historical name.
"""

from envs.contract.errors import LockError

__all__ = ["LockError"]
