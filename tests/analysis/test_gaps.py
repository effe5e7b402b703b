"""Gaps, plans and the capacity-building support catalogue."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pmm.analysis.gaps import COLUMNS, find_gaps, fmt, plan_by_support
from pmm.analysis.support import load_support, match, support_frame
from pmm.errors import PmmError
from pmm.framework.loader import load

FW = load("wco-pmm-v1")
CATALOGUE = load_support(fw=FW)


def current(**values) -> pd.DataFrame:
    rows = []
    for kpi, v in values.items():
        code = kpi.replace("_", ".")
        if isinstance(v, str):
            rows.append({"member": "KEN", "kpi": code, "value": np.nan, "status": v,
                         "reason": f"{v.replace('_', ' ')}: no data"})
        else:
            rows.append({"member": "KEN", "kpi": code, "value": float(v), "status": "ok",
                         "reason": ""})
    return pd.DataFrame(rows)


def test_each_kind_of_gap():
    cur = current(TF_1_1=80.0, TF_4_1=60.0, TF_2_2=10.0, OD_5_1=0.0, RC_1_2="not_available",
                  TF_3_1="not_applicable", OD_3_1=50.0)
    peers = pd.DataFrame([
        {"member": "KEN", "kpi": "TF.4.1", "reference": 30.0, "statistic": "median",
         "grouping": "region", "group": "ESA", "n": 9},
        {"member": "KEN", "kpi": "TF.2.2", "reference": 8.0, "statistic": "mean",
         "grouping": "region", "group": "ESA", "n": 9}])
    previous = pd.DataFrame([
        {"member": "KEN", "kpi": "TF.1.1", "value": 90.0, "status": "ok"},
        {"member": "KEN", "kpi": "TF.2.2", "value": 20.0, "status": "ok"}])
    out = find_gaps(FW, 2024, cur, peers=peers, previous=previous, previous_cycle=2022,
                    not_comparable={"TF.2.2"}, catalogue=CATALOGUE)
    assert list(out.columns) == COLUMNS
    got = {(r.kpi, r.gap) for r in out.itertuples()}
    assert got == {("TF.1.1", "target"), ("TF.1.1", "trend"), ("TF.4.1", "peer"),
                   ("OD.5.1", "target"), ("RC.1.2", "missing")}
    # TF.2.2 is above its peer mean, and its trend is not comparable; TF.3.1 is not
    # applicable (a national specificity, not a gap); OD.3.1 meets its target
    by = out.set_index(["kpi", "gap"])
    assert by.loc[("TF.1.1", "target"), "severity"] == pytest.approx(0.2)  # 20 of 100
    assert by.loc[("TF.4.1", "peer"), "severity"] == pytest.approx(0.5)  # 30 h short of 60 h
    assert by.loc[("OD.5.1", "target"), "severity"] == pytest.approx(1.0)
    assert by.loc[("RC.1.2", "missing"), "severity"] == pytest.approx(0.5)
    assert "median 30.0 h of the region group ESA (n = 9)" in by.loc[("TF.4.1", "peer"),
                                                                     "evidence"]
    assert "worse than 90.0 % in 2022" in by.loc[("TF.1.1", "trend"), "evidence"]
    assert "not available: no data" in by.loc[("RC.1.2", "missing"), "evidence"]
    # ranked by priority, every line with its KPI, evidence, tools and support
    assert out["rank"].tolist() == list(range(1, len(out) + 1))
    assert (np.diff(out["priority"].to_numpy()) <= 1e-12).all()
    for column in ("kpi", "kpi_name", "evidence", "tools", "tool_names", "support",
                   "support_names"):
        assert (out[column].str.len() > 0).all(), column
    assert "trs_support" in by.loc[("TF.4.1", "peer"), "support"]
    assert "pmm_data_support" in by.loc[("RC.1.2", "missing"), "support"]
    assert "diagnostic_mission" not in by.loc[("RC.1.2", "missing"), "support"]


def test_weights_order_the_plan():
    fw = FW.model_copy(update={"kpis": [k.model_copy(update={"weight": 3.0})
                                        if k.code == "TF.1.2" else k for k in FW.kpis]})
    cur = current(TF_1_1="not_available", TF_1_2="not_available")
    out = find_gaps(fw, 2024, cur, catalogue=CATALOGUE)
    assert out["kpi"].tolist() == ["TF.1.2", "TF.1.1"]
    assert out["priority"].tolist() == pytest.approx([1.5, 0.5])


def test_no_gap_gives_an_empty_plan():
    out = find_gaps(FW, 2024, current(TF_1_1=100.0), catalogue=CATALOGUE)
    assert list(out.columns) == COLUMNS and not len(out)


def test_plan_by_support():
    cur = current(TF_4_1=60.0, TF_4_2=40.0)
    peers = pd.DataFrame([{"member": "KEN", "kpi": k, "reference": 20.0, "statistic": "median",
                           "grouping": "region", "group": "ESA", "n": 5}
                          for k in ("TF.4.1", "TF.4.2")])
    gaps = find_gaps(FW, 2024, cur, peers=peers, catalogue=CATALOGUE)
    plan = plan_by_support(gaps, CATALOGUE)
    trs = plan.set_index("support").loc["trs_support"]
    assert trs["gaps"] == 2 and trs["members"] == 1 and trs["kpis"] == "TF.4.1; TF.4.2"
    assert plan["priority"].is_monotonic_decreasing


def test_shipped_catalogue_covers_every_tool_of_the_framework():
    covered = {t for s in CATALOGUE for t in s.tools}
    assert {t.code for t in FW.tools} <= covered
    for s in CATALOGUE:
        assert s.name.en and s.name.fr and s.description.en and s.description.fr
    assert any(s.general and "missing" in s.gaps for s in CATALOGUE)
    assert any(s.general and "target" in s.gaps for s in CATALOGUE)
    names = {s.code for s in CATALOGUE}
    assert {"diagnostic_mission", "trs_support", "pca_risk_training", "aeo_support",
            "mercator_tfa"} <= names
    assert len(support_frame(CATALOGUE)) == len(CATALOGUE)


def test_match_prefers_the_kpis_own_tools():
    found = match(CATALOGUE, "peer", ["TRS"], ["TRS", "RKC", "RMC"], "TF.4")
    assert found[0].code == "trs_support"
    assert found[-1].code == "diagnostic_mission"


@pytest.mark.parametrize("text, message", [
    ("support:\n  - code: x\n    name: {en: X}\n    kind: mission\n    tools: [NOPE]\n",
     ":2: x: tools: 'NOPE' is not a tool of wco-pmm-v1"),
    ("support:\n  - code: x\n    name: {en: X}\n    kind: party\n",
     ":2: support entry 1: kind"),
    ("support:\n  - code: x\n    name: {en: X}\n    kind: mission\n"
     "  - code: x\n    name: {en: Y}\n    kind: mission\n", ":5: code x appears twice"),
    ("support: [\n", "not valid YAML"),
    ("items: []\n", "expected a mapping with a `support` list"),
    ("support: []\n", "the support list is empty"),
])
def test_catalogue_errors_name_file_and_line(tmp_path: Path, text, message):
    path = tmp_path / "support.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PmmError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_support(path, fw=FW)
    with pytest.raises(PmmError, match="no such file"):
        load_support(tmp_path / "none.yaml")


def test_fmt():
    assert fmt(62.44, "percent") == "62.4 %"
    assert fmt(1234.0, "count") == "1,234"
    assert fmt(0.52, "ratio") == "0.52"
    assert fmt(1.0, "yes_no") == "yes" and fmt(0.0, "yes_no") == "no"
    assert fmt(float("nan"), "hours") == "–"
