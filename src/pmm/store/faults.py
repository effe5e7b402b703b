"""When the database fails: one clear error per cause, never SQL or values on screen.

The engine (`pmm.store.engine`) hands every driver error (SQLite's `sqlite3`, PostgreSQL's
psycopg) to `translate`, which turns the causes an operator can act on into an `Unavailable`
error of their own kind; the CLI maps the kind to an exit code and the web platform to an HTTP
status, so both say the same thing. The SQL and its bound parameters (member values) stay out of
the message: they are attached as a note, which `pmm` prints only with `PMM_DEBUG=1`.

| cause | class | exit code | HTTP |
|---|---|---|---|
| cannot reach or open the database | `Unavailable` | 69 | 503 |
| read-only database | `ReadOnly` | 73 | 503 |
| disk or size limit full | `DiskFull` | 74 | 507 |
| connection lost mid-command, busy, deadlock | `ConnectionLost` | 75 | 503 |
"""

from __future__ import annotations

import sqlite3

from pmm.errors import Unavailable
from pmm.i18n import _


class ReadOnly(Unavailable):
    """The database accepts reads only (a read-only file, replica or setting)."""

    kind = "read_only"
    exit_code = 73  # sysexits EX_CANTCREAT: cannot write


class DiskFull(Unavailable):
    """No space left for the database (disk full, or its size limit reached)."""

    kind = "disk_full"
    exit_code = 74  # sysexits EX_IOERR
    http_status = 507


class ConnectionLost(Unavailable):
    """The database stopped answering mid-command, or was too busy: worth trying again."""

    kind = "connection_lost"
    exit_code = 75  # sysexits EX_TEMPFAIL: try again later


# SQLite primary result codes (https://sqlite.org/rescode.html)
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_IOERR = 5, 6, 8, 10
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 11, 13, 14, 26


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def translate(error: BaseException, url: str, *, connecting: bool,
              committing: bool = False, disconnect: bool = False) -> Unavailable | None:
    """The operator's error for a driver error, or None when it is not one of the causes above
    (a bug: the caller lets it through and the CLI says "internal error" without its SQL).

    `connecting`: raised while opening a connection; `committing`: raised by COMMIT (the change
    may then have been saved); `disconnect`: the driver reports the connection broken.
    """
    if isinstance(error, sqlite3.Error):
        return _sqlite(error, url)
    state = getattr(error, "sqlstate", None)
    if connecting:
        return Unavailable(_("Cannot reach the database {url}: {reason}. Nothing was "
                             "saved.").format(url=url, reason=_first_line(error)))
    if state == "25006":  # read_only_sql_transaction
        return _read_only(url)
    if state == "53100":  # disk_full
        return _full(url)
    if state in ("40001", "40P01", "55P03", "53300"):  # serialization, deadlock, lock, conns
        return _busy(url)
    if disconnect or (state or "").startswith(("08", "57P")):  # connection, shutdown
        if committing:
            return ConnectionLost(_(
                "The database {url} stopped answering while saving: the change may or may not "
                "have been saved. Check (e.g. with `pmm submission show` or `pmm audit`) before "
                "running the command again.").format(url=url))
        return ConnectionLost(_(
            "The database {url} stopped answering (the connection was lost); nothing was "
            "saved. Run the command again when the database is back.").format(url=url))
    return None


def _sqlite(error: sqlite3.Error, url: str) -> Unavailable | None:
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
    if code == _SQLITE_READONLY:
        return _read_only(url)
    if code == _SQLITE_FULL:
        return _full(url)
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return _busy(url)
    if code in (_SQLITE_CANTOPEN, _SQLITE_IOERR):
        return Unavailable(_("Cannot reach the database {url}: {reason}. Nothing was "
                             "saved.").format(url=url, reason=_first_line(error)))
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return Unavailable(_("The database {url} is damaged or is not a database file ({reason}). "
                             "Nothing was saved: restore it from a backup.").format(
            url=url, reason=_first_line(error)))
    return None


def _read_only(url: str) -> ReadOnly:
    return ReadOnly(_("The database {url} is read-only; nothing was saved. Reading still works; "
                      "to change data, connect to a writable database (not a replica, a "
                      "read-only file or a database set to read-only).").format(url=url))


def _full(url: str) -> DiskFull:
    return DiskFull(_("The database {url} is full (no space left on its disk, or its size limit "
                      "reached); nothing was saved. Free space and run the command "
                      "again.").format(url=url))


def _busy(url: str) -> ConnectionLost:
    return ConnectionLost(_("The database {url} is busy: another command kept it locked too long "
                            "or the two blocked each other; nothing was saved. Run the command "
                            "again.").format(url=url))
