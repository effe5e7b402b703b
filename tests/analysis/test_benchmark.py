"""Benchmarks over observations (no database): columns, global figures, groups, positions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pmm.access import ANONYMOUS, Principal, visible
from pmm.analysis.benchmark import COLUMNS, benchmark
from pmm.analysis.domains import kpi_domain
from pmm.analysis.groups import memberships
from pmm.analysis.observations import usable
from pmm.errors import PmmError
from pmm.framework.loader import load
from tests.analysis import synthetic

FW = load("wco-pmm-v1")
OBS, GROUPS = synthetic.observations(seed=3)
Y24 = OBS[OBS["cycle"] == 2024]


def test_columns_and_groupings():
    out = benchmark(Y24, Principal("secretariat", "secretariat"), GROUPS, fw=FW, by=["region"])
    assert list(out.columns) == COLUMNS
    assert set(out["grouping"]) == {"region", "global"}
    assert {"all", "balanced"} <= set(out.loc[out["grouping"] == "global", "group"])
    everything = benchmark(Y24, Principal("secretariat", "secretariat"), GROUPS, fw=FW)
    assert set(everything["grouping"]) == {"global", "region", "income", "geography",
                                           "admin_type", "size"}


def test_secretariat_gets_exact_statistics_of_every_validated_value():
    out = benchmark(Y24, Principal("secretariat", "secretariat"), GROUPS, fw=FW, by=["income"])
    rows = Y24[usable(Y24) & (Y24["code"] == "TF.4.1")]
    g = GROUPS[(GROUPS["grouping"] == "income") & (GROUPS["cycle"] == 2024)]
    for r in out[(out["kpi"] == "TF.4.1") & (out["grouping"] == "income")].itertuples():
        x = rows[rows["member"].isin(g.loc[g["group"] == r.group, "member"])]["value"]
        assert r.n == len(x)
        if r.n >= 3:
            assert r.mean == pytest.approx(x.mean())
            assert r.median == pytest.approx(np.quantile(x, 0.5))
            assert r.q1 == pytest.approx(np.quantile(x, 0.25))
            assert r.q3 == pytest.approx(np.quantile(x, 0.75))
            assert not r.suppressed
        else:
            assert math.isnan(r.mean) and r.suppressed and "fewer than 3" in r.reason


def test_statistics_use_hidden_values_but_do_not_show_them():
    """The public's group means are those of all validated values (not just public ones)."""
    pub = benchmark(Y24, ANONYMOUS, GROUPS, fw=FW, by=["region"])
    sec = benchmark(Y24, Principal("secretariat", "secretariat"), GROUPS, fw=FW, by=["region"])
    both = pub.merge(sec, on=["kpi", "grouping", "group"], suffixes=("_p", "_s"))
    released = both[np.isfinite(both["mean_p"]) & (both["group"] != "balanced")]
    assert len(released) > 5
    assert np.allclose(released["mean_p"], released["mean_s"])
    plain = both[both["group"] != "balanced"]
    assert (plain["n_p"] == plain["n_s"]).all()
    assert pub["suppressed"].sum() > sec["suppressed"].sum()


def test_balanced_global_is_the_mean_of_released_regional_means():
    out = benchmark(Y24, ANONYMOUS, GROUPS, fw=FW, by=["region"])
    for _kpi, rows in out.groupby("kpi"):
        regions = rows[(rows["grouping"] == "region") & (rows["n"] > 0)]
        shown = regions[np.isfinite(regions["mean"])]
        bal = rows[rows["group"] == "balanced"].iloc[0]
        if len(shown):
            assert bal["mean"] == pytest.approx(shown["mean"].mean())
            assert f"mean of {len(shown)} of {len(regions)} regional means" in bal["reason"]
        else:
            assert math.isnan(bal["mean"]) and bal["suppressed"]


def test_member_viewer_position():
    member = Y24["member"].iloc[4]
    out = benchmark(Y24, Principal("ncp-x", "ncp", member), GROUPS, fw=FW, by=["region"])
    mine = out[np.isfinite(out["position"])]
    assert len(mine) and mine["position"].between(0, 100).all()
    # the member's region row carries its position; other regions do not
    region = GROUPS[(GROUPS["grouping"] == "region") & (GROUPS["member"] == member)
                    & (GROUPS["cycle"] == 2024)]["group"].iloc[0]
    assert set(mine["group"]) <= {region, "all"}
    public = benchmark(Y24, ANONYMOUS, GROUPS, fw=FW, by=["region"])
    assert public["position"].isna().all()


def test_custom_groups_use_only_visible_values():
    hidden = Y24[usable(Y24) & ~visible(ANONYMOUS, Y24) & (Y24["code"] == "TF.4.1")]
    shown = Y24[usable(Y24) & visible(ANONYMOUS, Y24) & (Y24["code"] == "TF.4.1")]
    target = hidden["member"].iloc[0]
    others = list(shown["member"].iloc[:4])
    custom = {"mine": [target, *others]}
    out = benchmark(Y24[Y24["code"] == "TF.4.1"], ANONYMOUS, GROUPS, fw=FW,
                    by=["custom"], custom=custom)
    row = out[out["grouping"] == "custom"].iloc[0]
    assert row["n"] == 4 and row["basis"] == "visible"
    assert row["mean"] == pytest.approx(shown["value"].iloc[:4].mean())
    with pytest.raises(PmmError, match="needs user-defined groups"):
        benchmark(Y24, ANONYMOUS, GROUPS, fw=FW, by=["custom"])


def test_bad_grouping():
    with pytest.raises(PmmError, match="--by 'colour'"):
        benchmark(Y24, ANONYMOUS, GROUPS, fw=FW, by=["colour"])


def test_memberships_cover_every_member_once_per_grouping():
    members = ["KEN", "FRA", "BRA", "JPN", "NGA"]
    g = memberships(members, {"KEN": 50_000, "FRA": 20_000_000})
    for grouping, rows in g.groupby("grouping"):
        assert sorted(rows["member"]) == sorted(members), grouping
    size = g[g["grouping"] == "size"].set_index("member")["group"]
    assert size["KEN"] == "small" and size["FRA"] == "very_large" and size["BRA"] == "unknown"


def test_kpi_domains_from_formulas():
    assert (kpi_domain(FW.kpi("TF.1.1"), FW).lo, kpi_domain(FW.kpi("TF.1.1"), FW).hi) == (0, 100)
    d = kpi_domain(FW.kpi("TF.2.1"), FW)
    assert d.lo == -100 and d.hi == math.inf
    assert kpi_domain(FW.kpi("OD.5.1"), FW).levels == (0.0, 1.0)
    d = kpi_domain(FW.kpi("TF.4.1"), FW)
    assert d.lo == 0 and d.hi == math.inf and not d.discrete


def test_empty_input():
    out = benchmark(pd.DataFrame(columns=OBS.columns), ANONYMOUS, GROUPS, fw=FW)
    assert list(out.columns) == COLUMNS and not len(out)
