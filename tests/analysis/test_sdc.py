"""Disclosure control of group statistics: the rules one by one, and an attacker on random data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmm.analysis.sdc import Domain, Rules, determined_continuous, release
from pmm.errors import PmmError
from tests.analysis.attacker import Knowledge, Statistic, attack

PERCENT = Domain(0.0, 100.0)
YES_NO = Domain(0.0, 1.0, (0.0, 1.0))


def knowledge(x, vis, inc, rel, domain, names=None, quantiles=True) -> Knowledge:
    """What the viewer receives from one release, in the attacker's terms."""
    names = names or [f"m{i}" for i in range(len(x))]
    measure = ("m",)
    stats = []
    for g in range(len(inc)):
        members = frozenset(names[i] for i in np.flatnonzero(inc[g]))
        mean = rel.mean[g]
        qs = {}
        if quantiles:
            qs = {k: getattr(rel, k)[g] for k in ("q1", "median", "q3")
                  if np.isfinite(getattr(rel, k)[g])}
        stats.append(Statistic(measure, members, int(rel.n[g]),
                               float(mean) if np.isfinite(mean) else None, qs))
    return Knowledge(
        visible={measure: {names[i]: float(x[i]) for i in np.flatnonzero(vis)}},
        hidden_truth={measure: {names[i]: float(x[i]) for i in np.flatnonzero(~vis)}},
        stats=stats, bounds={measure: (domain.lo, domain.hi)},
        levels={measure: domain.levels} if domain.levels else {})


def raw_release(x, inc):
    """Every statistic, unprotected: what the attacker would get without disclosure control."""
    class Raw:
        n = inc.sum(axis=1)
        mean = (inc * x).sum(axis=1) / np.maximum(inc.sum(axis=1), 1)
        median = np.array([np.median(x[r]) for r in inc])
        q1 = np.array([np.quantile(x[r], 0.25) for r in inc])
        q3 = np.array([np.quantile(x[r], 0.75) for r in inc])
    return Raw


def test_minimum_group_size_withholds_everything_but_n():
    x = np.array([10.0, 20.0, 30.0, 40.0])
    inc = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    rel = release(x, np.ones(4, bool), inc, PERCENT, Rules(min_n=3))
    assert rel.code.tolist() == ["min_n", ""]
    assert rel.n.tolist() == [2, 4] and np.isnan(rel.mean[0]) and rel.mean[1] == 25.0
    assert "fewer than 3 members" in rel.reasons(Rules(min_n=3))[0]
    rel = release(x, np.ones(4, bool), inc, PERCENT, Rules(min_n=2))
    assert rel.mean[0] == 15.0


def test_a_group_with_one_hidden_value_is_withheld():
    """Mean × n minus the visible values would be the hidden value."""
    x = np.array([10.0, 20.0, 30.0, 40.0])
    vis = np.array([True, True, True, False])
    inc = np.ones((1, 4), bool)
    rel = release(x, vis, inc, PERCENT, Rules())
    assert rel.code[0] == "single" and np.isnan(rel.mean[0])
    assert "the one value in the group you may not see" in rel.reasons(Rules())[0]
    # the attacker confirms it: the raw mean would reveal member m3
    assert attack(knowledge(x, vis, inc, raw_release(x, inc), PERCENT)) == {(("m",), "m3")}


def test_differencing_two_groupings_is_blocked_by_secondary_suppression():
    """Region A has one hidden member; the global total minus region B would reveal it."""
    x = np.array([12.0, 35.0, 48.0, 51.0, 66.0, 70.0, 81.0])
    vis = np.array([False, True, True, False, False, True, True])
    inc = np.array([[1, 1, 1, 1, 1, 1, 1],   # global: three hidden (m0, m3, m4)
                    [1, 1, 1, 0, 0, 0, 0],   # region A: one hidden (m0) -> primary
                    [0, 0, 0, 1, 1, 1, 1]],  # region B: two hidden; global - B = m0
                   bool)
    raw = attack(knowledge(x, vis, inc, raw_release(x, inc), PERCENT, quantiles=False))
    assert (("m",), "m0") in raw
    rel = release(x, vis, inc, PERCENT, Rules())
    assert rel.code.tolist() == ["", "single", "secondary"]
    assert "secondary suppression" in rel.reasons(Rules())[2]
    assert rel.mean[0] == pytest.approx(x.mean())
    assert not attack(knowledge(x, vis, inc, rel, PERCENT))
    # income grouping splitting the two hidden members differently: still nothing derivable
    inc2 = np.vstack([inc, [[1, 0, 0, 1, 1, 0, 0], [0, 1, 1, 0, 0, 1, 1]]]).astype(bool)
    rel2 = release(x, vis, inc2, PERCENT, Rules())
    assert not attack(knowledge(x, vis, inc2, rel2, PERCENT))


