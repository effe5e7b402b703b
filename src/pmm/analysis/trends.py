"""Trends: the change between two cycles, per member and per peer group, with comparability.

A KPI's values compare across cycles only while the framework keeps its formula, unit,
direction, year rule and the meaning of its data items (`pmm.framework.diff`). A KPI's score
also needs the same scoring rule and target; an outcome's score the same KPIs, weights and
aggregation, all comparable; a dimension's the same for its outcomes. Rows that are not
comparable say why; their change is still shown, flagged.

Member rows pass the disclosure policy (both values must be visible); group rows are the
difference of the statistics each cycle releases to the who, so they reveal nothing more.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pmm.access import Principal, visible
from pmm.analysis.benchmark import benchmark, measure_direction
from pmm.analysis.observations import BENCHMARK_LEVELS, usable
from pmm.framework.diff import diff
from pmm.framework.model import Framework
from pmm.i18n import _

COMPARABILITY = ["level", "code", "comparable", "reason"]
MEMBER_COLUMNS = ["member", "level", "code", "variant", "breakdown", "cycle_from", "cycle_to",
                  "value_from", "value_to", "change", "better", "comparable", "reason"]
GROUP_COLUMNS = ["level", "kpi", "variant", "breakdown", "grouping", "group", "cycle_from",
                 "cycle_to", "n_from", "n_to", "mean_from", "mean_to", "change_mean",
                 "median_from", "median_to", "change_median", "comparable", "suppressed",
                 "reason"]


def comparability(old: Framework, new: Framework) -> pd.DataFrame:
    """Whether each KPI value and score of `new` compares with `old`, and why not."""
    d = diff(old, new)
    changes = {(c.kind, c.code): c for c in d.changes}
    old_kpis = {k.code: k for k in old.kpis}
    rows = []
    kpi_score_ok: dict[str, tuple[bool, str]] = {}
    for k in new.kpis:
        change = changes.get(("kpi", k.code))
        if k.code not in old_kpis:
            ok, why = False, _("new in {fw}").format(fw=new.id)
        elif change is not None and change.breaking:
            ok, why = False, change.reason
        else:
            ok, why = True, ""
        rows.append(("kpi", k.code, ok, why))
        score_ok, score_why = ok, why
        if ok and change is not None:
            fields = {f.field for f in change.fields}
            moved = sorted(fields & {"scoring", "target"})
            if moved:
                score_ok = False
                score_why = _("{fields} changed").format(fields=", ".join(moved))
        if score_ok and k.scoring.method in ("percentile_rank", "zscore"):
            score_why = _("relative score: its change reflects the member's position among "
                          "each cycle's participants")
        kpi_score_ok[k.code] = (score_ok, score_why)
        rows.append(("kpi_score", k.code, score_ok, score_why))
    old_outcomes = {o.code: [k.code for k in old.kpis_of_outcome(o.code)] for o in old.outcomes}
    same_aggregation = old.aggregation.model_dump() == new.aggregation.model_dump()
    outcome_ok: dict[str, tuple[bool, str]] = {}
    for o in new.outcomes:
        kids = [k.code for k in new.kpis_of_outcome(o.code)]
        bad = [c for c in kids if not kpi_score_ok[c][0]]
        change = changes.get(("outcome", o.code))
        if o.code not in old_outcomes:
            res = (False, _("new in {fw}").format(fw=new.id))
        elif sorted(kids) != sorted(old_outcomes[o.code]):
            res = (False, _("its KPIs changed"))
        elif bad:
            res = (False, _("KPI scores not comparable: {codes}").format(codes=", ".join(bad)))
        elif change is not None and "weight" in {f.field for f in change.fields}:
            res = (False, _("weight changed"))
        elif not same_aggregation:
            res = (False, _("aggregation rules changed"))
        else:
            res = (True, "")
        outcome_ok[o.code] = res
        rows.append(("outcome", o.code, *res))
    old_dims = {d.code: [o.code for o in old.outcomes_of_dimension(d.code)]
                for d in old.dimensions}
    for dim in new.dimensions:
        kids = [o.code for o in new.outcomes_of_dimension(dim.code)]
        bad = [c for c in kids if not outcome_ok[c][0]]
        if dim.code not in old_dims:
            res = (False, _("new in {fw}").format(fw=new.id))
        elif sorted(kids) != sorted(old_dims[dim.code]):
            res = (False, _("its outcomes changed"))
        elif bad:
            res = (False, _("outcome scores not comparable: {codes}").format(
                codes=", ".join(bad)))
        else:
            res = (True, "")
        rows.append(("dimension", dim.code, *res))
    return pd.DataFrame(rows, columns=COMPARABILITY)


def member_trends(obs: pd.DataFrame, who: Principal, cycle_from: int, cycle_to: int,
                  comparable: pd.DataFrame, fw: Framework | None = None) -> pd.DataFrame:
    """Per member and measure: the two values the who may see, their change, comparability."""
    key = ["member", "level", "code", "variant", "breakdown"]
    sides = []
    for cycle in (cycle_from, cycle_to):
        rows = obs[obs["cycle"] == cycle]
        rows = rows[visible(who, rows) & (rows["status"] == "ok")
                    & np.isfinite(rows["value"].astype(float))]
        sides.append(rows[[*key, "value"]])
    both = sides[0].merge(sides[1], on=key, suffixes=("_from", "_to"))
    both = both.merge(comparable, on=["level", "code"], how="left")
    both["comparable"] = both["comparable"].fillna(False).astype(bool)
    both["reason"] = both["reason"].fillna(_("not in the framework of {cycle}").format(
        cycle=cycle_to))
    both["change"] = both["value_to"] - both["value_from"]
    sign = np.array([measure_direction(fw, lv, c) for lv, c in zip(both["level"], both["code"],
                                                                   strict=True)], dtype=float)
    both["better"] = sign * both["change"] > 0
    both["cycle_from"], both["cycle_to"] = int(cycle_from), int(cycle_to)
    return both[MEMBER_COLUMNS].sort_values(key).reset_index(drop=True)


def group_trends(obs: pd.DataFrame, who: Principal, groups: pd.DataFrame, cycle_from: int,
                 cycle_to: int, comparable: pd.DataFrame, *, fw: Framework | None = None,
                 by: list[str] | None = None, levels=BENCHMARK_LEVELS, rules=None
                 ) -> pd.DataFrame:
    """Per group: the change of the released mean and median between the two cycles."""
    data = obs[obs["cycle"].isin([cycle_from, cycle_to]) & usable(obs)]
    bench = benchmark(data, who, groups, fw=fw, by=by, levels=levels, rules=rules)
    return compare_statistics(bench[bench["cycle"] == cycle_from],
                              bench[bench["cycle"] == cycle_to], comparable, cycle_from, cycle_to)


def compare_statistics(a: pd.DataFrame, b: pd.DataFrame, comparable: pd.DataFrame,
                       cycle_from: int, cycle_to: int) -> pd.DataFrame:
    """Per group: the change of the mean and median between two cycles' group statistics
    (`a`, `b`: benchmark rows), flagged where not comparable, with both cycles' reasons."""
    key = ["level", "kpi", "variant", "breakdown", "grouping", "group"]
    cols = [*key, "n", "mean", "median", "suppressed", "reason"]
    both = a[cols].merge(b[cols], on=key, suffixes=("_from", "_to"))
    both = both.merge(comparable.rename(columns={"code": "kpi", "reason": "why"}),
                      on=["level", "kpi"], how="left")
    both["comparable"] = both["comparable"].fillna(False).astype(bool)
    both["change_mean"] = both["mean_to"] - both["mean_from"]
    both["change_median"] = both["median_to"] - both["median_from"]
    both["suppressed"] = both["suppressed_from"] | both["suppressed_to"]
    reasons = []
    for why, ok, r_from, r_to in zip(both["why"].fillna(""), both["comparable"],
                                     both["reason_from"], both["reason_to"], strict=True):
        parts = []
        if not ok:
            parts.append(_("not comparable: {why}").format(why=why or _("not in both "
                                                                           "frameworks")))
        elif why:
            parts.append(why)
        if r_from:
            parts.append(f"{cycle_from}: {r_from}")
        if r_to:
            parts.append(f"{cycle_to}: {r_to}")
        reasons.append("; ".join(parts))
    both["reason"] = reasons
    both["cycle_from"], both["cycle_to"] = int(cycle_from), int(cycle_to)
    return both[GROUP_COLUMNS].reset_index(drop=True)
