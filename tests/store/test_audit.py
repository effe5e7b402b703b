"""The audit trail records who, when, what, old value, new value and why, for every change;
`pmm audit` filters it by cycle and member."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from pmm.cli import run
from pmm.store.audit import trail
from pmm.store.engine import transaction
from pmm.store.users import principal_for
from tests.assessment.conftest import prepare, write_csv

C = ["--cycle", "2024", "--member", "FRA"]


@pytest.fixture
def db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Users of every role and the open cycle 2024 of the test framework."""
    return prepare(database_url, monkeypatch)


def test_every_change_is_recorded_with_who_when_what_old_new_why(db: str, tmp_path: Path,
                                                                 capsys) -> None:
    start = dt.datetime.now(dt.UTC)
    path = write_csv(tmp_path / "a.csv", {("release_time_mean_h", 2024, ""): "7"})
    assert run(["submission", "import", str(path), *C, "--as", "ncp-fra"]) == 0
    assert run(["submission", "set", *C, "release_time_mean_h", "8.25", "--reason",
                "typo in the TRS report", "--as", "ncp-fra"]) == 0
    assert run(["submission", "set", *C, "release_time_mean_h", "", "--as", "ncp-fra"]) == 0
    assert run(["submission", "kpi", *C, "release_time", "--status", "not_applicable",
                "--note", "=HYPERLINK(\"x\")", "--as", "ncp-fra"]) == 0
    with transaction(db) as session:
        sec = principal_for(session, "sec")
        rows = [r for r in trail(session, sec, cycle=2024, member="FRA")
                if r.key == "release_time_mean_h[2024]"]
        kpi = [r for r in trail(session, sec, cycle=2024, member="fra") if r.key == "release_time"]
    assert [(r.action, r.old, r.new) for r in rows] == [
        ("value.set", None, "7"), ("value.set", "7", "8.25"), ("value.remove", "8.25", None)]
    assert all(r.actor == "ncp-fra" and start <= r.at <= dt.datetime.now(dt.UTC) for r in rows)
    assert rows[0].reason == "import of a.csv"
    assert rows[1].reason == "typo in the TRS report"
    assert [(r.field, r.old, r.new) for r in kpi] == [
        ("status", "reported", "not_applicable"), ("note", "", "=HYPERLINK(\"x\")")]
    capsys.readouterr()
    assert run(["audit", "--cycle", "2024", "--member", "FRA", "--format", "csv",
                "--as", "sec"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert table[-1]["new"] == "'=HYPERLINK(\"x\")"  # neutralised for spreadsheets
    assert {r["member"] for r in table} == {"FRA"}


def test_filters_and_limit(db: str, tmp_path: Path, capsys) -> None:
    for member, who in (("FRA", "ncp-fra"), ("DEU", "ncp-deu")):
        assert run(["submission", "set", "--cycle", "2024", "--member", member,
                    "release_time_mean_h", "5", "--as", who]) == 0
    capsys.readouterr()
    assert run(["audit", "--cycle", "2024", "--member", "DEU", "--as", "sec"]) == 0
    out = capsys.readouterr().out
    assert "ncp-deu" in out and "ncp-fra" not in out
    assert run(["audit", "--limit", "1", "--as", "sec"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1
    assert run(["audit", "--actor", "sec", "--as", "sec"]) == 0
    assert "cycle.create" in capsys.readouterr().out
    assert run(["audit", "--cycle", "1999", "--as", "sec"]) == 0
    assert "No audit entries match." in capsys.readouterr().out
