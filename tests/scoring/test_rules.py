"""Scoring rules: normalisation formulas (COINr's), direction, ordinal bands and PEFA criteria."""

from __future__ import annotations

import numpy as np
import pytest

from pmm.scoring import rules

X = np.array([[2.0, 10.0], [4.0, 30.0], [8.0, np.nan], [6.0, 20.0]])


def test_minmax_direction_and_range() -> None:
    out = rules.minmax(X, [1, -1], 0, 100)
    assert np.allclose(out[:, 0], [0.0, 100 / 3, 100.0, 200 / 3], rtol=1e-15)
    assert out[:, 1].tolist()[:2] == [100.0, 0.0] and np.isnan(out[2, 1])
    assert rules.minmax(X[:, 0], 1, 1, 100)[0] == 1.0


def test_zscore_uses_sample_sd() -> None:
    out = rules.zscore(X[:, 0], 1, 10, 2)
    v = X[:, 0]
    assert np.allclose(out, (v - v.mean()) / v.std(ddof=1) * 2 + 10)
    assert np.isclose(rules.zscore(X[:, 0], -1)[0], -(2 - 5) / v.std(ddof=1))


def test_rank_borda_percentile_rank() -> None:
    v = np.array([3.0, 1.0, 3.0, np.nan, 2.0])
    assert np.array_equal(rules.rank(v), [3, 1, 3, np.nan, 2], equal_nan=True)
    assert np.array_equal(rules.borda(v), [2, 0, 2, np.nan, 1], equal_nan=True)
    assert np.allclose(rules.percentile_rank(v, scale=100), [200 / 3, 0, 200 / 3, np.nan, 100 / 3],
                       equal_nan=True)
    assert np.array_equal(rules.rank(v, -1), [1, 4, 1, np.nan, 3], equal_nan=True)


def test_goalposts_clip_and_direction() -> None:
    v = np.array([0.0, 50.0, 120.0])
    assert rules.goalposts(v, 10, 110).tolist() == [0.0, 40.0, 100.0]
    # lower is better: the lower goalpost is the best value
    assert rules.goalposts(v, 10, 110, direction=-1).tolist() == [100.0, 60.0, 0.0]
    assert rules.goalposts(v, 10, 110, clip=False, scale=1)[2] == pytest.approx(1.1)


def test_distance_to_target_matches_coinr_formula() -> None:
    v = np.array([2.0, 4.0, 8.0, 12.0])
    # COINr n_dist2targ: 1 - (targ - x)/(targ - min(x)), capped at 1
    assert np.allclose(rules.distance_to_target(v, 10), [0, 0.25, 0.75, 1.0])
    assert rules.distance_to_target(v, 10, cap=False)[3] == pytest.approx(1.25)
    # lower is better: COINr negates x and the target; the baseline is then the maximum
    assert np.allclose(rules.distance_to_target(v, 4, -1), [1.0, 1.0, 0.5, 0.0])
    assert np.allclose(rules.distance_to_target(v, 10, baseline=0, scale=100), [20, 40, 80, 100])


def test_other_distances() -> None:
    v = np.array([2.0, 4.0, 8.0])
    assert np.allclose(rules.distance_to_maximum(v), [0, 1 / 3, 1])
    assert np.allclose(rules.fraction_of_max(v), [0.25, 0.5, 1])
    assert np.allclose(rules.distance_to_reference(v, 1), [0, 1, 3])
    assert np.allclose(rules.distance_to_reference(v, 1, cap=True), [0, 1, 1])
    assert np.allclose(rules.scaled(v, 0, 10), [20, 40, 80])


def test_direction_must_be_plus_or_minus_one() -> None:
    with pytest.raises(ValueError, match="direction"):
        rules.minmax(X, 2)


def test_bands_levels_and_missing_is_d_star() -> None:
    v = np.array([95.0, 75.0, 74.9, 10.0, np.nan])
    out = rules.bands(v, [50, 75, 90])
    assert out.tolist() == ["A", "B", "C", "D", "D*"]
    # lower is better (e.g. release time in hours): the cutoffs are upper limits
    hours = np.array([2.0, 24.0, 48.0, 100.0])
    assert rules.bands(hours, [72, 48, 24], direction=-1).tolist() == ["A", "A", "B", "D"]
    with pytest.raises(ValueError, match="increase"):
        rules.bands(v, [90, 75, 50])
    with pytest.raises(ValueError, match="cutoffs"):
        rules.bands(v, [50, 75])


def test_criteria_grade_all_criteria_semantics() -> None:
    crit = {
        "C": [[True, True], [True, True], [True, False], [None, True], [False, None], [True, True]],
        "B": [[True], [True], [True], [True], [True], [None]],
        "A": [[True, True], [True, False], [True, True], [True, True], [True, True], [True, True]],
    }
    out = rules.criteria_grade(crit)
    # row 0: all met -> A; row 1: an A criterion fails -> B; row 2: a C criterion fails -> D
    # even though B and A are met; row 3: C unknown, none failing -> D*; row 4: a known failure
    # -> D (not D*); row 5: B unknown -> C (unknown never counts as met)
    assert out.tolist() == ["A", "B", "D", "D*", "D", "C"]


def test_criteria_grade_rejects_unknown_grades() -> None:
    with pytest.raises(ValueError, match="unknown grades"):
        rules.criteria_grade({"E": [[True]]})
