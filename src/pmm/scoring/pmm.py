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

from pmm.errors import PmmError
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


def _aggregate_level(level: str, rule: LevelAggregation, x_all: np.ndarray,
                     applicable_all: np.ndarray, children: list[str],
                     parents: dict[str, list[str]], weights: dict[str, float]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores of one level from its children's (members × children arrays of score and of
    "applicable"): (score, status, reason), each members × parents."""
    n = x_all.shape[0]
    column = {c: i for i, c in enumerate(children)}
    score = np.full((n, len(parents)), np.nan)
    status = np.empty((n, len(parents)), dtype=object)
    reason = np.empty((n, len(parents)), dtype=object)
    for j, codes in enumerate(parents.values()):
        at = [column[c] for c in codes if c in column]
        x = x_all[:, at]
        usable = applicable_all[:, at]
        w = np.array([weights.get(children[i], 1.0) for i in at])
        n_applicable = usable.sum(axis=1)
        n_scored = (~np.isnan(x) & usable).sum(axis=1)
        x = np.where(usable, x, np.nan)
        if rule.method in ("pefa_m1", "pefa_m2"):
            value = _pefa(x, rule.method)
        elif x.shape[1] == 0:
            value = np.full(n, np.nan)
        else:
            with np.errstate(invalid="ignore"):
                value = aggregate(x, w, rule.method, p=rule.power)
        with np.errstate(invalid="ignore", divide="ignore"):
            coverage = np.where(n_applicable > 0, n_scored / np.maximum(n_applicable, 1), 0.0)
        none = n_applicable == 0
        ok = ~none & ~((coverage < rule.min_coverage) | (n_scored == 0))
        status[:, j] = np.where(none, "not_applicable", np.where(ok, "ok", "insufficient_data"))
        why = np.full(n, "", dtype=object)
        why[none] = f"no applicable {_child(level)}"
        short = ~none & ~ok
        why[short] = [f"{s} of {a} applicable {_child(level)}s scored; "
                      f"{rule.min_coverage:.0%} needed"
                      for s, a in zip(n_scored[short], n_applicable[short], strict=True)]
        reason[:, j] = why
        score[:, j] = np.where(ok, value, np.nan)
    return score, status, reason


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
    grade (bands rules), status and reason: every KPI's rows (members in order), then every
    outcome's, dimension's and the overall's.
    """
    weights = fw.aggregation.weight_sets.get(weight_set, {}) if weight_set else {}
    if weight_set and weight_set not in fw.aggregation.weight_sets:
        known = ", ".join(fw.aggregation.weight_sets) or "none"
        raise PmmError(f"weight set '{weight_set}' is not defined by {fw.id} (defined: {known})")
    # one members × KPIs table of value, status and reason; then numpy, one KPI column at a time
    head = values[(values["variant"] == "") & (values["breakdown"] == "")]
    members = sorted(head["member"].unique())
    codes = [k.code for k in fw.kpis]
    row = pd.Index(members).get_indexer(head["member"])
    col = pd.Index(codes).get_indexer(head["kpi"])
    known_kpi = col >= 0
    row, col = row[known_kpi], col[known_kpi]
    if len(np.unique(row * len(codes) + col)) < len(row):
        raise ValueError("values hold more than one headline value for a member and KPI")
    shape = (len(members), len(codes))
    v = np.full(shape, np.nan)
    status = np.full(shape, "not_computable", dtype=object)
    reason = np.full(shape, "", dtype=object)
    v[row, col] = head["value"].to_numpy(float)[known_kpi]
    given = head["status"].to_numpy(object)[known_kpi]
    status[row, col] = np.where(pd.isna(given), "not_computable", given)
    why = head["reason"].to_numpy(object)[known_kpi]
    reason[row, col] = np.where(pd.isna(why), "", why)
    score = np.full(shape, np.nan)
    grade = np.full(shape, "", dtype=object)
    insufficient = _("insufficient information (D*): {reason}")
    for j, kpi in enumerate(fw.kpis):
        s = status[:, j]
        unavailable = np.isin(s, ("not_available", "not_computable"))
        sc, gr = score_kpi(kpi, np.where(s == "ok", v[:, j], np.nan), unavailable)
        na = s == "not_applicable"
        score[:, j] = np.where(na, np.nan, sc)
        gr = np.where(na, "", gr)
        grade[:, j] = gr
        starred = gr == "D*"
        if starred.any():
            reason[starred, j] = [insufficient.format(reason=r) for r in reason[starred, j]]
    parts = [("kpi", codes, v, score, grade, status, reason)]
    agg = fw.aggregation
    kpi_weights = {k.code: weights.get(k.code, k.weight) for k in fw.kpis}
    children, x, applicable = codes, score, status != "not_applicable"
    levels = []
    if agg.outcome is not None:
        levels.append(("outcome", agg.outcome,
                       {o.code: [k.code for k in fw.kpis_of_outcome(o.code)] for o in fw.outcomes},
                       kpi_weights))
        if agg.dimension is not None:
            levels.append(("dimension", agg.dimension,
                           {d.code: [o.code for o in fw.outcomes_of_dimension(d.code)]
                            for d in fw.dimensions},
                           {o.code: weights.get(o.code, o.weight) for o in fw.outcomes}))
            if agg.overall is not None:
                levels.append(("overall", agg.overall,
                               {"overall": [d.code for d in fw.dimensions]},
                               {d.code: weights.get(d.code, d.weight) for d in fw.dimensions}))
    for level, rule, parents, w in levels:
        x, st, why_agg = _aggregate_level(level, rule, x, applicable, children, parents, w)
        nothing = np.full(x.shape, np.nan)
        parts.append((level, list(parents), nothing, x, np.full(x.shape, "", dtype=object), st,
                      why_agg))
        children, applicable = list(parents), st != "not_applicable"
    return _frame(members, parts)


def _frame(members: list[str], parts: list[tuple]) -> pd.DataFrame:  # type: ignore[type-arg]
    """One long frame from (level, codes, value, score, grade, status, reason) blocks of
    members × codes arrays, code-major (every member of the first code, then the next)."""
    n = len(members)
    cols: dict[str, list[np.ndarray]] = {c: [] for c in COLUMNS}
    for level, codes, value, score, grade, status, reason in parts:
        k = len(codes)
        cols["member"].append(np.tile(np.asarray(members, dtype=object), k))
        cols["level"].append(np.full(n * k, level, dtype=object))
        cols["code"].append(np.repeat(np.asarray(codes, dtype=object), n))
        for name, block in (("value", value), ("score", score), ("grade", grade),
                            ("status", status), ("reason", reason)):
            cols[name].append(block.T.reshape(-1))
    return pd.DataFrame({c: np.concatenate(cols[c]) for c in COLUMNS})
