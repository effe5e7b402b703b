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
