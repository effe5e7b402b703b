"""Skewness, kurtosis and ranks against independent implementations."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from pmm.scoring.stats import kurtosis, rank_desc_rows, rank_min, skewness

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(arrays(float, st.tuples(st.integers(5, 30), st.integers(1, 4)), elements=finite))
def test_moments_equal_scipy_bias_corrected(x: np.ndarray) -> None:
    # e1071 type 2 (COINr's skew/kurt) is the bias-corrected G1/G2 that scipy computes
    spread = np.ptp(x, axis=0) > 1e-3 * np.maximum(1.0, np.abs(x).max(axis=0))
    if not spread.all():
        return
    assert np.allclose(skewness(x), stats.skew(x, axis=0, bias=False), rtol=1e-8, atol=1e-8)
    assert np.allclose(kurtosis(x), stats.kurtosis(x, axis=0, bias=False), rtol=1e-8, atol=1e-8)


def test_moments_ignore_missing_and_need_enough_values() -> None:
    x = np.array([[1.0, 1.0], [2.0, np.nan], [4.0, 2.0], [9.0, np.nan], [np.nan, np.nan]])
    assert np.isclose(skewness(x)[0], stats.skew([1, 2, 4, 9], bias=False))
    assert np.isnan(skewness(x)[1])  # two values
    assert np.isnan(kurtosis(x[:3, :1])[0])  # three values


@settings(max_examples=60, deadline=None)
@given(arrays(float, st.integers(1, 25), elements=st.sampled_from([0.0, 1.0, 2.5, 3.0, np.nan])))
def test_rank_min_matches_scipy(x: np.ndarray) -> None:
    ok = ~np.isnan(x)
    expected = np.full(len(x), np.nan)
    expected[ok] = stats.rankdata(x[ok], method="min")
    assert np.array_equal(rank_min(x), expected, equal_nan=True)
    expected_desc = np.full(len(x), np.nan)
    expected_desc[ok] = stats.rankdata(-x[ok], method="min")
    assert np.array_equal(rank_desc_rows(x[np.newaxis, :])[0], expected_desc, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(arrays(float, st.tuples(st.integers(2, 15), st.integers(1, 4)),
              elements=st.one_of(finite, st.just(np.nan))),
       st.sampled_from(["mean", "median", "group_mean", "group_median"]), st.data())
def test_imputation_never_changes_observed_values(x, method, data) -> None:
    from pmm.scoring.steps import impute_columns

    groups = np.array(data.draw(st.lists(st.sampled_from(["a", "b", ""]), min_size=len(x),
                                         max_size=len(x))), dtype=object)
    out = impute_columns(x, method, groups)
    seen = ~np.isnan(x)
    assert np.array_equal(out[seen], x[seen])
    if method in ("mean", "median"):  # every column with a value is filled
        has = seen.any(axis=0)
        assert not np.isnan(out[:, has]).any()
