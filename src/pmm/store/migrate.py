"""Alembic, shipped inside the package and driven from code (`pmm db upgrade`).

The schema check that every transaction makes (`current`, `head`, `ensure_current`) lives in
`pmm.store.engine`; this module only upgrades.
"""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection

from pmm.store.engine import (
    alembic_config,
    current,
    get_engine,
    head,
    schema_changed,
)

__all__ = ["current", "head", "upgrade", "upgrade_on"]


def upgrade(url: str | None = None, revision: str = "head") -> str:
    """Bring the database to `revision` (default: the newest); returns the revision reached."""
    engine = get_engine(url)
    current(engine)  # a clear message when the database cannot be reached
    with engine.begin() as connection:
        upgrade_on(connection, revision)
    return current(engine) or ""


def upgrade_on(connection: Connection, revision: str = "head") -> None:
    """Migrate inside the caller's transaction (DDL is transactional on both backends), so a
    caller that fails later (a restore) leaves no schema behind."""
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
    schema_changed(connection.engine)
