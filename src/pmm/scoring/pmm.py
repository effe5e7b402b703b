"""PMM scores: each KPI on the common 0–100 scale by its framework rule, then outcomes and
dimensions by the framework's aggregation rules.

Rules (all "higher is better" after the KPI's direction is applied):
- goalposts: fixed bounds, clipped, so scores compare across cycles;
- bands: PEFA-style A–D levels (A = 100, B = 66.7, C = 33.3, D = 0); a KPI the member could not
  report (not available or not computable) gets the grade D*, "insufficient information", but
  no score (see below);
- distance_to_target: 1 − (target − x)/(target − reference), capped at the target;
- percentile_rank: within the cycle's members that have a value;
- zscore: 50 + 10·z within the cycle (a T-score), clipped to 0–100.
One rule for what has no value, at every level (docs/methodology-scoring.md, "Not applicable,
not available and missing"): a KPI that is not applicable, not available or not computable
(missing data) has no score, never 0, and is left out of every aggregate. Coverage is the share
of the *applicable* children that have a score: not applicable children leave the denominator,
not available and missing ones stay in it. An aggregate is computed only where the framework
defines its level and only when its coverage reaches `min_coverage` (and at least one child has
a score); the weights are re-scaled over the children scored. A parent all of whose children are
not applicable is itself not applicable. Every score is labelled as computed by this documented
method, never as an official WCO rating.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pmm.framework.model import (
    KPI,
    BandsRule,
    Framework,
    GoalpostsRule,
    LevelAggregation,
    RelativeRule,
    TargetRule,
)
from pmm.i18n import _
from pmm.scoring import pefa, rules
from pmm.scoring.aggregation import aggregate

COLUMNS = ["member", "level", "code", "value", "score", "grade", "status", "reason"]
# D* (insufficient information) is a grade without a score: the KPI could not be assessed
GRADE_SCORE = {"A": 100.0, "B": 200.0 / 3, "C": 100.0 / 3, "D": 0.0, "D*": np.nan}


def score_kpi(kpi: KPI, values: np.ndarray, unavailable: np.ndarray) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """(score 0–100 or NaN, grade or "") for one KPI's values over the members of a cycle."""
    d = 1 if kpi.direction == "higher" else -1
    rule = kpi.scoring
    grade = np.full(len(values), "", dtype=object)
    if isinstance(rule, GoalpostsRule):
        score = rules.goalposts(values, rule.low, rule.high, d)
    elif isinstance(rule, BandsRule):
        cutoffs = [b.threshold for b in sorted(rule.bands, key=lambda b: b.level, reverse=True)]
        labels = ("D", *sorted((b.level for b in rule.bands), reverse=True))
        grade = rules.bands(values, cutoffs, d, labels=labels).astype(object)
        grade[np.isnan(values) & ~unavailable] = ""
        score = np.array([GRADE_SCORE.get(g, np.nan) for g in grade])
    elif isinstance(rule, TargetRule):
        score = rules.distance_to_target(values, rule.target, d, baseline=rule.reference,
                                         scale=100.0)
        score = np.clip(score, 0.0, 100.0)
    elif isinstance(rule, RelativeRule) and rule.method == "percentile_rank":
        score = rules.percentile_rank(values, d, scale=100.0)
    else:
        score = np.clip(rules.zscore(values, d, mean=50.0, sd=10.0), 0.0, 100.0)
    return np.asarray(score, dtype=float), grade


def _aggregate_level(level: str, rule: LevelAggregation, children: pd.DataFrame,
                     parents: dict[str, list[str]], weights: dict[str, float],
                     members: list[str]) -> pd.DataFrame:
    """Scores of one level from its children's scores (children: member, code, score, status)."""
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


def _pefa(x: np.ndarray, method: str) -> np.ndarray:
    """PEFA M1/M2 over children scores read as grades (≥75 A, ≥50 B, ≥25 C, else D), back on
    the 0–100 scale (D = 0 … A = 100, "+" half a step)."""
    # a child without a score is left out (NA), as everywhere else
    grades = np.select([x >= 75, x >= 50, x >= 25, x >= 0], ["A", "B", "C", "D"], "NA")
    combine = pefa.pefa_m1 if method == "pefa_m1" else pefa.pefa_m2
    out = np.asarray(combine(grades.astype(object)), dtype=object) if len(x) else np.array([])
    return np.array([(pefa.GRADE_VALUES[g] - 1) / 3 * 100 if g in pefa.GRADE_VALUES else np.nan
                     for g in out])


def _child(level: str) -> str:
    return {"outcome": "KPI", "dimension": "outcome", "overall": "dimension"}[level]


def score_cycle(fw: Framework, values: pd.DataFrame, weight_set: str | None = None) -> pd.DataFrame:
    """Scores per member for every KPI, and every outcome and dimension the framework aggregates.

    `values` is the output of `kpi_values`; only headline values (no variant, no breakdown) are
    scored. Returns member, level (kpi, outcome, dimension, overall), code, value, score (0–100),
    grade (bands rules), status and reason.
    """
    head = values[(values["variant"] == "") & (values["breakdown"] == "")]
    members = sorted(head["member"].unique())
    weights = fw.aggregation.weight_sets.get(weight_set, {}) if weight_set else {}
    if weight_set and weight_set not in fw.aggregation.weight_sets:
        from pmm.errors import PmmError

        known = ", ".join(fw.aggregation.weight_sets) or "none"
        raise PmmError(f"weight set '{weight_set}' is not defined by {fw.id} (defined: {known})")
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
        outcomes = _aggregate_level("outcome", agg.outcome, kpis, parents, kpi_weights, members)
        out.append(outcomes)
    dimensions = None
    if agg.dimension is not None and outcomes is not None:
        parents = {d.code: [o.code for o in fw.outcomes_of_dimension(d.code)]
                   for d in fw.dimensions}
        o_weights = {o.code: weights.get(o.code, o.weight) for o in fw.outcomes}
        dimensions = _aggregate_level("dimension", agg.dimension, outcomes, parents, o_weights,
                                      members)
        out.append(dimensions)
    if agg.overall is not None and dimensions is not None:
        d_weights = {d.code: weights.get(d.code, d.weight) for d in fw.dimensions}
        out.append(_aggregate_level("overall", agg.overall, dimensions,
                                    {"overall": [d.code for d in fw.dimensions]}, d_weights,
                                    members))
    return pd.concat(out, ignore_index=True)[COLUMNS]

