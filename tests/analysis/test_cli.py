"""The analysis commands on the demo data (seeded once for this module: it takes a while)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from pmm.analysis.load import load_cycle
from pmm.cli import run

pytestmark = pytest.mark.slow
HEADER = ["kpi", "group", "n", "mean", "median", "q1", "q3", "suppressed", "reason"]


@pytest.fixture(scope="module")
def db(demo_db: str) -> str:
    return demo_db


def pmm(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("by, groups", [
    ("region", {"AMS", "AP", "ESA", "EUR", "MENA", "WCA"}),
    ("income", {"low", "lower_middle", "upper_middle", "high"}),
    ("geography", {"landlocked", "sids", "coastal"}),
    ("admin_type", {"customs_only", "revenue_authority"}),
    ("size", {"small", "medium", "large"})])
def test_benchmark_gives_the_columns_for_each_grouping(db, capsys, by, groups):
    code, out, err = pmm(capsys, "benchmark", "--cycle", "2024", "--by", by, "--as",
                         "wb-pmmpt", "--database-url", db)
    assert code == 0, err
    assert out.splitlines()[0] == ",".join(HEADER)
    table = rows(out)
    assert {r["kpi"] for r in table} >= {"TF.1.1", "RC.1.1", "OD.5.2"}
    seen = {r["group"] for r in table}
    assert {"all", "balanced"} <= seen and len(groups & seen) >= 2
    assert any(r["mean"] for r in table if r["group"] not in ("all", "balanced"))
    for r in table:
        if r["suppressed"] == "true":
            assert r["reason"]
        else:
            assert r["suppressed"] == "false"


def test_benchmark_for_a_member_viewer_has_its_position(db, capsys):
    code, out, err = pmm(capsys, "benchmark", "--cycle", "2024", "--kpi", "TF.4.1",
                         "--as", "ncp-ago", "--format", "json", "--database-url", db)
    assert code == 0, err
    data = json.loads(out)
    assert list(data[0]) == [*HEADER[:7], "position", "suppressed", "reason"]
    assert {d["kpi"] for d in data} == {"TF.4.1"}
    positions = [d["position"] for d in data if d["position"] is not None]
    assert positions and all(0 <= p <= 100 for p in positions)


def test_benchmark_of_scores_carries_the_label(db, capsys):
    code, out, err = pmm(capsys, "benchmark", "--cycle", "2024", "--scores", "--as", "reviewer1",
                         "--by", "income", "--database-url", db)
    assert code == 0, err
    assert out.splitlines()[0] == "level,kpi," + ",".join(HEADER[1:])
    assert {r["level"] for r in rows(out)} == {"outcome", "dimension"}
    assert "not an official WCO rating" in err


def test_gaps_plan_names_kpi_gap_evidence_tools_and_support(db, capsys):
    code, out, err = pmm(capsys, "gaps", "--cycle", "2024", "--member", "AGO", "--format",
                         "csv", "--as", "ncp-ago", "--database-url", db)
    assert code == 0, err
    plan = rows(out)
    assert plan, "the demo member has gaps"
    for line in plan:
        for column in ("kpi", "kpi_name", "gap", "evidence", "tools", "tool_names", "support",
                       "support_names"):
            assert line[column], (column, line)
        assert line["gap"] in ("target", "peer", "trend", "missing")
    assert [int(r["rank"]) for r in plan] == list(range(1, len(plan) + 1))
    priorities = [float(r["priority"]) for r in plan]
    assert priorities == sorted(priorities, reverse=True)
    assert "not an official WCO rating" in err
    code, text, err = pmm(capsys, "gaps", "--cycle", "2024", "--member", "AGO",
                          "--as", "ncp-ago", "--database-url", db)
    assert code == 0, err
    assert "Capacity-building plan of AGO" in text and "Evidence:" in text
    assert "Support:" in text and "Tools:" in text
    code, summary, err = pmm(capsys, "gaps", "--cycle", "2024", "--member", "AGO",
                             "--summary", "--format", "csv", "--as", "ncp-ago",
                             "--database-url", db)
    assert code == 0, err
    assert rows(summary)[0]["support"]


def test_gaps_of_another_member_need_the_right_to_see_it(db, capsys):
    code, _out, err = pmm(capsys, "gaps", "--cycle", "2024", "--member", "AGO", "--as",
                          "wb-pmmpt", "--database-url", db)
    # the public sees AGO's public values only: a plan from those, or a refusal if none
    assert code in (0, 4), err


def test_secretariat_views(db, capsys):
    code, out, err = pmm(capsys, "secretariat", "participation", "--cycle", "2024",
                         "--as", "secretariat", "--database-url", db)
    assert code == 0, err
    table = {(r["grouping"], r["group"]): r for r in rows(out)}
    total = table[("global", "all")]
    assert int(total["started"]) == 90 and int(total["invited"]) >= 180
    assert int(total["validated"]) <= int(total["submitted"]) <= int(total["started"])
    assert any(g == "region" for g, _ in table) and any(g == "income" for g, _ in table)
    code, out, err = pmm(capsys, "secretariat", "coverage", "--cycle", "2024",
                         "--as", "secretariat", "--database-url", db)
    assert code == 0, err
    cov = {r["kpi"]: r for r in rows(out)}
    assert int(cov["TF.3.1"]["reported"]) < int(cov["TF.3.1"]["members"])
    assert cov["TF.3.1"]["reasons"]
    code, out, err = pmm(capsys, "secretariat", "demand", "--cycle", "2024",
                         "--as", "secretariat", "--database-url", db)
    assert code == 0, err
    demand = rows(out)
    assert demand and float(demand[0]["priority"]) > 0 and demand[0]["top_support"]
    code, _out, err = pmm(capsys, "secretariat", "coverage", "--cycle", "2024", "--as",
                          "wb-pmmpt", "--database-url", db)
    assert code == 4 and "Secretariat" in err


def test_sdg_trends_and_whatif(db, capsys):
    code, out, err = pmm(capsys, "sdg", "--cycle", "2024", "--as", "wb-pmmpt", "--database-url", db)
    assert code == 0, err
    assert {r["level"] for r in rows(out)} == {"sdg_target", "sdg_goal"}
    assert "not an official WCO rating" in err
    code, out, err = pmm(capsys, "sdg", "--cycle", "2024", "--member", "AGO", "--as",
                         "ncp-ago", "--database-url", db)
    assert code == 0, err
    assert {r["member"] for r in rows(out)} == {"AGO"}
    code, out, err = pmm(capsys, "trends", "--cycle", "2024", "--as", "ncp-ago",
                         "--database-url", db)
    assert code == 0, err
    table = rows(out)
    assert table and {r["cycle_from"] for r in table} == {"2022"}
    assert all(r["comparable"] in ("true", "false") for r in table)
    code, out, err = pmm(capsys, "trends", "--cycle", "2024", "--member", "AGO", "--as",
                         "ncp-ago", "--scores", "--database-url", db)
    assert code == 0, err
    assert {r["member"] for r in rows(out)} <= {"AGO"}
    code, out, err = pmm(capsys, "whatif", "--cycle", "2024", "--member", "AGO", "--set",
                         "TF.1.1=100", "--as", "ncp-ago", "--database-url", db)
    assert code == 0, err
    effect = {(r["level"], r["code"]): r for r in rows(out)}
    assert ("kpi", "TF.1.1") in effect and float(effect[("kpi", "TF.1.1")]["after"]) == 100
    code, out, err = pmm(capsys, "whatif", "--cycle", "2024", "--member", "AGO", "--set",
                         "TF.1.1=100", "--show", "gaps", "--as", "ncp-ago",
                         "--database-url", db)
    assert code == 0, err
    assert "priority_before" in out.splitlines()[0]


@pytest.mark.parametrize("args, message", [
    (["benchmark", "--cycle", "2024", "--by", "colour"], "--by 'colour'"),
    (["benchmark", "--cycle", "2024", "--as", "everyone"], "no user 'everyone'"),
    (["benchmark", "--cycle", "2024"], "--as USER"),
    (["benchmark", "--cycle", "2024", "--format", "xml"], "--format 'xml'"),
    (["benchmark", "--cycle", "1999"], "no cycle reports on 1999"),
    (["benchmark", "--cycle", "2024", "--kpi", "XX.9"], "'XX.9'"),
    (["release", "config", "--min-n", "0"], "--min-n"),
    (["release", "config", "--min-n", "5", "--as", "ncp-ago"], "Secretariat"),
    (["gaps", "--cycle", "2024", "--member", "ZZZ"], "Unknown WCO Member code"),
    (["whatif", "--cycle", "2024", "--member", "AGO", "--set", "TF.1.1=x"], "not a number"),
    (["whatif", "--cycle", "2024", "--member", "AGO", "--set", "TF.1.1=1", "--as",
      "wb-pmmpt"], "may not run a what-if"),
    (["trends", "--cycle", "2022"], "no earlier cycle"),
])
def test_errors_are_clear(db, capsys, args, message, monkeypatch):
    monkeypatch.delenv("PMM_USER", raising=False)
    if "--as" not in args and args != ["benchmark", "--cycle", "2024"]:
        args = [*args, "--as", "secretariat" if args[0] in ("trends", "release")
                else "ncp-ago"]
    code, _out, err = pmm(capsys, *args, "--database-url", db)
    assert code != 0 and message in err, err
    assert "Traceback" not in err


def test_gaps_of_a_member_without_submission(db, capsys):
    from pmm.members import load_members
    from pmm.store.engine import transaction

    with transaction(db) as session:
        there = set(load_cycle(session, 2024).obs["member"])
    absent = sorted({m.iso3 for m in load_members()} - there)
    code, _out, err = pmm(capsys, "gaps", "--cycle", "2024", "--member", absent[0],
                          "--as", "secretariat", "--database-url", db)
    assert code == 2 and "no submission in cycle 2024" in err
