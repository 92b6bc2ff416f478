"""The one exception the lock step raises for bad input: its message is a complete, one-line
explanation with the fix, printed without a traceback."""

__all__ = ["LockError"]


class LockError(Exception):
    """A problem the user can fix; str(error) is a single line naming the fix."""
