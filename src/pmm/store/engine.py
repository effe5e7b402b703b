"""Engines and transactions: one URL picks SQLite (embedded default) or PostgreSQL.

`postgresql://user@host/db` is accepted as users write it and rewritten to the psycopg 3 driver.
Concurrency, the same on both backends: a command that changes a submission without naming the
version it read waits for any other writer of that submission and applies on top of what it
committed; with a version (`--expect-version`, a workbook's version) a stale write is refused as a
conflict. On SQLite every transaction starts with `BEGIN IMMEDIATE`, so writers queue on the
database lock (up to the busy timeout); on PostgreSQL a writer locks the submission's row before
reading it (`pmm.assessment.submissions.lock`), which queues writers of the same submission.

Driver errors pass through `pmm.store.faults.translate` here, so the CLI and the web platform both
get one clear error per cause (unreachable, connection lost, read-only, full) without SQL.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session

from pmm.errors import PmmError
from pmm.i18n import _
from pmm.store import faults

DEFAULT_URL = "sqlite:///pmm.db"
ENV_VAR = "PMM_DATABASE_URL"


def resolve_url(url: str | None = None) -> str:
    """The URL to use: the argument, else `PMM_DATABASE_URL`, else `sqlite:///pmm.db` here."""
    url = url or os.environ.get(ENV_VAR) or DEFAULT_URL
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def display_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


_engines: dict[tuple[str, bool], Engine] = {}


def get_engine(url: str | None = None, *, reads_only: bool = False) -> Engine:
    """One engine per URL (and, on SQLite, per kind of transaction) for the life of the process
    (see `dispose`). On SQLite, `reads_only` transactions begin deferred: readers share the
    database instead of queueing on the write lock."""
    resolved = resolve_url(url)
    key = (resolved, reads_only and resolved.startswith("sqlite"))
    if key not in _engines:
        _engines[key] = _create(resolved, reads_only=key[1])
    return _engines[key]


def dispose(url: str | None = None) -> None:
    """Close the pooled connections of one URL's engines (all engines if None) and forget them."""
    keys = list(_engines) if url is None else [k for k in _engines if k[0] == resolve_url(url)]
    for key in keys:
        engine = _engines.pop(key, None)
        if engine is not None:
            engine.dispose()
    _checked.clear()  # the next engine checks its schema again


def _create(resolved: str, *, reads_only: bool = False) -> Engine:
    try:
        parsed = make_url(resolved)
    except ArgumentError:
        raise PmmError(_("Database URL {url!r} is not valid; expected e.g. sqlite:///pmm.db or "
                         "postgresql://user@host/db.").format(url=resolved)) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _check_sqlite_file(parsed.database, resolved)
        # Connections are pooled per process (SQLAlchemy's QueuePool for a file), so the pragmas
        # below run once per connection, not per request.
        engine = create_engine(resolved, connect_args={
            "timeout": BUSY_TIMEOUT_S, "isolation_level": None})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            _sqlite_pragmas(dbapi_connection)

        @event.listens_for(engine, "begin")
        def _begin(connection) -> None:  # type: ignore[no-untyped-def]
            connection.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")

    elif backend == "postgresql":
        engine = create_engine(resolved, pool_pre_ping=True)
    else:
        raise PmmError(_("Database URL {url!r}: only SQLite and PostgreSQL are supported.").format(
            url=display_url(resolved)))
    where = display_url(resolved)

    @event.listens_for(engine, "handle_error")
    def _translate(context) -> Exception | None:  # type: ignore[no-untyped-def]
        if context.is_pre_ping:  # the pool replaces a dead pooled connection by itself
            return None
        found = faults.translate(
            context.original_exception, where, connecting=context.connection is None,
            committing=context.connection is not None and context.statement is None,
            disconnect=context.is_disconnect)
        if found is not None:
            # The statement and its parameters (member values) only for PMM_DEBUG=1.
            found.add_note(str(context.sqlalchemy_exception or context.original_exception))
        return found

    return engine


# How long an SQLite writer waits for another (in any process) before giving up: a save never
# fails with "database is locked" while another worker is committing.
BUSY_TIMEOUT_S = 60


