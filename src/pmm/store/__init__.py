"""The database layer: SQLAlchemy schema, Alembic migrations (shipped here), audit trail, users,
backup and restore.

`transaction(url)` is the one way services get a session; the URL defaults to
`PMM_DATABASE_URL`, else `sqlite:///pmm.db` in the current folder.
"""

from typing import Any

__all__ = ["get_engine", "resolve_url", "transaction"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so that commands that never touch the database start fast.
    if name in __all__:
        from pmm.store import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'pmm.store' has no attribute {name!r}")
