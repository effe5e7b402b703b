"""The database layer: SQLAlchemy schema, Alembic migrations (shipped here), audit trail, users,
backup and restore.

`transaction(url)` is the one way services get a session; the URL defaults to
`PMM_DATABASE_URL`, else `sqlite:///pmm.db` in the current folder.
"""

from pmm.store.engine import get_engine, resolve_url, transaction

__all__ = ["get_engine", "resolve_url", "transaction"]
