"""Trends between cycles (with comparability) and the SDG roll-up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pmm.access import ANONYMOUS, Principal, audience, visible
from pmm.analysis.observations import usable
from pmm.analysis.sdg import sdg_benchmark, sdg_member, sdg_observations
from pmm.analysis.trends import comparability, group_trends, member_trends
from pmm.framework.loader import load
from pmm.framework.model import BandsRule
from tests.analysis import synthetic

FW = load("wco-pmm-v1")
OBS, GROUPS = synthetic.observations(seed=11)


def changed_framework():
    kpis = []
    for k in FW.kpis:
        if k.code == "TF.1.1":
            k = k.model_copy(update={"formula": "100 * declarations_electronic{flow=IM} / "
                                                "declarations{flow=IM}"})
        if k.code == "RC.1.3":
            k = k.model_copy(update={"scoring": BandsRule(method="bands", bands=[
                {"level": "A", "threshold": 99.0}])})
        kpis.append(k)
    info = FW.framework.model_copy(update={"id": "wco-pmm-v2"})
    return FW.model_copy(update={"kpis": kpis, "framework": info})


def test_comparability_from_the_framework_diff():
    same = comparability(FW, FW)
    assert same["comparable"].all()
    comp = comparability(FW, changed_framework()).set_index(["level", "code"])
    assert not comp.loc[("kpi", "TF.1.1"), "comparable"]
    assert "formula changed" in comp.loc[("kpi", "TF.1.1"), "reason"]
    assert not comp.loc[("kpi_score", "TF.1.1"), "comparable"]
    assert not comp.loc[("outcome", "TF.1"), "comparable"]
    assert not comp.loc[("dimension", "TF"), "comparable"]
    # a new scoring rule keeps the values comparable, not the scores
    assert comp.loc[("kpi", "RC.1.3"), "comparable"]
    assert not comp.loc[("kpi_score", "RC.1.3"), "comparable"]
    assert "scoring changed" in comp.loc[("kpi_score", "RC.1.3"), "reason"]
    assert not comp.loc[("outcome", "RC.1"), "comparable"]
    assert comp.loc[("kpi", "OD.1.1"), "comparable"]
    assert "relative score" in comp.loc[("kpi_score", "OD.1.1"), "reason"]
    assert comp.loc[("outcome", "OD.2"), "comparable"]


def test_member_trends_show_only_values_visible_in_both_cycles():
    comp = comparability(FW, changed_framework())
    viewer = ANONYMOUS
    out = member_trends(OBS, viewer, 2022, 2024, comp, FW)
    assert len(out)
    seen = OBS[visible(viewer, OBS) & (OBS["status"] == "ok")]
    keys = set(zip(seen["cycle"], seen["member"], seen["code"], strict=True))
    for r in out.itertuples():
        assert (2022, r.member, r.code) in keys and (2024, r.member, r.code) in keys
        assert r.change == pytest.approx(r.value_to - r.value_from)
        if r.code == "TF.4.1" and r.change != 0:
            assert r.better == (r.change < 0)  # lower release time is better
    tf11 = out[out["code"] == "TF.1.1"]
    assert len(tf11) and not tf11["comparable"].any()
    assert out[out["code"] == "TF.4.1"]["comparable"].all()


def test_group_trends_are_differences_of_released_statistics():
    comp = comparability(FW, FW)
    viewer = audience("wco")
    out = group_trends(OBS, viewer, GROUPS, 2022, 2024, comp, fw=FW, by=["region"],
                       levels=("kpi",))
    both = out[np.isfinite(out["mean_from"]) & np.isfinite(out["mean_to"])]
    assert len(both)
    assert np.allclose(both["change_mean"], both["mean_to"] - both["mean_from"])
    gone = out[~(np.isfinite(out["mean_from"]) & np.isfinite(out["mean_to"]))]
    assert gone["change_mean"].isna().all()
    assert (out.loc[out["suppressed"], "reason"].str.len() > 0).all()


def test_sdg_roll_up_is_the_mean_of_mapped_outcome_scores():
    scores = pd.DataFrame([
        {"cycle": 2024, "member": "KEN", "level": "outcome", "code": code, "variant": "",
         "breakdown": "", "value": v, "status": "ok" if np.isfinite(v) else "not_applicable",
         "reason": "", "disclosure": d, "validated": True}
        for code, v, d in [("TF.1", 60.0, "public"), ("RC.1", 80.0, "wco"),
                           ("TF.2", np.nan, "public"), ("TF.4", 40.0, "public")]])
    out = sdg_observations(scores, FW).set_index(["level", "code"])
    # target 17.1 is mapped from TF.1 and RC.1 (among others absent here)
    assert out.loc[("sdg_target", "17.1"), "value"] == pytest.approx(70.0)
    assert out.loc[("sdg_target", "17.1"), "outcomes"] == 2
    assert out.loc[("sdg_target", "17.1"), "disclosure"] == "wco"
    # 17.10: TF.1, TF.2 (no score), TF.4
    assert out.loc[("sdg_target", "17.10"), "value"] == pytest.approx(50.0)
    assert out.loc[("sdg_target", "17.10"), "disclosure"] == "public"
    # goal 17 takes each outcome once
    assert out.loc[("sdg_goal", "17"), "value"] == pytest.approx(60.0)
    public = sdg_member(scores, FW, ANONYMOUS)
    assert "17.1" not in set(public["code"]) and "17.10" in set(public["code"])


def test_sdg_benchmark_is_disclosure_controlled():
    outcomes = OBS.copy()
    outcomes = outcomes[outcomes["code"] == "TF.1"]
    out = sdg_benchmark(outcomes, FW, ANONYMOUS, GROUPS, by=["region"])
    assert set(out["level"]) == {"sdg_target", "sdg_goal"}
    assert (out.loc[out["suppressed"], "reason"].str.len() > 0).all()
    secretariat = sdg_benchmark(outcomes, FW, Principal("secretariat", "secretariat"), GROUPS,
                                by=["region"])
    row = secretariat[(secretariat["kpi"] == "8.2") & (secretariat["group"] == "all")
                      & (secretariat["cycle"] == 2024)].iloc[0]
    tf1 = outcomes[(outcomes["cycle"] == 2024) & usable(outcomes)]
    assert row["mean"] == pytest.approx(tf1["value"].mean())
