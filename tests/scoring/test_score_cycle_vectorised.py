"""`score_cycle` works on members × KPI arrays: its output must be exactly that of the plain
per-KPI loop it replaced (same rows, order, dtypes, values and reasons), kept here as the
reference, on the demo cycle and on random values and statuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmm.analysis.load import load_cycle
from pmm.framework.loader import load
from pmm.framework.model import LevelAggregation
from pmm.i18n import _
from pmm.scoring.aggregation import aggregate
from pmm.scoring.pmm import COLUMNS, _child, _pefa, score_cycle, score_kpi
from pmm.store.engine import transaction

STATUSES = ("ok", "not_applicable", "not_available", "not_computable")


# ---------------------------------------------------------------- the reference (the old code)


def _ref_level(level: str, rule: LevelAggregation, children: pd.DataFrame,
               parents: dict[str, list[str]], weights: dict[str, float],
               members: list[str]) -> pd.DataFrame:
    table = children.pivot(index="member", columns="code", values="score").reindex(members)
    applicable = children.pivot(index="member", columns="code", values="status") \
        .reindex(members) != "not_applicable"
    frames = []
    for parent, codes in parents.items():
        codes = [c for c in codes if c in table.columns]
        x = table[codes].to_numpy(float) if codes else np.full((len(members), 0), np.nan)
        usable = applicable[codes].to_numpy(bool) if codes else np.zeros((len(members), 0), bool)
        w = np.array([weights.get(c, 1.0) for c in codes])
        n_applicable = usable.sum(axis=1)
        n_scored = (~np.isnan(x) & usable).sum(axis=1)
        x = np.where(usable, x, np.nan)
        if rule.method in ("pefa_m1", "pefa_m2"):
            value = _pefa(x, rule.method)
        elif x.shape[1] == 0:
            value = np.full(len(members), np.nan)
        else:
            with np.errstate(invalid="ignore"):
                value = aggregate(x, w, rule.method, p=rule.power)
        with np.errstate(invalid="ignore", divide="ignore"):
            coverage = np.where(n_applicable > 0, n_scored / np.maximum(n_applicable, 1), 0.0)
        status = np.where(n_applicable == 0, "not_applicable",
                          np.where((coverage < rule.min_coverage) | (n_scored == 0),
                                   "insufficient_data", "ok"))
        reason = np.where(
            status == "ok", "",
            np.where(status == "not_applicable", f"no applicable {_child(level)}",
                     [f"{s} of {a} applicable {_child(level)}s scored; "
                      f"{rule.min_coverage:.0%} needed" for s, a in zip(n_scored, n_applicable,
                                                                         strict=True)]))
        frames.append(pd.DataFrame({
            "member": members, "level": level, "code": parent, "value": np.nan,
            "score": np.where(status == "ok", value, np.nan), "grade": "", "status": status,
            "reason": reason}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def reference(fw, values: pd.DataFrame, weight_set: str | None = None) -> pd.DataFrame:
    head = values[(values["variant"] == "") & (values["breakdown"] == "")]
    members = sorted(head["member"].unique())
    weights = fw.aggregation.weight_sets.get(weight_set, {}) if weight_set else {}
    frames = []
    for kpi in fw.kpis:
        rows = head[head["kpi"] == kpi.code].set_index("member").reindex(members)
        status = rows["status"].fillna("not_computable").to_numpy(object)
        v = rows["value"].to_numpy(float)
        unavailable = np.isin(status, ("not_available", "not_computable"))
        score, grade = score_kpi(kpi, np.where(status == "ok", v, np.nan), unavailable)
        score = np.where(status == "not_applicable", np.nan, score)
        grade = np.where(status == "not_applicable", "", grade)
        reason = rows["reason"].fillna("").to_numpy(object)
        insufficient = _("insufficient information (D*): {reason}")
        reason = np.where(grade == "D*", [insufficient.format(reason=r) for r in reason], reason)
        frames.append(pd.DataFrame({
            "member": members, "level": "kpi", "code": kpi.code, "value": v, "score": score,
            "grade": grade, "status": status, "reason": reason}))
    kpis = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    out = [kpis]
    agg = fw.aggregation
    kpi_weights = {k.code: weights.get(k.code, k.weight) for k in fw.kpis}
    outcomes = None
    if agg.outcome is not None:
        parents = {o.code: [k.code for k in fw.kpis_of_outcome(o.code)] for o in fw.outcomes}
        outcomes = _ref_level("outcome", agg.outcome, kpis, parents, kpi_weights, members)
        out.append(outcomes)
    dimensions = None
    if agg.dimension is not None and outcomes is not None:
        parents = {d.code: [o.code for o in fw.outcomes_of_dimension(d.code)]
                   for d in fw.dimensions}
        o_weights = {o.code: weights.get(o.code, o.weight) for o in fw.outcomes}
        dimensions = _ref_level("dimension", agg.dimension, outcomes, parents, o_weights,
                                members)
        out.append(dimensions)
    if agg.overall is not None and dimensions is not None:
        d_weights = {d.code: weights.get(d.code, d.weight) for d in fw.dimensions}
        out.append(_ref_level("overall", agg.overall, dimensions,
                              {"overall": [d.code for d in fw.dimensions]}, d_weights, members))
    return pd.concat(out, ignore_index=True)[COLUMNS]


# ---------------------------------------------------------------- the comparisons


@pytest.fixture(scope="module")
def fw():
    return load("wco-pmm-v1")


def _with_overall(fw, method: str = "arithmetic"):
    agg = fw.aggregation
    rule = agg.outcome.model_copy(update={"method": method})
    return fw.model_copy(update={"aggregation": agg.model_copy(
        update={"outcome": rule, "overall": agg.dimension})})


def test_the_demo_cycles_score_exactly_as_before(demo_db: str) -> None:
    with transaction(demo_db) as session:
        for year in (2022, 2024):
            data = load_cycle(session, year)
            got = score_cycle(data.fw, data.values)
            pd.testing.assert_frame_equal(got, reference(data.fw, data.values))
            assert len(got) > 1000 and set(got["level"]) == {"kpi", "outcome", "dimension"}
            # every member of the cycle, as in a principal's pool: a subset scores the same way
            some = data.values[data.values["member"].isin(sorted(set(data.values.member))[::3])]
            pd.testing.assert_frame_equal(score_cycle(data.fw, some), reference(data.fw, some))


@st.composite
def _cycles(draw, codes: list[str]) -> pd.DataFrame:
    members = draw(st.lists(st.sampled_from([f"M{i:02d}" for i in range(40)]), min_size=1,
                            max_size=12, unique=True))
    rows = []
    for m in members:
        for code in codes:
            if draw(st.integers(0, 9)) == 9:
                continue  # no row at all: scored as not computable
            status = draw(st.sampled_from(STATUSES))
            value = draw(st.one_of(st.floats(-50, 250, allow_nan=False),
                                   st.sampled_from([0.0, 50.0, 100.0]))) \
                if status == "ok" else np.nan
            reason = "" if status == "ok" else draw(st.sampled_from(
                ["", "missing: x[T]", "not applicable: no port"]))
            rows.append((m, code, "", "", value, status, reason))
            if draw(st.booleans()):  # a breakdown row, never scored
                rows.append((m, code, "", "flow=IM", value, status, reason))
    frame = pd.DataFrame(rows, columns=["member", "kpi", "variant", "breakdown", "value",
                                        "status", "reason"])
    return frame.sample(frac=1.0, random_state=draw(st.integers(0, 99)))  # any row order


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_values_and_statuses_score_exactly_as_before(fw, data) -> None:
    codes = [k.code for k in fw.kpis]
    values = data.draw(_cycles(codes))
    variant = data.draw(st.sampled_from(["shipped", "pefa_m1", "with_overall"]))
    f = fw if variant == "shipped" else _with_overall(
        fw, "pefa_m1" if variant == "pefa_m1" else "arithmetic")
    weight_set = data.draw(st.sampled_from([None, *fw.aggregation.weight_sets]))
    pd.testing.assert_frame_equal(score_cycle(f, values, weight_set),
                                  reference(f, values, weight_set))


def test_a_member_with_two_headline_values_for_one_kpi_is_refused(fw) -> None:
    rows = [("AAA", "TF.1.1", "", "", 50.0, "ok", ""), ("AAA", "TF.1.1", "", "", 60.0, "ok", "")]
    values = pd.DataFrame(rows, columns=["member", "kpi", "variant", "breakdown", "value",
                                         "status", "reason"])
    with pytest.raises(ValueError, match="more than one headline value"):
        score_cycle(fw, values)
