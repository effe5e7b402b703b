"""Database access for requests: writes in the store's transactions, reads without the write lock.

On SQLite the store begins every transaction with `BEGIN IMMEDIATE`, so writers queue instead of
failing half-way; a page that only reads needs no write lock, and taking it would make every
reader wait for every other one. `reading` opens a deferred transaction on SQLite (readers share
the database) and an ordinary one on PostgreSQL.

`cycle_peers` caches a cycle's values (read for the outlier warnings of every submission page)
keyed by the cycle's submission count and newest change, read from the database on each call,
so every worker serves the same answer as soon as anything changes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from pmm.assessment.tables import cycle_values
from pmm.store.engine import resolve_url, transaction
from pmm.store.models import Cycle, Submission

_readers: dict[str, Engine] = {}
_peers: OrderedDict[tuple, pd.DataFrame] = OrderedDict()


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


def cycle_peers(session: Session, year: int) -> pd.DataFrame:
    """Every submission's current values in cycle `year` (cached while nothing changes)."""
    count, newest = session.execute(
        select(func.count(Submission.id), func.max(Submission.updated_at))
        .join(Cycle, Cycle.id == Submission.cycle_id).where(Cycle.year == year)).one()
    bind = session.get_bind()
    key = (str(bind.url), year, count, str(newest))
    found = _peers.get(key)
    if found is None:
        found = cycle_values(session, year)
        _peers[key] = found
        while len(_peers) > 8:
            _peers.popitem(last=False)
    else:
        _peers.move_to_end(key)
    return found


def dispose_readers() -> None:
    for engine in _readers.values():
        engine.dispose()
    _readers.clear()