def _sqlite_pragmas(dbapi_connection: Any) -> None:
    """Every SQLite connection: foreign keys enforced; write-ahead log, so readers read their
    snapshot while a writer writes (a reader never waits on a writer, nor a writer on readers);
    synchronous=NORMAL, which is safe in WAL mode (a power cut may lose the last commits, never
    corrupts) and spares an fsync per commit; the busy timeout made explicit."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        # persistent in the file once set, so set only when the file is not in WAL yet: setting
        # it again on every connection re-initialises the WAL under the other processes' feet
        # (seen here as "database disk image is malformed" with two workers writing); a no-op
        # for ":memory:"; a read-only file keeps its journal mode (reading still works)
        mode = cursor.execute("PRAGMA journal_mode").fetchone()
        if mode is None or str(mode[0]).lower() not in ("wal", "memory"):
            with contextlib.suppress(sqlite3.OperationalError):
                cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


SQLITE_HEADER = b"SQLite format 3\x00"
_VERIFIED: set[tuple[str, int, int]] = set()  # SQLite files already read (path, device, inode)


def _check_sqlite_file(database: str | None, url: str) -> None:
    """Refuse a URL whose file exists but is not an SQLite database (a CSV, a workbook, a
    folder), before SQLite fails on it with a bare "file is not a database"."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.is_dir():
        raise PmmError(_("Database URL {url!r}: {path} is a folder, not an SQLite database "
                         "file.").format(url=display_url(url), path=path))
    try:
        stat = path.stat()
    except FileNotFoundError:
        return  # a new database is created there
    except OSError:
        stat = None
    known = (str(path.resolve()), stat.st_dev, stat.st_ino) if stat is not None else None
    if known in _VERIFIED:
        # Read once per file and process: closing any descriptor of the file drops every POSIX
        # lock this process holds on it, those of SQLite's open connections in other threads
        # included (a new engine after `dispose` while they work: "database disk image is
        # malformed" for the next reader, https://www.sqlite.org/howtocorrupt.html, 2.2).
        return
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return  # a new database is created there
    except OSError as exc:
        raise PmmError(_("Database URL {url!r}: {path} cannot be read ({error}).").format(
            url=display_url(url), path=path, error=exc.strerror)) from None
    if head == SQLITE_HEADER and known is not None:
        _VERIFIED.add(known)
    if head and head != SQLITE_HEADER:
        raise PmmError(_("Database URL {url!r}: {path} is not an SQLite database (it starts with "
                         "{start!r}); give the database file, e.g. sqlite:///pmm.db, not a data "
                         "file.").format(url=display_url(url), path=path,
                                         start=head.decode("utf-8", "replace")))


@contextmanager
def transaction(url: str | None = None, *, check_schema: bool = True) -> Iterator[Session]:
    """A session in one transaction: committed at the end, rolled back on any error.

    Everything a command changes happens inside one of these, so a failure (or a crash, which
    the database rolls back) leaves the database as it was.
    """
    engine = get_engine(url)
    if check_schema:
        ensure_current(engine)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def reading(url: str | None = None) -> Iterator[Session]:
    """A transaction that only reads (a web page, a download): on SQLite it takes no write lock,
    so readers never wait for one another; database faults are reported as for any other."""
    engine = get_engine(url, reads_only=True)
    ensure_current(engine)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


# The schema check lives here, below `pmm.store.migrate` (which upgrades), so that the two never
# import each other. Alembic is imported only when a schema is checked: commands that never touch
# the database start fast.
_checked: set[str] = set()


def alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "pmm.store:migrations")
    return config


def head() -> str:
    """The newest schema revision this version of the code knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def current(engine: Engine, connection: Connection | None = None) -> str | None:
    """The schema revision of the database (None: never upgraded), read on `connection` if
    given (inside its transaction)."""
    from alembic.runtime.migration import MigrationContext

    try:
        if connection is not None:
            return MigrationContext.configure(connection).get_current_revision()
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise PmmError(_("Cannot open the database {url}: {error}").format(
            url=display_url(str(engine.url)), error=str(exc.orig).strip())) from None


def ensure_current(engine: Engine) -> None:
    """Refuse to work on a database whose schema is not this code's (checked once per engine)."""
    if _key(engine) in _checked:
        return
    found, wanted = current(engine), head()
    if found != wanted:
        where = display_url(str(engine.url))
        if found is None:
            raise PmmError(_("The database {url} is not initialised: run `pmm db upgrade` "
                             "first.").format(url=where))
        raise PmmError(_("The database {url} is at schema revision {found}, this version needs "
                         "{wanted}: run `pmm db upgrade`.").format(url=where, found=found,
                                                                    wanted=wanted))
    _checked.add(_key(engine))


def schema_changed(engine: Engine) -> None:
    """Check this engine's schema again before its next transaction (after an upgrade)."""
    _checked.discard(_key(engine))


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)
