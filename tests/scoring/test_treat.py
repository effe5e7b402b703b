"""Outlier treatment: winsorisation order, ties, limits and the fallback transformation."""

from __future__ import annotations

import numpy as np
import pytest

from pmm.scoring.spec import TreatStep
from pmm.scoring.stats import kurtosis, skewness
from pmm.scoring.steps import treat_columns

SKEWED = np.r_[np.arange(1.0, 11.0), 30.0, 100.0]


def fails(col: np.ndarray) -> bool:
    return bool(abs(skewness(col)) > 2 and kurtosis(col) > 3.5)


def test_winsorises_the_largest_value_first_until_it_passes() -> None:
    x = SKEWED[:, np.newaxis]
    tr = treat_columns(x, TreatStep(winmax=5))
    col = tr.values[:, 0]
    assert fails(SKEWED) and not fails(col)
    assert col[11] == 30.0  # 100 became the next value
    n = int(tr.high[0])
    assert tr.label[0] == f"Winsorised {n} points" and tr.low[0] == 0
    assert (tr.flags[:, 0] == "winhi").sum() == n
    # the values that were not winsorised did not move
    untouched = tr.flags[:, 0] == ""
    assert np.array_equal(col[untouched], SKEWED[untouched])


def test_tied_extremes_move_together_and_count_as_points() -> None:
    x = np.r_[np.arange(1.0, 21.0), 200.0, 200.0][:, np.newaxis]
    tr = treat_columns(x, TreatStep(winmax=5))
    assert tr.values[20, 0] == tr.values[21, 0] == 20.0
    assert tr.high[0] >= 2


def test_negative_skew_winsorises_the_low_end() -> None:
    x = -SKEWED[:, np.newaxis]
    tr = treat_columns(x, TreatStep(winmax=5))
    assert tr.low[0] > 0 and tr.high[0] == 0 and tr.values[11, 0] == -30.0


def test_log_fallback_applies_to_the_original_values() -> None:
    x = np.r_[np.ones(15), 2.0, 50.0, 1000.0, 10000.0][:, np.newaxis]
    tr = treat_columns(x, TreatStep(winmax=1))
    lo, hi = x.min(), x.max()
    assert np.allclose(tr.values[:, 0], np.log(x[:, 0] - lo + 0.01 * (hi - lo)))
    assert tr.low[0] == tr.high[0] == 0
    assert tr.label[0].startswith("log_ct") and set(tr.flags[:, 0]) == {"log_ct"}


def test_combine_applies_the_fallback_to_winsorised_values() -> None:
    x = np.r_[np.ones(15), 2.0, 50.0, 1000.0, 10000.0][:, np.newaxis]
    tr = treat_columns(x, TreatStep(winmax=1, combine=True, fallback="log_ct_orig"))
    w = x[:, 0].copy()
    w[-1] = 1000.0
    assert np.allclose(tr.values[:, 0], np.log(w - w.min() + 1))
    assert tr.flags[-1, 0] == "winhi+log_ct_orig"


def test_plain_log_with_non_positive_values_is_left_untreated() -> None:
    x = np.r_[np.zeros(15), 2.0, 50.0, 1000.0, 10000.0][:, np.newaxis]
    tr = treat_columns(x, TreatStep(winmax=1, fallback="log"))
    assert np.array_equal(tr.values[:, 0], x[:, 0])
    assert "log failed" in tr.label[0]


def test_too_few_values_excluded_columns_and_winmax_auto() -> None:
    x = np.column_stack([np.r_[1.0, 2.0, 300.0, np.full(9, np.nan)], SKEWED, SKEWED])
    tr = treat_columns(x, TreatStep(winmax="auto"), active=np.array([True, True, False]))
    assert np.array_equal(tr.values[:, 0], x[:, 0], equal_nan=True)
    assert tr.label[0] == "None (fewer than 4 values)"
    assert np.array_equal(tr.values[:, 2], SKEWED)  # excluded
    assert tr.high[1] <= 2  # auto: 10% of 12 units, rounded up


@pytest.mark.parametrize("winchange", [True, False])
def test_winchange_controls_the_direction(winchange: bool) -> None:
    rng = np.random.default_rng(5)
    x = np.r_[rng.normal(size=40), 25.0, 24.0, -30.0][:, np.newaxis]
    tr = treat_columns(x, TreatStep(winmax=6, winchange=winchange))
    if not winchange:
        assert tr.low[0] == 0 or tr.high[0] == 0
    assert tr.low[0] + tr.high[0] <= 6
