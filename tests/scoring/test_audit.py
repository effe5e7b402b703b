"""Coherence checks, drop-one impact and strengths/weaknesses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pmm.scoring import audit, run_pipeline
from tests.scoring.test_pipeline import write_case

STEPS = [{"impute": {"method": "mean"}}, {"normalise": {}}, {"aggregate": {}}]


def test_cronbach_alpha_formula() -> None:
    x = np.array([[1.0, 2.0, 3.0], [2.0, 2.0, 4.0], [3.0, 5.0, 5.0], [4.0, 4.0, 7.0]])
    k = 3
    expected = k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))
    assert audit.cronbach_alpha(x) == pytest.approx(expected)
    assert audit.cronbach_alpha(np.column_stack([x[:, 0], x[:, 0]])) == pytest.approx(1.0)


def test_correlations_per_level_with_flags(asem_result) -> None:
    c = audit.correlations(asem_result, "pearson")
    own = c[(c.code == "Goods") & (c.relation == "parent")]
    assert own["with"].item() == "ConEcFin"
    agg = asem_result.stages["aggregated"]
    assert own["r"].item() == pytest.approx(np.corrcoef(agg["Goods"], agg["ConEcFin"])[0, 1])
    assert set(c.relation) == {"parent", "other group", "index"}
    negative = c[(c.relation == "parent") & (c.r < 0)]
    assert (negative["flag"].str.contains("negative with own group")).all()
    s = audit.correlations(asem_result, "spearman")
    assert not np.allclose(s["r"], c["r"])


def test_spearman_gives_tied_values_their_average_rank(asem_result) -> None:
    from scipy import stats

    agg = asem_result.stages["aggregated"]
    c = audit.correlations(asem_result, "spearman")
    own = c[(c.relation == "parent") & c.code.isin(["Tariff", "Visa", "Elec", "CPI"])]
    assert len(own) == 4  # all four have tied values in the ASEM data
    for code, parent, r in own[["code", "with", "r"]].itertuples(index=False):
        expected = stats.spearmanr(agg[code], agg[parent], nan_policy="omit").statistic
        assert r == pytest.approx(expected), code


def test_collinearity_pca_and_cronbach_tables(asem_result) -> None:
    flags = audit.collinearity_flags(asem_result, threshold=0.8)
    assert set(flags["flag"]) <= {"collinear", "negative"}
    assert (flags.loc[flags.flag == "collinear", "r"] > 0.8).all()
    pca = audit.pca_summary(asem_result).set_index("group")
    assert ((pca["variance_explained_1"] > 0) & (pca["variance_explained_1"] <= 1)).all()
    cr = audit.cronbach(asem_result).set_index("group")
    assert cr.loc["Index", "children"] == 2 and cr.loc["Social", "alpha"] > 0.7


def test_drop_one_matches_a_rerun_without_the_indicator(tmp_path: Path) -> None:
    res = run_pipeline(write_case(tmp_path, STEPS))
    table = audit.drop_one(res).set_index(["year", "indicator"])
    # re-run by hand without i3: G2 is then i4 alone
    agg = res.stages["aggregated"]
    g2 = agg["i4"]
    index = (agg["G1"] + g2) / 2
    for year, grp in agg.assign(alt=index).groupby("year"):
        before = grp["Index"].rank(ascending=False, method="min")
        after = grp["alt"].rank(ascending=False, method="min")
        assert table.loc[(year, "i3"), "mean_abs_rank_change"] == pytest.approx(
            (before - after).abs().mean())


def test_strengths_and_weaknesses(asem_result) -> None:
    sw = audit.strengths_weaknesses(asem_result, n=3, unit="AUT")
    assert list(sw["kind"]) == ["strength"] * 3 + ["weakness"] * 3
    strengths = sw[sw.kind == "strength"]
    weaknesses = sw[sw.kind == "weakness"]
    assert strengths["rank"].max() <= weaknesses["rank"].min()
    norm = asem_result.stages["normalised"].set_index("unit")
    first = strengths.iloc[0]
    assert norm.loc["AUT", first["indicator"]] == first["value"]
    all_units = audit.strengths_weaknesses(asem_result, n=2)
    assert len(all_units) == 51 * 4
