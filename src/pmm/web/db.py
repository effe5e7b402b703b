"""Database access for requests: writes in the store's transactions, reads without the write lock.

On SQLite the store begins every transaction with `BEGIN IMMEDIATE`, so writers queue instead of
failing half-way; a page that only reads needs no write lock, and taking it would make every
reader wait for every other one. `reading` opens a deferred transaction on SQLite (readers share
the database) and an ordinary one on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from pmm.store.engine import resolve_url, transaction

_readers: dict[str, Engine] = {}


def _reader(url: str) -> Engine | None:
    resolved = resolve_url(url)
    if make_url(resolved).get_backend_name() != "sqlite":
        return None
    if resolved not in _readers:
        engine = create_engine(resolved, connect_args={"timeout": 60, "isolation_level": None})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection) -> None:  # type: ignore[no-untyped-def]
            connection.exec_driver_sql("BEGIN")  # deferred: a shared lock only when reading

        _readers[resolved] = engine
    return _readers[resolved]


@contextmanager
def reading(url: str) -> Iterator[Session]:
    """A transaction for a request that only reads (rolled back at the end)."""
    engine = _reader(url)
    if engine is None:
        with transaction(url) as session:
            yield session
        return
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


def dispose_readers() -> None:
    for engine in _readers.values():
        engine.dispose()
    _readers.clear()
