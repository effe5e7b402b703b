"""A backup proves itself whole: a copy cut short (even exactly at a line end, still valid gzip),
altered or malformed is refused with its line before anything is written, and the target database
is left exactly as it was (no empty schema), on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from pmm.cli import run
from pmm.store.backup import CACHES
from pmm.store.engine import resolve_url
from pmm.store.models import Base
from tests.store.test_backup import populate

BOTH = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture
def made(make_database, tmp_path: Path) -> tuple[Path, list[bytes]]:
    """A backup of a populated database, and its lines (the source backend does not matter:
    test_backup.py shows backups are the same bytes from both)."""
    source = make_database("sqlite")
    populate(source, tmp_path)
    file = tmp_path / "whole.jsonl.gz"
    assert run(["db", "backup", str(file), "--database-url", source]) == 0
    return file, gzip.decompress(file.read_bytes()).splitlines(keepends=True)


def fingerprint(url: str) -> object:
    """Everything a restore could leave behind: the SQLite file's bytes (None: no file), or
    PostgreSQL's relations, functions and row counts."""
    resolved = resolve_url(url)
    if resolved.startswith("sqlite"):
        file = Path(make_url(resolved).database or "")
        return file.read_bytes() if file.exists() else None
    engine = create_engine(resolved)
    try:
        with engine.connect() as conn:
            relations = conn.execute(text(
                "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON "
                "n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1")).all()
            functions = conn.execute(text(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = 'public' ORDER BY 1")).all()
            names = inspect(conn).get_table_names()
            counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                      for t in Base.metadata.sorted_tables if t.name in names}
        return relations, functions, counts
    finally:
        engine.dispose()


def write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(gzip.compress(b"".join(lines), mtime=0))
    return path


def refused(file: Path, target: str, capsys) -> str:
    """Restore `file` into `target`; it must fail, change nothing, and say why."""
    before = fingerprint(target)
    capsys.readouterr()
    assert run(["db", "restore", str(file), "--database-url", target]) == 2
    message = capsys.readouterr().err
    assert fingerprint(target) == before
    assert "Internal error" not in message and "Restored" not in message
    assert run(["db", "verify", str(file)]) == 2  # `verify` says the same, writing nothing
    assert capsys.readouterr().err == message
    return message


def first_line_of(lines: list[bytes], table: str) -> int:
    """1-based number of the first row of `table`."""
    marker = b'{"table":"' + table.encode() + b'"'
    return next(i for i, line in enumerate(lines) if line.startswith(marker)) + 2


@pytest.mark.parametrize("target", BOTH)
def test_backup_cut_at_a_line_end_is_refused_and_the_target_untouched(
        made, make_database, tmp_path: Path, capsys, target: str) -> None:
    file, lines = made
    never_upgraded, empty_schema = make_database(target, upgraded=False), make_database(target)
    cut = first_line_of(lines, "item_values") + 3  # as a pipe or copy tool can leave it
    short = write(tmp_path / "short.jsonl.gz", lines[:cut])
    for where in (never_upgraded, empty_schema):
        message = refused(short, where, capsys)
        assert f"short.jsonl.gz: the backup ends at line {cut} without its manifest" in message
        assert "incomplete" in message
    # the whole backup still restores into the same (untouched) targets
    assert run(["db", "restore", str(file), "--database-url", never_upgraded]) == 0
    assert run(["db", "restore", str(file), "--database-url", empty_schema]) == 0


def test_cut_inside_the_gzip_stream_or_inside_a_line(made, make_database,
                                                      tmp_path: Path, capsys) -> None:
    file, lines = made
    target = make_database("sqlite", upgraded=False)
    raw = file.read_bytes()
    torn = tmp_path / "torn.jsonl.gz"
    torn.write_bytes(raw[: len(raw) // 2])
    assert "the file is cut short or damaged after this line" in refused(torn, target, capsys)
    half = write(tmp_path / "half.jsonl.gz", [*lines[:10], lines[10][:20]])
    assert "half.jsonl.gz:11: the line is cut short" in refused(half, target, capsys)
    no_manifest = write(tmp_path / "nomanifest.jsonl.gz", lines[:-1])
    assert "without its manifest" in refused(no_manifest, target, capsys)


@pytest.mark.parametrize("target", BOTH)
def test_malformed_rows_are_refused_naming_their_line(made, make_database, tmp_path: Path,
                                                      capsys, target: str) -> None:
    _file, lines = made
    where = make_database(target, upgraded=False)
    n = first_line_of(lines, "submissions")
    row = json.loads(lines[n - 1])
    cases = {
        b'[1,"FRA",\n': "not valid JSON",
        json.dumps(row[:-1]).encode() + b"\n": f"a row of table submissions has {len(row) - 1} "
                                               f"values, expected {len(row)}",
        json.dumps([*row[:-2], "yesterday", row[-1]]).encode() + b"\n":
            '"yesterday" is not a UTC timestamp',
        json.dumps(["seven", *row[1:]]).encode() + b"\n": 'column id: "seven" is not a whole',
    }
    for bad, expected in cases.items():
        broken = write(tmp_path / "bad.jsonl.gz", [*lines[:n - 1], bad, *lines[n:]])
        message = refused(broken, where, capsys)
        assert f"bad.jsonl.gz:{n}: " in message and expected in message, message


@pytest.mark.parametrize("target", BOTH)
def test_an_altered_backup_is_refused(made, make_database, tmp_path: Path, capsys,
                                      target: str) -> None:
    _file, lines = made
    where = make_database(target, upgraded=False)
    n = first_line_of(lines, "item_values")
    changed = lines[n - 1].replace(b"100.0", b"101.0", 1)
    assert changed != lines[n - 1]  # a plausible, well-formed value changed by hand
    altered = write(tmp_path / "altered.jsonl.gz", [*lines[:n - 1], changed, *lines[n:]])
    message = refused(altered, where, capsys)
    assert f"altered.jsonl.gz:{n - 1}: table item_values (lines {n - 1}-" in message
    assert "does not match the manifest's digest" in message
    dropped = write(tmp_path / "dropped.jsonl.gz", [*lines[:n - 1], *lines[n:]])
    assert "table item_values: the manifest says" in refused(dropped, where, capsys)


def test_old_format_and_foreign_files_are_refused_clearly(made, make_database, tmp_path: Path,
                                                          capsys) -> None:
    _file, lines = made
    where = make_database("sqlite", upgraded=False)
    header = json.loads(lines[0])
    old = write(tmp_path / "v1.jsonl.gz", [json.dumps({**header, "version": 1}).encode() + b"\n",
                                           *lines[1:-1]])
    message = refused(old, where, capsys)
    assert "v1.jsonl.gz:1: this backup is of format version 1" in message
    assert "restores format version 2 only" in message
    junk = tmp_path / "junk.gz"
    junk.write_bytes(b"not a backup")
    assert "not a customs-pmm backup" in refused(junk, where, capsys)


def test_verify_reports_a_whole_backup(made, capsys) -> None:
    file, lines = made
    capsys.readouterr()
    assert run(["db", "verify", str(file)]) == 0
    out = capsys.readouterr().out
    manifest = json.loads(lines[-1])["manifest"]
    assert f"a whole backup (format version 2, schema {manifest['schema']})" in out
    saved = len(Base.metadata.tables) - len(CACHES)  # caches are not backed up
    assert f"{manifest['rows']} rows of {saved} tables" in out
    assert manifest["sha256"] in out
    assert f"  item_values\t{manifest['tables']['item_values']['rows']}" in out


def forge_manifest(lines: list[bytes]) -> list[bytes]:
    """Recompute the manifest of edited lines, as someone forging a backup would."""
    import hashlib

    manifest = json.loads(lines[-1])["manifest"]
    body, tables, name = lines[:-1], {}, None
    for line in body[1:]:
        if line.startswith(b'{"table"'):
            name = json.loads(line)["table"]
            tables[name] = {"rows": 0, "sha256": hashlib.sha256()}
        else:
            tables[name]["rows"] += 1
        tables[name]["sha256"].update(line)
    manifest["tables"] = {k: {"rows": v["rows"], "sha256": v["sha256"].hexdigest()}
                          for k, v in tables.items()}
    manifest["rows"] = sum(v["rows"] for v in tables.values())
    manifest["sha256"] = hashlib.sha256(b"".join(body)).hexdigest()
    return [*body, json.dumps({"manifest": manifest}, separators=(",", ":")).encode() + b"\n"]


@pytest.mark.parametrize("target", BOTH)
def test_a_restore_failing_midway_leaves_no_schema_behind(made, make_database, tmp_path: Path,
                                                          capsys, target: str) -> None:
    # a consistent manifest over rows the database refuses (a user twice): found only while
    # writing, after the schema was created in the same transaction
    _file, lines = made
    n = first_line_of(lines, "users")
    forged = write(tmp_path / "forged.jsonl.gz", forge_manifest([*lines[:n], *lines[n - 1:]]))
    capsys.readouterr()
    assert run(["db", "verify", str(forged)]) == 0
    where = make_database(target, upgraded=False)
    before = fingerprint(where)
    assert run(["db", "restore", str(forged), "--database-url", where]) == 2
    message = capsys.readouterr().err
    assert "rows of table users break a rule of the database" in message
    assert "Nothing was restored" in message and "INSERT" not in message
    assert fingerprint(where) == before  # no tables, functions, triggers (SQLite: no file)


@pytest.mark.postgres
def test_a_backup_is_one_snapshot_while_others_write(make_database, tmp_path: Path,
                                                     request: pytest.FixtureRequest) -> None:
    # PostgreSQL: a change committed while the backup is between two tables (its audit entry
    # already copied, its values not yet) is in neither. (SQLite holds writers off meanwhile.)
    import psycopg
    from sqlalchemy import event

    from pmm.store.engine import get_engine

    source = make_database("postgresql")
    populate(source, tmp_path)
    before = tmp_path / "before.jsonl.gz"
    assert run(["db", "backup", str(before), "--database-url", source]) == 0
    server = request.getfixturevalue("postgres_server")
    fired: list[str] = []

    def meanwhile(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if "FROM item_values" in statement and not fired:
            fired.append(statement)
            with psycopg.connect(host=str(server.socket), user="postgres",
                                 dbname=make_url(resolve_url(source)).database) as other:
                other.execute("UPDATE item_values SET value = value + 1")
                other.execute(
                    "INSERT INTO audit (at, actor, action, entity, key, field, old, new, "
                    "reason, cycle, member) SELECT at, actor, action, entity, key, field, old, "
                    "new, 'meanwhile', cycle, member FROM audit LIMIT 1")

    engine = get_engine(source)
    event.listen(engine, "before_cursor_execute", meanwhile)
    during = tmp_path / "during.jsonl.gz"
    try:
        assert run(["db", "backup", str(during), "--database-url", source]) == 0
    finally:
        event.remove(engine, "before_cursor_execute", meanwhile)
    assert fired
    assert during.read_bytes() == before.read_bytes()  # the state when the backup began
    after = tmp_path / "after.jsonl.gz"
    assert run(["db", "backup", str(after), "--database-url", source]) == 0
    assert after.read_bytes() != before.read_bytes()  # the change was committed
