"""Aggregation functions: COINr's formulas, missing children, coverage, domain errors, and the
invariants every mean must satisfy (Hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pmm.scoring.aggregation import (
    AggregationDomainError,
    aggregate,
    copeland,
    outranking_matrix,
    outranking_sum,
)

MEANS = [("arithmetic", None), ("geometric", None), ("harmonic", None), ("generalised", 2.0),
         ("generalised", 0.5), ("generalised", -2.0)]
positive = st.floats(0.01, 1000, allow_nan=False, allow_infinity=False)
weights_st = st.floats(0.05, 10, allow_nan=False, allow_infinity=False)


def test_weighted_means_by_hand() -> None:
    x, w = np.array([1.0, 4.0, 16.0]), np.array([1.0, 1.0, 2.0])
    assert aggregate(x, w) == pytest.approx((1 + 4 + 32) / 4)
    assert aggregate(x, w, "geometric") == pytest.approx((1 * 4 * 16**2) ** 0.25)
    assert aggregate(x, w, "harmonic") == pytest.approx(4 / (1 + 1 / 4 + 2 / 16))
    assert aggregate(x, w, "generalised", p=2) == pytest.approx(((1 + 16 + 2 * 256) / 4) ** 0.5)
    assert aggregate(x, w, "generalised", p=1) == aggregate(x, w)


def test_missing_children_are_reweighted_and_coverage_rule() -> None:
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 5.0], [np.nan] * 3])
    out = aggregate(x, [1, 1, 3])
    assert out[0] == pytest.approx((1 + 9) / 4) and out[1] == 5.0 and np.isnan(out[2])
    cov = aggregate(x, [1, 1, 3], coverage=0.5)
    assert cov[0] == pytest.approx(2.5) and np.isnan(cov[1])  # 1 of 3 present < 50%
    # a child with weight 0 is not part of the aggregate: 1 of 2 counted children present
    assert aggregate(x, [0, 1, 3], coverage=0.5)[1] == 5.0
    assert np.isnan(aggregate(x, [1, 1, 1], "copeland", coverage=0.5)[1])


def test_geometric_rejects_zero_and_negative_values_clearly() -> None:
    with pytest.raises(AggregationDomainError, match="strictly positive") as exc:
        aggregate(np.array([[1.0, 2.0], [3.0, 0.0]]), None, "geometric")
    assert exc.value.index == (1, 1)
    with pytest.raises(AggregationDomainError):
        aggregate(np.array([-1.0, 2.0]), None, "harmonic")
    # a zero-weight (excluded) child does not matter
    assert aggregate(np.array([0.0, 4.0]), [0, 1], "geometric") == 4.0


def test_outranking_matrix_matches_coinr_loops() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 4, size=(6, 5)).astype(float)
    x[2, 1] = np.nan
    w = rng.random(5)
    wn = w / w.sum()
    e = outranking_matrix(x, w)
    for i in range(6):  # COINr's double loop, upper triangle then 1 - upper
        for j in range(6):
            if i == j:
                assert e[i, j] == 0
            elif i < j:
                expect = wn[x[i] > x[j]].sum() + wn[x[i] == x[j]].sum() / 2
                assert e[i, j] == pytest.approx(expect)
            else:
                assert e[i, j] == pytest.approx(1 - e[j, i])
    assert np.allclose(outranking_sum(x, w), e.sum(axis=1))


def test_copeland_counts_pairwise_majorities() -> None:
    x = np.array([[3.0, 3.0, 1.0], [2.0, 2.0, 2.0], [1.0, 1.0, 3.0]])
    # unit 0 beats 1 and 2 on two of three children; unit 1 beats 2 the same way
    assert copeland(x).tolist() == [2.0, 0.0, -2.0]
    # with the third child weighing more than the other two, the order reverses
    assert copeland(x, [1, 1, 3]).tolist() == [-2.0, 0.0, 2.0]
    assert aggregate(x, None, "copeland").tolist() == [2.0, 0.0, -2.0]


def test_batched_equals_one_by_one() -> None:
    rng = np.random.default_rng(2)
    x = rng.random((7, 5, 4)) + 0.1
    w = rng.random((7, 1, 4))
    for method, p in MEANS:
        batch = aggregate(x, w, method, p=p)
        for r in range(7):
            assert np.array_equal(batch[r], aggregate(x[r], w[r, 0], method, p=p))
    cop = copeland(x, w[:, 0])
    assert np.array_equal(cop[3], copeland(x[3], w[3, 0]))


@settings(max_examples=80, deadline=None)
@given(values=arrays(float, st.integers(1, 6), elements=positive),
       weights=st.data(), method=st.sampled_from(MEANS), child=st.data(), bump=positive)
def test_monotone_in_each_child(values, weights, method, child, bump) -> None:
    w = weights.draw(arrays(float, len(values), elements=weights_st))
    i = child.draw(st.integers(0, len(values) - 1))
    higher = values.copy()
    higher[i] += bump
    m, p = method
    assert aggregate(higher, w, m, p=p) >= aggregate(values, w, m, p=p) * (1 - 1e-12)


@settings(max_examples=80, deadline=None)
@given(value=positive, n=st.integers(1, 8), weights=st.data(), method=st.sampled_from(MEANS))
def test_equal_children_give_that_value(value, n, weights, method) -> None:
    w = weights.draw(arrays(float, n, elements=weights_st))
    m, p = method
    assert aggregate(np.full(n, value), w, m, p=p) == pytest.approx(value, rel=1e-12)


@settings(max_examples=80, deadline=None)
@given(values=arrays(float, st.integers(1, 6), elements=positive), weights=st.data(),
       scale=st.floats(0.01, 100), method=st.sampled_from(MEANS))
def test_weights_are_relative_they_act_as_if_summing_to_one(values, weights, scale, method):
    w = weights.draw(arrays(float, len(values), elements=weights_st))
    m, p = method
    normalised = aggregate(values, w / w.sum(), m, p=p)
    assert aggregate(values, w * scale, m, p=p) == pytest.approx(normalised, rel=1e-10)
    # and the result lies between the smallest and the largest child
    assert values.min() * (1 - 1e-12) <= normalised <= values.max() * (1 + 1e-12)


@settings(max_examples=50, deadline=None)
@given(values=arrays(float, st.tuples(st.integers(2, 6), st.integers(1, 5)), elements=positive))
def test_copeland_is_monotone_and_sums_to_zero(values) -> None:
    base = copeland(values)
    assert base.sum() == 0  # every won pair is lost by the other unit
    better = values.copy()
    better[0] += 1.0
    assert copeland(better)[0] >= base[0]
