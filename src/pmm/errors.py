"""The errors a user sees: a clear message in the domain's words, never a traceback.

Every layer raises `PmmError` (or a subclass) for a request that cannot be served. Each error has a
kind; the CLI maps it to an exit code and the web platform to an HTTP status, so a service never
needs to know who called it. Each line should name the file, row or cell, the field, the value and
what was expected, and speak of the domain ("no cycle reports on 2031"), not of command-line flags.

| kind | class | exit code | HTTP |
|---|---|---|---|
| invalid | `PmmError` | 2 | 422 |
| conflict | `ConflictError` | 3 | 409 |
| forbidden | `PermissionDenied` | 4 | 403 |
| not found | `NotFound` | 5 | 404 |
| unavailable | `Unavailable` | 69 | 503 |
"""

from __future__ import annotations


class PmmError(Exception):
    """Invalid input or request: one or more self-explanatory lines."""

    kind = "invalid"
    exit_code = 2
    http_status = 422

    def __init__(self, *lines: str) -> None:
        self.lines = [line for line in lines if line]
        super().__init__("\n".join(self.lines))


class ConflictError(PmmError):
    """A stale write: someone else changed the record since it was read."""

    kind = "conflict"
    exit_code = 3
    http_status = 409


class PermissionDenied(PmmError):
    """The principal may not read this or do this."""

    kind = "forbidden"
    exit_code = 4
    http_status = 403


class NotFound(PmmError):
    """What was asked for does not exist (no such cycle, member, user, submission)."""

    kind = "not_found"
    exit_code = 5
    http_status = 404


class Unavailable(PmmError):
    """The platform cannot serve the request now (the database stopped answering, is read-only
    or full); nothing was saved. The exit code is sysexits' EX_UNAVAILABLE."""

    kind = "unavailable"
    exit_code = 69
    http_status = 503
