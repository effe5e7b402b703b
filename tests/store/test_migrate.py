"""`pmm db upgrade` on both backends; the models and the migrations describe the same schema."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from pmm.cli import run
from pmm.store.engine import get_engine, resolve_url
from pmm.store.migrate import current, head
from pmm.store.models import Base


def test_upgrade_creates_the_schema_of_the_models(empty_database_url: str, capsys) -> None:
    assert current(get_engine(empty_database_url)) is None
    assert run(["db", "upgrade", "--database-url", empty_database_url]) == 0
    assert head() in capsys.readouterr().out
    engine = get_engine(empty_database_url)
    assert current(engine) == head()
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    assert run(["db", "upgrade", "--database-url", empty_database_url]) == 0  # idempotent


def test_commands_refuse_a_database_never_upgraded(empty_database_url: str, capsys) -> None:
    assert run(["cycle", "list", "--database-url", empty_database_url, "--as", "sec"]) != 0
    assert "pmm db upgrade" in capsys.readouterr().err


def test_plain_postgresql_url_uses_psycopg() -> None:
    assert resolve_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert resolve_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"


def test_default_url_is_sqlite_in_current_folder(monkeypatch) -> None:
    monkeypatch.delenv("PMM_DATABASE_URL", raising=False)
    assert resolve_url(None) == "sqlite:///pmm.db"
    monkeypatch.setenv("PMM_DATABASE_URL", "sqlite:////x/y.db")
    assert resolve_url(None) == "sqlite:////x/y.db"


@pytest.mark.parametrize("statement", ["UPDATE audit SET actor = 'x'", "DELETE FROM audit"])
def test_audit_table_refuses_update_and_delete(database_url: str, statement: str) -> None:
    engine = get_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit (at, actor, action, entity, key, field, reason) "
                          "VALUES (CURRENT_TIMESTAMP, 'a', 'test', 'x', '', '', '')"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit")).scalars().all() == ["a"]
