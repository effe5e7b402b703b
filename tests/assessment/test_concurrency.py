"""No lost update: stale writes fail with a conflict and write nothing; a crash mid-import
leaves the database as it was (one transaction per import)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pmm.assessment.submissions import (
    ItemChange,
    apply_changes,
    current_values,
    get_submission,
    start_submission,
)
from pmm.cli import run
from pmm.errors import ConflictError
from pmm.store.engine import transaction
from pmm.store.users import principal_for as actor_for
from tests.assessment.conftest import COMPLETE, write_csv

C = ["--cycle", "2024", "--member", "FRA"]


def version(url: str) -> int:
    with transaction(url) as session:
        return get_submission(session, 2024, "FRA").version


def value(url: str, item: str) -> list[float]:
    with transaction(url) as session:
        frame = current_values(session, get_submission(session, 2024, "FRA"))
    return frame[frame.data_item == item]["value"].tolist()


def start(url: str) -> None:
    with transaction(url) as session:
        start_submission(session, actor_for(session, "ncp-fra"), 2024, "FRA")


def edit(url: str, item: str, number: float, expected: int | None) -> int:
    with transaction(url) as session:
        who = actor_for(session, "ncp-fra")
        sub = get_submission(session, 2024, "FRA")
        return apply_changes(session, who, sub, [ItemChange(item, 2024, "", number)],
                             expected_version=expected)


def test_stale_write_fails_with_conflict_and_nothing_is_lost(db: str) -> None:
    start(db)
    read_by_a = read_by_b = version(db)  # two people open the same version
    edit(db, "release_time_mean_h", 10.0, read_by_a)  # A saves first
    with pytest.raises(ConflictError, match="changed by someone else") as info:
        edit(db, "release_time_mean_h", 99.0, read_by_b)  # B's copy is stale
    assert "Nothing was saved" in str(info.value)
    assert value(db, "release_time_mean_h") == [10.0]  # A's value kept, B's not written
    assert version(db) == read_by_a + 1


def test_concurrent_writers_one_wins_one_conflicts(db: str) -> None:
    start(db)
    seen = version(db)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def writer(number: float) -> None:
        barrier.wait()
        try:
            edit(db, "release_time_mean_h", number, seen)
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=writer, args=(n,)) for n in (1.0, 2.0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["conflict", "ok"]
    assert value(db, "release_time_mean_h") in ([1.0], [2.0])
    assert version(db) == seen + 1


def test_cli_expect_version_conflict_exits_3(db: str, capsys) -> None:
    start(db)
    v = version(db)
    assert run(["submission", "set", *C, "release_time_mean_h", "5", "--as", "ncp-fra",
                "--expect-version", str(v)]) == 0
    capsys.readouterr()
    assert run(["submission", "set", *C, "release_time_mean_h", "6", "--as", "ncp-fra",
                "--expect-version", str(v)]) == 3
    assert "Conflict" in capsys.readouterr().err
    assert value(db, "release_time_mean_h") == [5.0]


def snapshot(capsys) -> tuple[str, str]:
    capsys.readouterr()
    assert run(["submission", "export", *C, "--as", "sec"]) == 0
    exported = capsys.readouterr().out
    assert run(["audit", "--format", "csv", "--as", "sec"]) == 0
    return exported, capsys.readouterr().out


def test_failure_mid_import_rolls_everything_back(db: str, tmp_path: Path, capsys,
                                                  monkeypatch) -> None:
    start(db)
    edit(db, "release_time_mean_h", 10.0, None)
    before = snapshot(capsys)
    v = version(db)
    import pmm.assessment.submissions as subs

    def broken(session, entries):  # the values are already inserted when this runs
        raise OSError("disk full")

    path = write_csv(tmp_path / "in.csv", COMPLETE)
    with monkeypatch.context() as patch:
        patch.setattr(subs, "record", broken)
        assert run(["submission", "import", str(path), *C, "--as", "ncp-fra"]) != 0
    assert snapshot(capsys) == before
    assert version(db) == v


CRASH = """
import os, sys
from pathlib import Path
import pmm.assessment.submissions as subs
real = subs.commit_plan
def crash(session, *args, **kwargs):
    real(session, *args, **kwargs)  # everything written inside the open transaction...
    session.flush()
    os._exit(9)  # ...then the process dies before the commit: no rollback, no cleanup
subs.commit_plan = crash
import pmm.assessment.exchange as exchange
exchange.commit_plan = crash
from pmm.cli import run
run(["submission", "import", sys.argv[1], "--cycle", "2024", "--member", "FRA",
     "--as", "ncp-fra"])
