"""One rule for KPIs without a value (not applicable, not available, missing), at every level:
no score (never 0), left out of every aggregate, coverage over the applicable children."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pmm.framework.loader import load
from pmm.scoring.kpi_values import kpi_values
from pmm.scoring.pmm import score_cycle
from tests.scoring.test_pmm_scores import T, _items


@pytest.fixture(scope="module")
def fw():
    return load("wco-pmm-v1")


def _scores(fw, statuses: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(statuses, columns=["member", "kpi", "status", "note"])
    return score_cycle(fw, kpi_values(fw, _items(fw), frame, T)).set_index(
        ["member", "level", "code"])


def test_an_outcome_whose_kpis_are_all_not_available_is_insufficient_whatever_the_rule(fw):
    # TF.1: two banded KPIs; ES.1: two goalposts KPIs. Before, TF.1 was 0.0 "ok" (D* = 0) and
    # ES.1 "insufficient data".
    both = [("AAA", k, "not_available", "") for k in ("TF.1.1", "TF.1.2", "ES.1.1", "ES.1.2")]
    scores = _scores(fw, both)
    for outcome in ("TF.1", "ES.1"):
        row = scores.loc[("AAA", "outcome", outcome)]
        assert row.status == "insufficient_data", (outcome, row.to_dict())
        assert np.isnan(row.score)
        assert "0 of 2 applicable KPIs scored" in row.reason
    for kpi in ("TF.1.1", "TF.1.2", "ES.1.1", "ES.1.2"):
        row = scores.loc[("AAA", "kpi", kpi)]
        assert np.isnan(row.score), kpi  # never 0
        assert row.status == "not_available"
    assert scores.loc[("AAA", "kpi", "TF.1.1"), "grade"] == "D*"  # the PEFA label stays


def test_a_not_available_kpi_is_left_out_of_the_mean_and_counts_against_coverage(fw):
    # TF.2 has three KPIs (two goalposts, one banded): one not available leaves 2 of 3 scored,
    # whichever of them it is, and the outcome is the mean of the other two.
    for gone in ("TF.2.1", "TF.2.3"):
        scores = _scores(fw, [("BBB", gone, "not_available", "")])
        kids = [k for k in ("TF.2.1", "TF.2.2", "TF.2.3") if k != gone]
        expected = np.mean([scores.loc[("BBB", "kpi", k), "score"] for k in kids])
        row = scores.loc[("BBB", "outcome", "TF.2")]
        assert row.status == "ok"
        assert row.score == pytest.approx(expected)


def test_not_applicable_leaves_the_denominator_and_all_not_applicable_is_not_applicable(fw):
    statuses = [("CCC", "TF.1.1", "not_applicable", "no electronic system"),
                ("CCC", "TF.1.2", "not_available", "")]
    scores = _scores(fw, statuses)
    row = scores.loc[("CCC", "outcome", "TF.1")]  # 0 of 1 applicable: insufficient, not 0
    assert row.status == "insufficient_data" and "0 of 1 applicable KPIs scored" in row.reason
    scores = _scores(fw, [("DDD", k, "not_applicable", "n/a") for k in ("TF.1.1", "TF.1.2")])
    assert scores.loc[("DDD", "outcome", "TF.1"), "status"] == "not_applicable"
    # the same rule one level up: TF's coverage leaves the not applicable outcome out
    dim = scores.loc[("DDD", "dimension", "TF")]
    outcomes = [o.code for o in fw.outcomes_of_dimension("TF") if o.code != "TF.1"]
    expected = np.mean([scores.loc[("DDD", "outcome", o), "score"] for o in outcomes])
    assert dim.status == "ok" and dim.score == pytest.approx(expected)


def test_pefa_aggregation_leaves_unscored_kpis_out(fw):
    rule = fw.aggregation.outcome.model_copy(update={"method": "pefa_m1"})
    pefa_fw = fw.model_copy(update={"aggregation": fw.aggregation.model_copy(
        update={"outcome": rule})})
    scores = _scores(pefa_fw, [("EEE", "TF.2.3", "not_available", "")])
    kids = [scores.loc[("EEE", "kpi", k), "score"] for k in ("TF.2.1", "TF.2.2")]
    points = np.select([np.array(kids) >= 75, np.array(kids) >= 50, np.array(kids) >= 25],
                       [4, 3, 2], 1)
    low = points.min()  # the weakest link of the two scored KPIs, not a D for the third
    expected = (low + 0.5 * (points.max() > low) - 1) / 3 * 100
    assert scores.loc[("EEE", "outcome", "TF.2"), "score"] == pytest.approx(expected)
