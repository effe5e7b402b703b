"""Secretariat views and what-if, on hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pmm.access import ANONYMOUS, Principal, audience
from pmm.analysis.benchmark import benchmark
from pmm.analysis.secretariat import coverage, demand, participation, peer_references
from pmm.analysis.support import load_support
from pmm.analysis.whatif import parse_changes, whatif
from pmm.errors import PermissionDenied, PmmError
from pmm.framework.loader import load
from pmm.members import member
from pmm.scoring.kpi_values import STATUS_COLUMNS, kpi_values
from tests.analysis import synthetic

FW = load("wco-pmm-v1")
OBS, GROUPS = synthetic.observations(seed=5)
SECRETARIAT = Principal("secretariat", "secretariat")


def test_participation_by_region_and_income():
    subs = pd.DataFrame({"member": ["KEN", "UGA", "FRA", "DEU", "JPN"],
                         "state": ["validated", "draft", "published", "submitted",
                                   "in_review"]})
    out = participation(subs, SECRETARIAT, min_n=2).set_index(["grouping", "group"])
    total = out.loc[("global", "all")]
    assert total["started"] == 5 and total["submitted"] == 4 and total["validated"] == 2
    assert total["invited"] >= 180  # every WCO Member
    esa = out.loc[("region", member("KEN").region)]
    assert esa["started"] == 2 and esa["validated"] == 1 and not esa["critical_mass"]
    eur = out.loc[("region", "EUR")]
    assert eur["started"] == 2 and eur["validated"] == 1
    assert out.loc[("income", "high"), "submitted"] == 3
    assert (out["share_validated"] <= 1).all()
    limited = participation(subs, SECRETARIAT, invited=["KEN", "UGA", "FRA"])
    assert limited.set_index("group").loc["all", "invited"] == 3


@pytest.mark.parametrize("who", [ANONYMOUS, audience("wco"), Principal("wb", "working_body"),
                                 Principal("ncp-ken", "ncp", "KEN")])
def test_secretariat_views_refuse_other_principals(who):
    with pytest.raises(PermissionDenied, match="Secretariat view"):
        participation(pd.DataFrame(columns=["member", "state"]), who)
    with pytest.raises(PermissionDenied):
        coverage(OBS, FW, who, 2024)


def test_coverage_counts_and_reasons():
    out = coverage(OBS, FW, SECRETARIAT, 2024).set_index("kpi")
    assert list(out.index) == [k.code for k in FW.kpis]
    rows = OBS[(OBS["cycle"] == 2024) & (OBS["code"] == "TF.4.1") & OBS["validated"]]
    tf = out.loc["TF.4.1"]
    assert tf["members"] == len(rows)
    assert tf["reported"] == (rows["status"] == "ok").sum()
    assert tf["not_applicable"] + tf["not_available"] + tf["reported"] == tf["members"]
    if tf["not_available"]:
        assert "not_available (" in tf["reasons"]
    assert out.loc["RC.1.1", "members"] == 0  # not in these observations


def test_demand_by_region_and_outcome():
    head = OBS[OBS["level"] == "kpi"]
    bench = benchmark(head[head["cycle"] == 2024], SECRETARIAT, GROUPS, fw=FW, by=["region"])
    groups = GROUPS[GROUPS["cycle"] == 2024]
    out, gaps = demand(OBS, FW, SECRETARIAT, 2024, bench, groups, load_support(fw=FW))
    assert len(gaps) and set(gaps["member"]) <= set(OBS["member"])
    assert set(out.columns) >= {"region", "outcome", "members_with_gaps", "gaps", "priority"}
    assert out["priority"].is_monotonic_decreasing
    regions = {m: member(m).region for m in gaps["member"].unique()}
    g = gaps.assign(region=gaps["member"].map(regions))
    expected = g.groupby(["region", "outcome"])["priority"].sum()
    got = out.set_index(["region", "outcome"])["priority"]
    for key, value in expected.items():
        assert got[key] == pytest.approx(value)
    assert (out.loc[out["gaps"] > 0, "top_support"].str.len() > 0).all()
    refs = peer_references(bench, groups, "region")
    assert set(refs["statistic"]) <= {"median", "mean"}
    # the same gaps, across income groups
    by_income, same = demand(OBS, FW, SECRETARIAT, 2024, bench, groups, load_support(fw=FW),
                             across="income")
    assert list(by_income.columns[:2]) == ["income", "outcome"] and len(same) == len(gaps)
    incomes = {m: member(m).income_group for m in gaps["member"].unique()}
    expected = gaps.assign(income=gaps["member"].map(incomes)).groupby(
        ["income", "outcome"])["priority"].sum()
    got = by_income.set_index(["income", "outcome"])["priority"]
    for key, value in expected.items():
        assert got[key] == pytest.approx(value)
    assert by_income["priority"].sum() == pytest.approx(out["priority"].sum())
    # a cycle without any validated member: no demand yet, and no crash
    none, no_gaps = demand(OBS.assign(validated=False), FW, SECRETARIAT, 2024, bench, groups,
                           load_support(fw=FW))
    assert len(none) == 0 and len(no_gaps) == 0 and list(none.columns) == list(out.columns)
    with pytest.raises(PmmError, match="expected region or income"):
        demand(OBS, FW, SECRETARIAT, 2024, bench, groups, load_support(fw=FW), across="sea")


# ---------------------------------------------------------------- what-if

def items_for(members: dict[str, tuple[float, float]]) -> pd.DataFrame:
    rows = []
    for m, (total, electronic) in members.items():
        for item, value in (("declarations", total), ("declarations_electronic", electronic)):
            rows.append({"member": m, "data_item": item, "year": 2024, "breakdown": "",
                         "value": value, "status": "reported"})
            for flow, share in (("IM", 0.6), ("EX", 0.3), ("TR", 0.1)):
                rows.append({"member": m, "data_item": item, "year": 2024,
                             "breakdown": f"flow={flow}", "value": value * share,
                             "status": "reported"})
    return pd.DataFrame(rows)


ITEMS = items_for({"KEN": (1000, 600), "UGA": (500, 480), "FRA": (9000, 9000),
                   "JPN": (8000, 7000), "BRA": (7000, 2000)})
STATUSES = pd.DataFrame(columns=STATUS_COLUMNS)
VALUES = kpi_values(FW, ITEMS, STATUSES, 2024)


def test_whatif_on_a_kpi_value():
    result = whatif(FW, 2024, "KEN", VALUES, ["TF.1.1=99"], items=ITEMS, statuses=STATUSES)
    eff = result.effect.set_index(["level", "code"])
    assert eff.loc[("kpi", "TF.1.1"), "before"] == pytest.approx(60.0)
    assert eff.loc[("kpi", "TF.1.1"), "after"] == pytest.approx(99.0)
    assert eff.loc[("kpi_score", "TF.1.1"), "before"] == pytest.approx(100 / 3)  # band C
    assert eff.loc[("kpi_score", "TF.1.1"), "after"] == pytest.approx(100.0)  # band A
    assert eff.loc[("outcome", "TF.1"), "after"] > eff.loc[("outcome", "TF.1"), "before"]
    changed = set(result.effect.loc[result.effect["changed"], "code"])
    # only TF.1's KPIs have data here: the other TF outcomes are insufficient (their missing KPIs
    # are never scored 0), so the dimension is below its coverage before and after
    assert changed == {"TF.1.1", "TF.1"}
    assert np.isnan(eff.loc[("dimension", "TF"), "before"])
    # nothing saved: the inputs are untouched
    assert VALUES.loc[(VALUES["member"] == "KEN") & (VALUES["kpi"] == "TF.1.1")
                      & (VALUES["breakdown"] == ""), "value"].iloc[0] == pytest.approx(60.0)


def test_whatif_on_a_data_item_recomputes_the_kpis():
    result = whatif(FW, 2024, "KEN", VALUES, {"declarations_electronic": 990.0},
                    items=ITEMS, statuses=STATUSES)
    eff = result.effect.set_index(["level", "code"])
    assert eff.loc[("kpi", "TF.1.1"), "after"] == pytest.approx(99.0)
    assert ITEMS.loc[(ITEMS["member"] == "KEN") & (ITEMS["data_item"] ==
                                                   "declarations_electronic")
                     & (ITEMS["breakdown"] == ""), "value"].iloc[0] == 600


def test_whatif_refuses_inconsistent_data_items():
    with pytest.raises(PmmError, match=r"would be refused.*above its whole"):
        whatif(FW, 2024, "KEN", VALUES, {"declarations_electronic": 5000.0}, items=ITEMS,
               statuses=STATUSES)


def test_whatif_gaps_before_and_after():
    from pmm.analysis.gaps import find_gaps
    from pmm.analysis.secretariat import _current

    def gaps(rows):
        return find_gaps(FW, 2024, _current(rows), catalogue=load_support(fw=FW))

    result = whatif(FW, 2024, "KEN", VALUES, ["TF.1.1=100"], gaps=gaps)
    before = set(zip(result.gaps_before["kpi"], result.gaps_before["gap"], strict=True))
    after = set(zip(result.gaps_after["kpi"], result.gaps_after["gap"], strict=True))
    assert ("TF.1.1", "target") in before and ("TF.1.1", "target") not in after


@pytest.mark.parametrize("changes, message", [
    (["TF.1.1"], "expected CODE=VALUE"), (["TF.1.1=lots"], "is not a number"),
    (["XX.1=3"], "not a KPI or a data item"), (["declarations=-5"], "outside 0 to"),
    (["declarations{flow=*}=5"], "not a KPI or a data item"), ([], "no change given"),
    ({"TF.1.1": float("nan")}, "not a finite number")])
def test_whatif_bad_changes(changes, message):
    with pytest.raises(PmmError, match=message):
        parse_changes(FW, changes)


def test_whatif_parses_data_item_references():
    kpis, items = parse_changes(FW, ["declarations{flow=IM}[T-1]=10", "TF.4.1=12.5"])
    assert kpis == {"TF.4.1": 12.5}
    assert items == {("declarations", -1, "flow=IM"): 10.0}
    with pytest.raises(PmmError, match="no KPI values"):
        whatif(FW, 2024, "ZAF", VALUES, ["TF.1.1=1"])
    assert np.isfinite(VALUES["value"]).any()
