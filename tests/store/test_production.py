"""The production set-up of docs/secretariat-guide.md ("Running in production"), run as written
on the test PostgreSQL: the application role does every day's work but cannot change, remove or
un-trigger the audit trail."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from pmm.cli import run
from pmm.store.engine import dispose
from tests.assessment.conftest import COMPLETE, prepare, write_csv

GUIDE = Path(__file__).parents[2] / "docs" / "secretariat-guide.md"
pytestmark = pytest.mark.postgres


def guide_sql() -> list[str]:
    """The SQL blocks of the section, in order: superuser, superuser in `pmm`, owner."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("## Running in production"):]
    section = section[:section.index("\n## ", 1)]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.S)


@pytest.fixture
def production(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    server = request.getfixturevalue("postgres_server")
    if isinstance(server, str):
        pytest.skip(server)

    def connect(user: str, database: str) -> psycopg.Connection:
        return psycopg.connect(host=str(server.socket), user=user, dbname=database,
                               autocommit=True)

    as_superuser, in_database, as_owner = guide_sql()
    for statement in as_superuser.split(";\n"):
        if statement.strip():
            server.admin(statement)
    try:
        with connect("postgres", "pmm") as conn:
            conn.execute(in_database)
        owner = f"postgresql://pmm_owner@/pmm?host={server.socket}"
        assert run(["db", "upgrade", "--database-url", owner]) == 0
        with connect("pmm_owner", "pmm") as conn:
            conn.execute(as_owner)
        dispose(owner)
        yield server, connect
    finally:
        dispose()
        server.admin("DROP DATABASE IF EXISTS pmm WITH (FORCE)")
        server.admin("DROP ROLE IF EXISTS pmm_app")
        server.admin("DROP ROLE IF EXISTS pmm_owner")


def test_the_application_role_works_and_cannot_touch_the_audit_trail(
        production, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    server, connect = production
    app = prepare(f"postgresql://pmm_app@/pmm?host={server.socket}", monkeypatch)
    c = ["--cycle", "2024", "--member", "FRA", "--as", "ncp-fra"]
    assert run(["submission", "import", str(write_csv(tmp_path / "a.csv", COMPLETE)), *c]) == 0
    assert run(["submission", "set", *c, "release_time_mean_h", "9", "--reason", "typo"]) == 0
    assert run(["submission", "submit", *c]) == 0
    assert run(["db", "backup", str(tmp_path / "b.jsonl.gz")]) == 0
    assert run(["db", "verify", str(tmp_path / "b.jsonl.gz")]) == 0
    capsys.readouterr()
    assert run(["audit", "--member", "FRA", "--as", "sec"]) == 0
    assert "typo" in capsys.readouterr().out
    dispose(app)
    with connect("pmm_app", "pmm") as conn:
        for statement, refusal in (
                ("ALTER TABLE audit DISABLE TRIGGER ALL", "must be owner of table audit"),
                ("DROP TRIGGER audit_append_only ON audit", "must be owner of relation audit"),
                ("UPDATE audit SET reason = 'forged'", "permission denied for table audit"),
                ("DELETE FROM audit", "permission denied for table audit"),
                ("TRUNCATE audit", "permission denied for table audit"),
                ("UPDATE alembic_version SET version_num = 'x'", "permission denied")):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match=refusal):
                conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM audit WHERE reason = 'typo'").fetchone() == (1,)
    # the owner could disable the triggers: that is why the application must not be the owner
    with connect("pmm_owner", "pmm") as conn, pytest.raises(psycopg.errors.RaiseException):
        conn.execute("UPDATE audit SET reason = 'forged'")
