"""`pmm db backup` and `pmm db restore` round-trip exactly, across backends."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pmm.cli import run
from pmm.store.engine import transaction
from pmm.store.models import Base, Fragment
from tests.assessment.conftest import COMPLETE, FRAMEWORK, seed_users, write_csv


def populate(url: str, tmp_path: Path) -> None:
    seed_users(url)
    base = ["--database-url", url]
    assert run(["cycle", "create", "2024", "--framework", str(FRAMEWORK), "--opens",
                "2025-01-01", "--closes", "2099-12-31", "--as", "sec", *base]) == 0
    assert run(["cycle", "open", "2024", "--as", "sec", *base]) == 0
    path = write_csv(tmp_path / "fill.csv", COMPLETE,
                     ["release_time,,,,,not_applicable,restricted,Ünïcode \"reason\""])
    c = ["--cycle", "2024", "--member", "FRA", "--as", "ncp-fra", *base]
    assert run(["submission", "import", str(path), *c]) == 0
    pdf = tmp_path / "proof.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) + b"\n%%EOF\n")
    assert run(["submission", "evidence", "add", *c[:4], str(pdf), "--as", "ncp-fra",
                *base]) == 0
    assert run(["submission", "comment", *c[:4], "see the annex", "--as", "sec", *base]) == 0
    assert run(["submission", "submit", *c]) == 0
    with transaction(url) as session:  # a page fragment the web platform kept (a cache)
        session.add(Fragment(key="f" * 64, kind="results", size=3, content=b"abc",
                             created_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)))


@pytest.mark.parametrize("target", ["sqlite", pytest.param("postgresql",
                                                          marks=pytest.mark.postgres)])
def test_backup_restore_backup_is_byte_identical(database_url: str, make_database,
                                                 tmp_path: Path, capsys, target: str) -> None:
    populate(database_url, tmp_path)
    first = tmp_path / "one.jsonl.gz"
    assert run(["db", "backup", str(first), "--database-url", database_url]) == 0
    fresh = make_database(target, upgraded=False)
    assert run(["db", "restore", str(first), "--database-url", fresh]) == 0
    second = tmp_path / "two.jsonl.gz"
    assert run(["db", "backup", str(second), "--database-url", fresh]) == 0
    assert first.read_bytes() == second.read_bytes()
    lines = gzip.decompress(first.read_bytes()).decode().splitlines()
    tables = {line.split('"')[3] for line in lines if line.startswith('{"table"')}
    assert tables == set(Base.metadata.tables) - {"fragments"}  # data, not caches
    with transaction(fresh) as session:
        assert session.scalar(select(func.count()).select_from(Fragment)) == 0
    # the restored database works: exports the same data, accepts new rows (ids continue)
    capsys.readouterr()
    assert run(["submission", "export", "--cycle", "2024", "--member", "FRA",
                "--database-url", database_url, "--as", "sec"]) == 0
    original = capsys.readouterr().out
    assert run(["submission", "export", "--cycle", "2024", "--member", "FRA",
                "--database-url", fresh, "--as", "sec"]) == 0
    assert capsys.readouterr().out == original
    assert run(["submission", "comment", "--cycle", "2024", "--member", "FRA", "another",
                "--as", "sec", "--database-url", fresh]) == 0
    with transaction(fresh) as session:
        from pmm.assessment.evidence import get_evidence, list_evidence
        from pmm.assessment.submissions import get_submission
        from pmm.store.users import principal_for

        sub = get_submission(session, 2024, "FRA")
        sec = principal_for(session, "sec")
        ev = list_evidence(session, sec, sub)[0]
        assert get_evidence(session, sec, sub, ev.id)[1].startswith(b"%PDF-1.4\n\x00\x01")


def test_restore_never_overwrites(database_url: str, tmp_path: Path, capsys) -> None:
    populate(database_url, tmp_path)
    file = tmp_path / "b.jsonl.gz"
    assert run(["db", "backup", str(file), "--database-url", database_url]) == 0
    capsys.readouterr()
    assert run(["db", "restore", str(file), "--database-url", database_url]) != 0
    assert "already holds data" in capsys.readouterr().err
    junk = tmp_path / "junk.gz"
    junk.write_bytes(b"not a backup")
    assert run(["db", "restore", str(junk), "--database-url", database_url]) != 0
    assert "not a customs-pmm backup" in capsys.readouterr().err
