"""The one exception type a user sees: a clear message, never a traceback.

Every layer raises `PmmError` (or a subclass) for bad input; the CLI and the web app print its
lines and exit non-zero. Each line should name the file, row or cell, the field, the value and
what was expected.
"""

from __future__ import annotations


class PmmError(Exception):
    """A user-facing error made of one or more self-explanatory lines."""

    exit_code = 2

    def __init__(self, *lines: str) -> None:
        self.lines = [line for line in lines if line]
        super().__init__("\n".join(self.lines))


class ConflictError(PmmError):
    """A stale write: someone else changed the record since it was read."""

    exit_code = 3


class PermissionDenied(PmmError):
    """The actor's role does not allow this action."""

    exit_code = 4