"""


def test_process_killed_mid_import_leaves_the_database_as_it_was(db: str, tmp_path: Path,
                                                                 capsys) -> None:
    start(db)
    edit(db, "release_time_mean_h", 10.0, None)
    before = snapshot(capsys)
    path = write_csv(tmp_path / "in.csv", COMPLETE)
    env = {**os.environ, "PMM_DATABASE_URL": db}
    done = subprocess.run([sys.executable, "-c", CRASH, str(path)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 9, done.stderr
    assert snapshot(capsys) == before
    assert value(db, "declarations") == []


# ------------------------------------------------ one rule on both backends (engine.py docstring)

def overlapping_imports(db: str, tmp_path: Path, monkeypatch, first: dict, second: dict,
                        expect: int | None = None) -> tuple[int, int]:
    """Import `first`, hold its transaction open after it wrote, import `second` meanwhile, then
    let the first commit. Returns both exit codes."""
    import pmm.assessment.imports as imports

    real = imports.commit_plan
    written, release = threading.Event(), threading.Event()

    def holding(session, *args, **kwargs):  # type: ignore[no-untyped-def]
        changes = real(session, *args, **kwargs)
        session.flush()  # the rows are written (and locked) inside the open transaction
        if threading.current_thread().name == "first":
            written.set()
            release.wait(60)
        return changes

    monkeypatch.setattr(imports, "commit_plan", holding)
    version_option = [] if expect is None else ["--expect-version", str(expect)]
    codes: dict[str, int] = {}

    def importer(name: str, values: dict) -> None:
        path = write_csv(tmp_path / f"{name}.csv", values)
        codes[name] = run(["submission", "import", str(path), *C, "--as", "ncp-fra",
                           *version_option])

    a = threading.Thread(target=importer, args=("first", first), name="first")
    b = threading.Thread(target=importer, args=("second", second), name="second")
    a.start()
    assert written.wait(60)
    b.start()
    b.join(1.5)  # the second import reaches the database and waits for the first's lock
    release.set()
    a.join(120)
    b.join(120)
    return codes["first"], codes["second"]


def test_import_without_version_waits_for_the_other_writer_and_applies_on_top(
        db: str, tmp_path: Path, monkeypatch, capsys) -> None:
    start(db)
    edit(db, "release_time_mean_h", 10.0, None)
    v = version(db)
    codes = overlapping_imports(db, tmp_path, monkeypatch,
                                {("release_time_mean_h", 2024, ""): "11", ("aeo_count", 2024, ""):
                                 "110"},
                                {("release_time_mean_h", 2024, ""): "12"})
    assert codes == (0, 0)  # SQLite and PostgreSQL alike (PostgreSQL refused the second before)
    assert value(db, "release_time_mean_h") == [12.0]
    assert value(db, "aeo_count") == [110.0]  # the first import's other value is kept
    assert version(db) == v + 2
    capsys.readouterr()
    assert run(["audit", "--format", "csv", "--as", "sec"]) == 0
    trail = [line for line in capsys.readouterr().out.splitlines()
             if "release_time_mean_h[2024]" in line]
    # the second applied on top of the first: its old value is what the first saved
    assert [line.split(",")[9:11] for line in trail[-2:]] == [["10", "11"], ["11", "12"]]


def test_import_with_a_stale_version_is_refused_on_both_backends(
        db: str, tmp_path: Path, monkeypatch, capsys) -> None:
    start(db)
    v = version(db)
    codes = overlapping_imports(db, tmp_path, monkeypatch,
                                {("release_time_mean_h", 2024, ""): "11"},
                                {("release_time_mean_h", 2024, ""): "12"}, expect=v)
    assert codes == (0, 3)
    assert "your copy is version" in capsys.readouterr().err
    assert value(db, "release_time_mean_h") == [11.0]
    assert version(db) == v + 1


def test_first_imports_of_a_new_submission_overlap(db: str, tmp_path: Path, monkeypatch) -> None:
    # nobody has started FRA's submission: both imports create it; the second applies on top
    codes = overlapping_imports(db, tmp_path, monkeypatch,
                                {("release_time_mean_h", 2024, ""): "11"},
                                {("aeo_count", 2024, ""): "120"})
    assert codes == (0, 0)
    assert value(db, "release_time_mean_h") == [11.0]
    assert value(db, "aeo_count") == [120.0]
    assert version(db) == 3


def test_a_workbook_newer_than_the_database_says_so(db: str, tmp_path: Path, capsys,
                                                    make_database) -> None:
    # the same cycle in another database (or this one restored from an older backup) is behind
    start(db)
    backup = tmp_path / "older.jsonl.gz"
    assert run(["db", "backup", str(backup)]) == 0
    edit(db, "release_time_mean_h", 10.0, None)
    edit(db, "release_time_mean_h", 11.0, None)
    book = tmp_path / "t.xlsx"
    assert run(["submission", "template", *C, "-o", str(book), "--as", "ncp-fra"]) == 0  # v3
    older = make_database("sqlite", upgraded=False)
    assert run(["db", "restore", str(backup), "--database-url", older]) == 0
    edit(older, "release_time_mean_h", 9.0, None)  # now at version 2
    capsys.readouterr()
    assert run(["submission", "import", str(book), *C, "--as", "ncp-fra",
                "--database-url", older]) == 3
    message = capsys.readouterr().err
    assert "made from version 3" in message and "holds only version 2" in message
    assert "newer than the database" in message and "has since been changed" not in message
    assert run(["submission", "set", *C, "release_time_mean_h", "8", "--as", "ncp-fra",
                "--expect-version", "5", "--database-url", older]) == 3
    assert "newer than the database's version 2" in capsys.readouterr().err
