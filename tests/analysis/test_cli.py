"""The analysis commands on the demo data (seeded once for this module: it takes a while)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from pmm.analysis.benchmark import benchmark
from pmm.analysis.disclosure import Viewer, visible
from pmm.analysis.load import load_cycle
from pmm.analysis.observations import usable
from pmm.cli import run
from tests.analysis.attacker import Knowledge, Statistic, attack

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
    code, out, err = pmm(capsys, "benchmark", "--cycle", "2024", "--by", by, "--viewer",
                         "public", "--database-url", db)
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
                         "--viewer", "member:AGO", "--format", "json", "--database-url", db)
    assert code == 0, err
    data = json.loads(out)
    assert list(data[0]) == [*HEADER[:7], "position", "suppressed", "reason"]
    assert {d["kpi"] for d in data} == {"TF.4.1"}
    positions = [d["position"] for d in data if d["position"] is not None]
    assert positions and all(0 <= p <= 100 for p in positions)


def test_benchmark_of_scores_carries_the_label(db, capsys):
    code, out, err = pmm(capsys, "benchmark", "--cycle", "2024", "--scores", "--viewer", "wco",
                         "--by", "income", "--database-url", db)
    assert code == 0, err
    assert out.splitlines()[0] == "level,kpi," + ",".join(HEADER[1:])
    assert {r["level"] for r in rows(out)} == {"outcome", "dimension"}
    assert "not an official WCO rating" in err


def test_gaps_plan_names_kpi_gap_evidence_tools_and_support(db, capsys):
    code, out, err = pmm(capsys, "gaps", "--cycle", "2024", "--member", "AGO", "--format",
                         "csv", "--database-url", db)
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
                          "--database-url", db)
    assert code == 0, err
    assert "Capacity-building plan of AGO" in text and "Evidence:" in text
    assert "Support:" in text and "Tools:" in text
    code, summary, err = pmm(capsys, "gaps", "--cycle", "2024", "--member", "AGO",
                             "--summary", "--format", "csv", "--database-url", db)
    assert code == 0, err
    assert rows(summary)[0]["support"]


def test_gaps_of_another_member_need_the_right_to_see_it(db, capsys):
    code, _out, err = pmm(capsys, "gaps", "--cycle", "2024", "--member", "AGO", "--viewer",
                          "public", "--database-url", db)
    # the public sees AGO's public values only: a plan from those, or a refusal if none
    assert code in (0, 4), err


def test_secretariat_views(db, capsys):
    code, out, err = pmm(capsys, "secretariat", "participation", "--cycle", "2024",
                         "--database-url", db)
    assert code == 0, err
    table = {(r["grouping"], r["group"]): r for r in rows(out)}
    total = table[("global", "all")]
    assert int(total["started"]) == 90 and int(total["invited"]) >= 180
    assert int(total["validated"]) <= int(total["submitted"]) <= int(total["started"])
    assert any(g == "region" for g, _ in table) and any(g == "income" for g, _ in table)
    code, out, err = pmm(capsys, "secretariat", "coverage", "--cycle", "2024",
                         "--database-url", db)
    assert code == 0, err
    cov = {r["kpi"]: r for r in rows(out)}
    assert int(cov["TF.3.1"]["reported"]) < int(cov["TF.3.1"]["members"])
    assert cov["TF.3.1"]["reasons"]
    code, out, err = pmm(capsys, "secretariat", "demand", "--cycle", "2024",
                         "--database-url", db)
    assert code == 0, err
    demand = rows(out)
    assert demand and float(demand[0]["priority"]) > 0 and demand[0]["top_support"]
    code, _out, err = pmm(capsys, "secretariat", "coverage", "--cycle", "2024", "--viewer",
                          "public", "--database-url", db)
    assert code == 4 and "Secretariat view" in err


def test_sdg_trends_and_whatif(db, capsys):
    code, out, err = pmm(capsys, "sdg", "--cycle", "2024", "--database-url", db)
    assert code == 0, err
    assert {r["level"] for r in rows(out)} == {"sdg_target", "sdg_goal"}
    assert "not an official WCO rating" in err
    code, out, err = pmm(capsys, "sdg", "--cycle", "2024", "--member", "AGO", "--viewer",
                         "member:AGO", "--database-url", db)
    assert code == 0, err
    assert {r["member"] for r in rows(out)} == {"AGO"}
    code, out, err = pmm(capsys, "trends", "--cycle", "2024", "--viewer", "wco",
                         "--database-url", db)
    assert code == 0, err
    table = rows(out)
    assert table and {r["cycle_from"] for r in table} == {"2022"}
    assert all(r["comparable"] in ("true", "false") for r in table)
    code, out, err = pmm(capsys, "trends", "--cycle", "2024", "--member", "AGO", "--viewer",
                         "member:AGO", "--scores", "--database-url", db)
    assert code == 0, err
    assert {r["member"] for r in rows(out)} <= {"AGO"}
    code, out, err = pmm(capsys, "whatif", "--cycle", "2024", "--member", "AGO", "--set",
                         "TF.1.1=100", "--database-url", db)
    assert code == 0, err
    effect = {(r["level"], r["code"]): r for r in rows(out)}
    assert ("kpi", "TF.1.1") in effect and float(effect[("kpi", "TF.1.1")]["after"]) == 100
    code, out, err = pmm(capsys, "whatif", "--cycle", "2024", "--member", "AGO", "--set",
                         "TF.1.1=100", "--show", "gaps", "--database-url", db)
    assert code == 0, err
    assert "priority_before" in out.splitlines()[0]


@pytest.mark.parametrize("args, message", [
    (["benchmark", "--cycle", "2024", "--by", "colour"], "--by 'colour'"),
    (["benchmark", "--cycle", "2024", "--viewer", "everyone"], "--viewer 'everyone'"),
    (["benchmark", "--cycle", "2024", "--format", "xml"], "--format 'xml'"),
    (["benchmark", "--cycle", "1999"], "no cycle reports on 1999"),
    (["benchmark", "--cycle", "2024", "--kpi", "XX.9"], "--kpi 'XX.9'"),
    (["benchmark", "--cycle", "2024", "--min-n", "0"], "--min-n"),
    (["gaps", "--cycle", "2024", "--member", "ZZZ"], "Unknown WCO Member code"),
    (["whatif", "--cycle", "2024", "--member", "AGO", "--set", "TF.1.1=x"], "not a number"),
    (["whatif", "--cycle", "2024", "--member", "AGO", "--set", "TF.1.1=1", "--viewer",
      "public"], "may not see all of AGO"),
    (["trends", "--cycle", "2022"], "no earlier cycle"),
])
def test_errors_are_clear(db, capsys, args, message):
    code, _out, err = pmm(capsys, *args, "--database-url", db)
    assert code != 0 and message in err, err
    assert "Traceback" not in err


def test_gaps_of_a_member_without_submission(db, capsys):
    from pmm.members import load_members

    absent = sorted({m.iso3 for m in load_members()} - set(load_cycle(2024, db).obs["member"]))
    code, _out, err = pmm(capsys, "gaps", "--cycle", "2024", "--member", absent[0],
                          "--database-url", db)
    assert code == 2 and "no submission in cycle 2024" in err


@pytest.mark.parametrize("viewer", [Viewer("public"), Viewer("ncp", member="AGO")])
def test_demo_benchmarks_reveal_nothing_hidden(db, viewer):
    """The attacker on the demo data: three KPIs of different default disclosure and an
    outcome score, every standard grouping."""
    data = load_cycle(2024, db)
    obs = data.obs[(data.obs["variant"] == "") & (data.obs["breakdown"] == "")
                   & data.obs["code"].isin(["TF.1.1", "TF.4.3", "ES.1.1", "TF.4"])]
    bench = benchmark(obs, viewer, data.groups, fw=data.fw, levels=("kpi", "outcome"))
    found = set()
    ok = obs[usable(obs)]
    seen = visible(viewer, ok)
    for (level, code), per in ok.groupby(["level", "code"]):
        mask = seen[[ok.index.get_loc(i) for i in per.index]]
        measure = (2024, level, code)
        stats = []
        for r in bench[(bench["level"] == level) & (bench["kpi"] == code)
                       & (bench["group"] != "balanced")].itertuples():
            who = set(data.groups[(data.groups["grouping"] == r.grouping)
                                  & (data.groups["group"] == r.group)]["member"])
            stats.append(Statistic(measure, frozenset(who & set(per["member"])), int(r.n),
                                   float(r.mean) if np.isfinite(r.mean) else None,
                                   {q: getattr(r, q) for q in ("q1", "median", "q3")
                                    if np.isfinite(getattr(r, q))}))
        domain = (0.0, 100.0) if level == "outcome" else (0.0, np.inf if code == "TF.4.3"
                                                          else 100.0)
        k = Knowledge({measure: dict(zip(per["member"][mask], per["value"][mask],
                                         strict=True))},
                      {measure: dict(zip(per["member"][~mask], per["value"][~mask],
                                         strict=True))}, stats, {measure: domain})
        found |= attack(k, p=1.0)
    assert not found
    assert bench["suppressed"].any()