def test_values_at_a_bound_are_protected():
    """Three hidden members all at 100 %: a mean of 100 would reveal all three."""
    x = np.array([100.0, 100.0, 100.0, 50.0, 60.0, 70.0, 80.0])
    vis = np.array([False, False, False, True, True, True, True])
    inc = np.array([[1] * 7, [1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1, 1]], bool)
    raw = attack(knowledge(x, vis, inc, raw_release(x, inc), PERCENT, quantiles=False))
    assert len(raw) == 3  # without control the bound gives them away
    rel = release(x, vis, inc, PERCENT, Rules())
    assert rel.code[1] == "secondary" and rel.code[0] == "secondary"
    assert rel.mean[2] == 65.0  # the all-visible region is still released
    assert not attack(knowledge(x, vis, inc, rel, PERCENT))
    # with one hidden member below the bound, nothing is pinned and the mean is released
    x[0] = 90.0
    rel = release(x, vis, inc, PERCENT, Rules())
    assert rel.code[1] == "" and not attack(knowledge(x, vis, inc, rel, PERCENT))


def test_dominance_p_percent_rule():
    x = np.array([1000.0, 20.0, 30.0, 5.0, 6.0])
    vis = np.array([False, False, False, True, True])
    inc = np.ones((1, 5), bool)
    counts = Domain(0.0, np.inf)
    rel = release(x, vis, inc, counts, Rules(dominance_p=10))
    assert rel.code[0] == "dominance"
    assert "p% rule, p = 10" in rel.reasons(Rules(dominance_p=10))[0]
    assert release(x, vis, inc, counts, Rules(dominance_p=0)).code[0] == ""
    x[1] = 200.0  # the others now sum to 23 % of the largest
    assert release(x, vis, inc, counts, Rules(dominance_p=10)).code[0] == ""
    # no dominance rule for a measure that can be negative (not a magnitude)
    assert release(x, vis, inc, Domain(), Rules(dominance_p=50)).code[0] == ""


def test_a_median_that_is_a_hidden_value_is_withheld():
    """A median of 3 values is one of them."""
    x = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    vis = np.array([True, False, False, True, True])
    inc = np.ones((1, 5), bool)
    rel = release(x, vis, inc, Domain(), Rules())
    # sorted: 10 20 30 40 50: q1 = 20 (hidden), median = 30 (hidden), q3 = 40 (visible)
    assert np.isnan(rel.q1[0]) and np.isnan(rel.median[0]) and rel.q3[0] == 40.0
    assert rel.reasons(Rules())[0].startswith("q1, median withheld")
    assert rel.suppressed[0] and rel.mean[0] == 30.0
    raw = attack(knowledge(x, vis, inc, raw_release(x, inc), Domain()))
    assert {m for _meas, m in raw} == {"m1", "m2"}  # the raw quartiles expose them
    assert not attack(knowledge(x, vis, inc, rel, Domain()))


def test_interpolated_quantiles_use_visible_values_only():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    vis = np.array([True, True, True, True, False, False])
    inc = np.ones((1, 6), bool)
    rel = release(x, vis, inc, Domain(), Rules())
    # h = 5 × 0.5 = 2.5: between 3 and 4 (visible); q3 at 3.75: between 4 and 5 (hidden)
    assert rel.median[0] == 3.5 and rel.q1[0] == 2.25 and np.isnan(rel.q3[0])


def test_a_hidden_value_tied_with_a_used_order_statistic_withholds_the_quantile():
    x = np.array([10.0, 30.0, 30.0, 50.0, 60.0])
    vis = np.array([True, True, False, True, False])
    rel = release(x, vis, np.ones((1, 5), bool), Domain(), Rules())
    assert np.isnan(rel.median[0])  # median 30 is also the hidden m2's value


def test_position_of_a_member_viewer():
    x = np.array([50.0, 10.0, 20.0, 70.0, 80.0, 90.0])
    vis = np.array([True, False, False, True, True, True])
    inc = np.ones((1, 6), bool)
    rel = release(x, vis, inc, Domain(), Rules(), own=0, direction=1)
    assert rel.position[0] == pytest.approx(40.0)  # better than 2 of the 5 others
    rel = release(x, vis, inc, Domain(), Rules(), own=0, direction=-1)
    assert rel.position[0] == pytest.approx(60.0)  # lower is better: 3 of 5 are worse
    x[1] = 50.0  # a hidden value equal to the member's own: position withheld
    rel = release(x, vis, inc, Domain(), Rules(), own=0)
    assert np.isnan(rel.position[0]) and "position withheld" in rel.reasons(Rules())[0]


