"""When the database fails, the user reads one clear line per cause with its own exit code, and
never the SQL or the values it carried (those only with PMM_DEBUG=1); nothing is saved.

| cause | exit |
|---|---|
| cannot reach the database | 69 |
| read-only | 73 |
| full | 74 |
| connection lost mid-command | 75 |
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from pmm.cli import run
from pmm.store.engine import dispose, get_engine
from tests.assessment.conftest import COMPLETE, prepare, write_csv

C = ["--cycle", "2024", "--member", "FRA", "--as", "ncp-fra"]
SECRET = "123456789.25"  # a member value in the imported file: never on screen


def snapshot(capsys) -> tuple[str, str]:
    capsys.readouterr()
    assert run(["submission", "export", "--cycle", "2024", "--member", "FRA", "--as", "sec"]) == 0
    exported = capsys.readouterr().out
    assert run(["audit", "--format", "csv", "--as", "sec"]) == 0
    return exported, capsys.readouterr().out


def clean(output: str) -> bool:
    """No SQL, no bound values, no traceback."""
    return not any(word in output for word in (
        "INSERT", "SELECT", "UPDATE ", "[SQL", "parameters", SECRET, "Traceback",
        "Internal error"))


def failed_import(tmp_path: Path, capsys, code: int) -> str:
    # a long reason takes new pages wherever it is stored
    reason = "not measured: " + "the border agency's figures were not shared; " * 400
    path = write_csv(tmp_path / "in.csv", COMPLETE,
                     [f"release_time,,,,,not_applicable,restricted,{reason}"])
    capsys.readouterr()
    assert run(["submission", "import", str(path), *C]) == code
    out = capsys.readouterr()
    assert clean(out.out + out.err), out.err
    return out.err


@pytest.fixture
def postgres(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    server = request.getfixturevalue("postgres_server")
    if isinstance(server, str):
        pytest.skip(server)
    return server


@pytest.fixture
def sqlite_db(make_database, monkeypatch: pytest.MonkeyPatch) -> str:
    return prepare(make_database("sqlite"), monkeypatch)


@pytest.fixture
def pg_db(make_database, postgres, monkeypatch: pytest.MonkeyPatch) -> str:
    return prepare(make_database("postgresql"), monkeypatch)


# -------------------------------------------------------------------------- unreachable

@pytest.mark.parametrize("url", [
    "sqlite:////nonexistent-folder/pmm.db",
    pytest.param("postgresql://postgres@/pmm?host=/nonexistent-socket-folder",
                 marks=pytest.mark.postgres)])
def test_an_unreachable_database_is_named_with_exit_69(url: str, capsys) -> None:
    for command in (["cycle", "list"], ["db", "upgrade"], ["db", "backup", "/tmp/never.gz"]):
        assert run([*command, "--database-url", url]) == 69
        message = capsys.readouterr().err
        assert message.startswith("Cannot reach the database") and "Nothing was saved" in message
        assert clean(message)
    dispose(url)


def test_a_database_that_does_not_exist_on_the_server(postgres, capsys) -> None:
    url = postgres.url("no_such_database")
    assert run(["cycle", "list", "--database-url", url]) == 69
    assert 'database "no_such_database" does not exist' in capsys.readouterr().err
    dispose(url)


# ---------------------------------------------------------------- connection lost mid-import

def test_connection_killed_mid_import(pg_db: str, postgres, tmp_path: Path, capsys,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(["submission", "set", "--cycle", "2024", "--member", "FRA",
                "release_time_mean_h", "10", "--as", "ncp-fra"]) == 0
    before = snapshot(capsys)
    import pmm.assessment.imports as imports

    real = imports.commit_plan

    def killed(session, *args, **kwargs):  # type: ignore[no-untyped-def]
        changes = real(session, *args, **kwargs)  # the rows are written, not committed...
        session.flush()
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        postgres.admin(f"SELECT pg_terminate_backend({pid})")  # ...when the server drops us
        return changes

    with monkeypatch.context() as patch:
        patch.setattr(imports, "commit_plan", killed)
        message = failed_import(tmp_path, capsys, 75)
        assert "stopped answering (the connection was lost); nothing was saved" in message
        # the SQL and its values are there for whoever asks (PMM_DEBUG=1), and only then
        patch.setenv("PMM_DEBUG", "1")
        path = write_csv(tmp_path / "in.csv", COMPLETE)
        assert run(["submission", "import", str(path), *C]) == 75
        debug = capsys.readouterr().err
        assert "[SQL: " in debug and "terminating connection" in debug
    assert snapshot(capsys) == before  # the next command reconnects; nothing was saved


# ------------------------------------------------------------------------------ read-only

def test_read_only_sqlite_file(sqlite_db: str, tmp_path: Path, capsys,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    database_url = sqlite_db
    before = snapshot(capsys)
    dispose(database_url)
    file = Path(database_url.removeprefix("sqlite:///"))
    # as opened by a process without write permission (chmod 0444; root would ignore it)
    read_only = f"sqlite:///file:{file}?mode=ro&uri=true"
    monkeypatch.setenv("PMM_DATABASE_URL", read_only)
    message = failed_import(tmp_path, capsys, 73)
    assert "is read-only; nothing was saved" in message
    assert run(["cycle", "list", "--as", "sec"]) == 0  # reading still works
    dispose(read_only)
    monkeypatch.setenv("PMM_DATABASE_URL", database_url)
    assert snapshot(capsys) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to a 0444 file anyway")
def test_sqlite_file_without_write_permission(sqlite_db: str, tmp_path: Path,
                                              capsys) -> None:
    dispose(sqlite_db)
    Path(sqlite_db.removeprefix("sqlite:///")).chmod(0o444)
    assert "is read-only" in failed_import(tmp_path, capsys, 73)


def test_read_only_postgresql(pg_db: str, postgres, tmp_path: Path, capsys) -> None:
    before = snapshot(capsys)
    name = make_url(pg_db).database
    postgres.admin(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    dispose(pg_db)  # new connections read the setting
    message = failed_import(tmp_path, capsys, 73)
    assert "is read-only; nothing was saved" in message
    assert run(["submission", "set", "--cycle", "2024", "--member", "FRA",
                "release_time_mean_h", "10", "--as", "ncp-fra"]) == 73
    assert run(["cycle", "list", "--as", "sec"]) == 0
    postgres.admin(f"ALTER DATABASE {name} SET default_transaction_read_only = off")
    dispose(pg_db)
    assert snapshot(capsys) == before


# ------------------------------------------------------------------------------- disk full

def test_sqlite_full(sqlite_db: str, tmp_path: Path, capsys) -> None:
    database_url = sqlite_db
    before = snapshot(capsys)
    dispose(database_url)
    engine = get_engine(database_url)

    @event.listens_for(engine, "connect")
    def _limit(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # SQLite answers SQLITE_FULL past this size, exactly as on a full disk
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    message = failed_import(tmp_path, capsys, 74)
    assert "is full (no space left on its disk, or its size limit reached)" in message
    dispose(database_url)
    assert snapshot(capsys) == before


@contextlib.contextmanager
def small_disk(base: Path) -> Iterator[Path]:
    """A 32 MB tmpfs for a PostgreSQL tablespace (needs root and the right to mount)."""
    folder = base / "small"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(folder)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root)")
    try:
        shutil.chown(folder, "postgres", "postgres")
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.mark.postgres
def test_postgresql_disk_full(postgres, tmp_path: Path, capsys,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    base = Path(str(postgres.base)) / "small-disk"
    base.mkdir()
    with small_disk(base) as disk:
        postgres.admin(f"CREATE TABLESPACE pmm_small LOCATION '{disk}'")
        postgres.admin("CREATE DATABASE pmm_full TEMPLATE pmm_template TABLESPACE pmm_small")
        url = postgres.url("pmm_full")
        try:
            prepare(url, monkeypatch)
            before = snapshot(capsys)
            filler = disk / "filler"
            with contextlib.suppress(OSError), open(filler, "wb") as out:
                while True:  # take every byte left on the tablespace's disk
                    out.write(b"\0" * 65536)
                    out.flush()
            message = failed_import(tmp_path, capsys, 74)
            assert "is full (no space left on its disk" in message
            filler.unlink()
            assert snapshot(capsys) == before
        finally:
            dispose(url)
            postgres.admin("DROP DATABASE IF EXISTS pmm_full WITH (FORCE)")
            postgres.admin("DROP TABLESPACE IF EXISTS pmm_small")


# ------------------------------------------------------------------- an unexpected failure

def test_an_unexpected_database_error_shows_no_sql(database_url: str, tmp_path: Path, capsys,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    prepare(database_url, monkeypatch)
    import pmm.assessment.submissions as subs

    def broken(session, entries):  # type: ignore[no-untyped-def]
        session.execute(text("SELECT no_such_column FROM audit WHERE member = :m"),
                        {"m": SECRET})

    monkeypatch.setattr(subs, "record", broken)
    path = write_csv(tmp_path / "in.csv", COMPLETE)
    capsys.readouterr()
    assert run(["submission", "import", str(path), *C]) == 70
    message = capsys.readouterr().err
    assert message.startswith("Internal error: ") and "(database error)" in message
    assert "no_such_column" not in message and SECRET not in message


# ------------------------------------------------------------------------------------ busy

def test_a_writer_blocked_too_long_is_told_to_retry(pg_db: str, postgres, tmp_path: Path,
                                                    capsys) -> None:
    assert run(["submission", "set", "--cycle", "2024", "--member", "FRA",
                "release_time_mean_h", "10", "--as", "ncp-fra"]) == 0
    before = snapshot(capsys)
    name = make_url(pg_db).database
    postgres.admin(f"ALTER DATABASE {name} SET lock_timeout = '300ms'")
    dispose(pg_db)
    import psycopg

    # someone else holds FRA's submission (an open transaction that wrote it) and does not let go
    with psycopg.connect(host=str(postgres.socket), user="postgres", dbname=name) as other:
        other.execute("UPDATE submissions SET updated_at = updated_at WHERE member = 'FRA'")
        message = failed_import(tmp_path, capsys, 75)
        other.rollback()
    assert "is busy" in message and "Run the command again" in message
    postgres.admin(f"ALTER DATABASE {name} RESET lock_timeout")
    dispose(pg_db)
    assert snapshot(capsys) == before
