"""`pmm score` on the demo data: every KPI, outcome and dimension, reasons, and disclosure."""

from __future__ import annotations

import csv
import io
import json

import pytest

from pmm.assessment import cycle_tables
from pmm.cli import run
from pmm.framework.loader import load

pytestmark = pytest.mark.slow
COLUMNS = ["member", "level", "code", "value", "score", "grade", "status", "reason"]


def pmm(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_scores_every_level_with_reasons(demo_db: str, capsys) -> None:
    code, out, err = pmm(capsys, "score", "--cycle", "2024", "--as", "secretariat",
                         "--database-url", demo_db)
    assert code == 0, err
    assert "not an official WCO rating" in err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == COLUMNS
    fw = load("wco-pmm-v1")
    members = {r["member"] for r in rows}
    by_level = {lvl: {(r["member"], r["code"]) for r in rows if r["level"] == lvl}
                for lvl in ("kpi", "outcome", "dimension")}
    assert by_level["kpi"] == {(m, k.code) for m in members for k in fw.kpis}
    assert by_level["outcome"] == {(m, o.code) for m in members for o in fw.outcomes}
    assert by_level["dimension"] == {(m, d.code) for m in members for d in fw.dimensions}
    for r in rows:
        if r["status"] == "ok":
            assert 0 <= float(r["score"]) <= 100 and not r["reason"]
        elif r["status"] != "not_available" or r["grade"] != "D*":
            assert r["score"] == "" and r["reason"], r
    assert {"not_applicable", "not_available", "ok"} <= {r["status"] for r in rows}


def test_member_draft_is_scored_for_itself_only(demo_db: str, capsys) -> None:
    code, out, _ = pmm(capsys, "score", "--cycle", "2024", "--member", "ARE", "--as",
                       "ncp-are", "--format", "json", "--database-url", demo_db)
    assert code == 0
    rows = json.loads(out)
    assert rows and {r["member"] for r in rows} == {"ARE"}
    code, _, err = pmm(capsys, "score", "--cycle", "2024", "--member", "ARE", "--as",
                       "wb-pmmpt", "--database-url", demo_db)
    assert code == 4 and "may not see any score of ARE" in err


def test_public_sees_only_public_validated_scores(demo_db: str, capsys) -> None:
    _, full, _ = pmm(capsys, "score", "--cycle", "2024", "--as", "secretariat",
                         "--database-url", demo_db)
    _, public, _ = pmm(capsys, "score", "--cycle", "2024", "--as", "wb-pmmpt",
                       "--database-url", demo_db)
    all_rows = list(csv.DictReader(io.StringIO(full)))
    seen = list(csv.DictReader(io.StringIO(public)))
    assert 0 < len(seen) < len(all_rows)
    tables = cycle_tables(2024, demo_db)
    chosen = {(r.member, r.kpi): r.disclosure for r in tables.kpis.itertuples()}
    validated = set(tables.submissions.member[tables.submissions.state.isin(
        ["validated", "published"])])
    for r in seen:
        assert r["member"] in validated
        if r["level"] == "kpi":
            assert chosen[(r["member"], r["code"])] == "public", r
    assert {(r["member"], r["level"], r["code"]) for r in seen} <= {
        (r["member"], r["level"], r["code"]) for r in all_rows}


def test_reading_needs_a_user(demo_db: str, capsys, monkeypatch) -> None:
    monkeypatch.delenv("PMM_USER", raising=False)
    code, _, err = pmm(capsys, "score", "--cycle", "2024", "--database-url", demo_db)
    assert code == 4 and "--as USER" in err and "PMM_USER" in err
    code, _, err = pmm(capsys, "score", "--cycle", "2024", "--as", "nobody",
                       "--database-url", demo_db)
    assert code == 5 and "nobody" in err