def test_yes_no_measure_uses_the_exact_integer_check():
    x = np.array([1.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    vis = np.array([False, False, False, True, True, True])
    inc = np.array([[1] * 6, [1, 1, 0, 1, 0, 0], [0, 0, 1, 0, 1, 1]], bool)
    raw = attack(knowledge(x, vis, inc, raw_release(x, inc), YES_NO, quantiles=False))
    assert raw  # group of m0, m1 with mean (1 + 1 + 1) / 3 -> both are yes
    rel = release(x, vis, inc, YES_NO, Rules())
    assert not attack(knowledge(x, vis, inc, rel, YES_NO, quantiles=False))
    # two hidden members with the same groups and different values: the swap keeps all
    x2 = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    vis2 = np.array([False, False, True, True, True])
    rel2 = release(x2, vis2, np.ones((1, 5), bool), YES_NO, Rules())
    assert rel2.code[0] == "" and rel2.mean[0] == pytest.approx(0.6)


def test_determined_continuous_null_space_and_signs():
    A = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    none = np.zeros(3, bool)
    assert not determined_continuous(A, none, none).any()
    # x1 at its lower bound and x0 + x1 fixed, x1 + x2 fixed: x1 can still rise if x0, x2 fall
    assert not determined_continuous(A, np.array([False, True, False]), none).any()
    # x0 and x1 at the lower bound with x0 + x1 fixed: both pinned; x2 then pinned too
    assert determined_continuous(A, np.array([True, True, False]), none).all()
    assert determined_continuous(np.array([[1.0, 0.0, 0.0]]), none, none).tolist() == [
        True, False, False]


def test_rules_are_checked():
    with pytest.raises(PmmError, match="--min-n"):
        Rules(min_n=0)
    with pytest.raises(PmmError, match="--dominance"):
        Rules(dominance_p=150)


# ---------------------------------------------------------------- property: random releases

@st.composite
def scenarios(draw):
    m = draw(st.integers(4, 16))
    grid = st.sampled_from([0.0, 5.0, 12.5, 37.0, 50.0, 63.0, 88.5, 100.0])
    cents = st.integers(0, 10_000).map(lambda c: c / 100)  # values as reported, to 0.01
    x = np.array(draw(st.lists(st.one_of(grid, cents), min_size=m, max_size=m)))
    vis = np.array(draw(st.lists(st.booleans(), min_size=m, max_size=m)))
    rows = [np.ones(m, bool)]
    for _g in range(draw(st.integers(1, 3))):
        labels = np.array(draw(st.lists(st.integers(0, draw(st.integers(1, 3))),
                                        min_size=m, max_size=m)))
        rows += [labels == v for v in np.unique(labels)]
    own = draw(st.one_of(st.none(), st.integers(0, m - 1)))
    return x, vis, np.array(rows), own


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(1, 4))
def test_nothing_hidden_is_derivable_from_a_release(scenario, min_n):
    x, vis, inc, own = scenario
    if own is not None:
        vis = vis.copy()
        vis[own] = True  # a member always sees its own value
    rules = Rules(min_n=min_n)
    rel = release(x, vis, inc, PERCENT, rules, own=own)
    # nothing derived, nor narrowed to an interval narrower than protection_p %
    assert not attack(knowledge(x, vis, inc, rel, PERCENT), p=rules.protection_p)
    # every withheld statistic says why
    reasons = rel.reasons(Rules(min_n=min_n))
    for g in range(len(inc)):
        if np.isnan(rel.mean[g]) or rel.suppressed[g]:
            assert reasons[g]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(4, 12).flatmap(lambda m: st.tuples(
    st.lists(st.sampled_from([0.0, 1.0]), min_size=m, max_size=m),
    st.lists(st.booleans(), min_size=m, max_size=m),
    st.lists(st.integers(0, 2), min_size=m, max_size=m),
    st.lists(st.integers(0, 1), min_size=m, max_size=m))))
def test_nothing_hidden_is_derivable_from_a_yes_no_release(data):
    x, vis, a, b = (np.array(v) for v in data)
    x = x.astype(float)
    vis = vis.astype(bool)
    inc = np.array([np.ones(len(x), bool), *[a == v for v in range(3)],
                    *[b == v for v in range(2)]])
    rel = release(x, vis, inc, YES_NO, Rules(min_n=2))
    assert not attack(knowledge(x, vis, inc, rel, YES_NO))


def test_position_of_a_member_whose_value_is_not_validated_yet():
    """Its value is not in the statistics, but it may see where it would stand."""
    x = np.array([10.0, 20.0, 70.0, 80.0])
    inc = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
    rel = release(x, np.array([True, True, False, False]), inc, Domain(), Rules(min_n=2),
                  own_value=50.0, own_groups=np.array([True, False]))
    assert rel.position[0] == pytest.approx(50.0) and np.isnan(rel.position[1])
    assert rel.mean[0] == pytest.approx(45.0)  # its value does not count
    with pytest.raises(ValueError, match="own_groups"):
        release(x, np.ones(4, bool), inc, Domain(), Rules(), own_value=1.0)
