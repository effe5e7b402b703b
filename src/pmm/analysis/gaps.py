"""Gaps and capacity building: every shortfall of a member, ranked, linked to tools and support.

A gap is one of:
- `target`: the KPI's value is worse than the framework's target;
- `peer`: worse than the peer group's median (its mean when the median is withheld);
- `trend`: worse than the member's own value in the previous cycle (only where the framework did
  not change the KPI in a way that breaks comparability);
- `missing`: no value (not available, or not computable from the data reported); a KPI declared
  not applicable is a national specificity, not a gap.

Severity is the shortfall relative to the larger magnitude of the value and its reference (so
0–1 whatever the unit; a missing value counts `missing_severity`, 0.5 by default); priority is
severity times the KPI's weight within its outcome and dimension. Each gap is linked to the tools
of its KPI and outcome and to the support types of the catalogue that address them: the ranked
list is the member's capacity-building plan.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from pmm.analysis.support import Support, load_support, match
from pmm.framework.model import Framework
from pmm.i18n import _, language

COLUMNS = ["member", "cycle", "rank", "kpi", "kpi_name", "outcome", "dimension", "gap", "value",
           "reference", "unit", "score", "severity", "weight", "priority", "evidence", "tools",
           "tool_names", "working_bodies", "support", "support_names"]
MISSING = ("not_available", "not_computable")
TOL = 1e-9


def kpi_table(fw: Framework) -> pd.DataFrame:
    """One row per KPI: outcome, dimension, direction (±1), target, unit, overall weight."""
    outcomes = {o.code: o for o in fw.outcomes}
    dims = {d.code: d for d in fw.dimensions}
    rows = []
    for order, k in enumerate(fw.kpis):
        o = outcomes[k.outcome]
        rows.append({"kpi": k.code, "kpi_name": k.name.get(language()), "outcome": k.outcome,
                     "dimension": o.dimension, "direction": 1 if k.direction == "higher" else -1,
                     "target": np.nan if k.target is None else float(k.target), "unit": k.unit,
                     "weight": k.weight * o.weight * dims[o.dimension].weight, "order": order})
    return pd.DataFrame(rows)


def find_gaps(fw: Framework, cycle: int, current: pd.DataFrame, *,
              peers: pd.DataFrame | None = None, previous: pd.DataFrame | None = None,
              previous_cycle: int | None = None, not_comparable: Iterable[str] = (),
              catalogue: list[Support] | None = None,
              missing_severity: float = 0.5) -> pd.DataFrame:
    """Gaps of one or more members (columns `COLUMNS`), ranked within each member.

    `current`: member, kpi, value, status, reason, and optionally score (headline KPI values of
    the cycle); `peers`: member, kpi, reference, statistic (median or mean), grouping, group, n;
    `previous`: member, kpi, value, status of the previous cycle.
    """
    catalogue = catalogue if catalogue is not None else load_support(fw=fw)
    meta = kpi_table(fw)
    cur = current.merge(meta, on="kpi", how="inner")
    if "score" not in cur.columns:
        cur["score"] = np.nan
    ok = (cur["status"] == "ok") & np.isfinite(cur["value"].astype(float))
    frames = []

    target = cur[ok & cur["target"].notna()].copy()
    target = target[target["direction"] * (target["target"] - target["value"]) > TOL]
    target["gap"], target["reference"] = "target", target["target"]
    target["evidence"] = [
        _("{value} against the target {target} set by {fw}").format(
            value=fmt(v, u), target=fmt(t, u), fw=fw.id)
        for v, t, u in zip(target["value"], target["target"], target["unit"], strict=True)]
    frames.append(target)

    if peers is not None and len(peers):
        peer = cur[ok].merge(peers, on=["member", "kpi"], how="inner")
        peer = peer[np.isfinite(peer["reference"].astype(float))]
        peer = peer[peer["direction"] * (peer["reference"] - peer["value"]) > TOL].copy()
        peer["gap"] = "peer"
        peer["evidence"] = [
            _("{value} against the {statistic} {reference} of the {grouping} group {group} "
              "(n = {n})").format(value=fmt(v, u), statistic=_(s), reference=fmt(r, u),
                                  grouping=_(g), group=gr, n=int(n))
            for v, r, u, s, g, gr, n in zip(peer["value"], peer["reference"], peer["unit"],
                                            peer["statistic"], peer["grouping"], peer["group"],
                                            peer["n"], strict=True)]
        frames.append(peer)

    if previous is not None and len(previous):
        prev = previous[(previous["status"] == "ok")
                        & np.isfinite(previous["value"].astype(float))]
        prev = prev[~prev["kpi"].isin(set(not_comparable))]
        trend = cur[ok].merge(prev[["member", "kpi", "value"]].rename(
            columns={"value": "reference"}), on=["member", "kpi"], how="inner")
        trend = trend[trend["direction"] * (trend["reference"] - trend["value"]) > TOL].copy()
        trend["gap"] = "trend"
        trend["evidence"] = [
            _("{value} in {cycle}, worse than {reference} in {previous}").format(
                value=fmt(v, u), cycle=cycle, reference=fmt(r, u),
                previous=previous_cycle if previous_cycle is not None else _("the previous "
                                                                              "cycle"))
            for v, r, u in zip(trend["value"], trend["reference"], trend["unit"], strict=True)]
        frames.append(trend)

    missing = cur[cur["status"].isin(MISSING)].copy()
    missing["gap"], missing["reference"] = "missing", np.nan
    missing["evidence"] = [_("no value: {reason}").format(reason=r or _(s.replace("_", " ")))
                           for r, s in zip(missing["reason"], missing["status"], strict=True)]
    frames.append(missing)

    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    value = out["value"].astype(float).to_numpy()
    ref = out["reference"].astype(float).to_numpy()
    shortfall = np.abs(ref - value)
    scale = np.maximum(np.abs(ref), np.abs(value))
    with np.errstate(invalid="ignore", divide="ignore"):
        severity = np.where(scale > 0, np.minimum(1.0, shortfall / scale), 1.0)
    out["severity"] = np.where(out["gap"] == "missing", missing_severity, severity)
    out["priority"] = out["severity"] * out["weight"]
    out["cycle"] = int(cycle)
    out = _link(out, fw, catalogue)
    kind_order = {k: i for i, k in enumerate(("target", "peer", "trend", "missing"))}
    out["kind_order"] = out["gap"].map(kind_order)
    out = out.sort_values(["member", "priority", "severity", "order", "kind_order"],
                          ascending=[True, False, False, True, True], kind="stable")
    out["rank"] = out.groupby("member").cumcount() + 1
    return out[COLUMNS].reset_index(drop=True)


def _link(out: pd.DataFrame, fw: Framework, catalogue: list[Support]) -> pd.DataFrame:
    """Tools (the KPI's, then its outcome's), their working bodies, and matching support."""
    lang = language()
    tools = {t.code: t for t in fw.tools}
    bodies = {w.code: w for w in fw.working_bodies}
    own = {k.code: list(k.tools) for k in fw.kpis}
    per_kpi = {k.code: list(dict.fromkeys([*k.tools, *fw.outcome(k.outcome).tools]))
               for k in fw.kpis}
    keys = out[["kpi", "gap", "outcome"]].drop_duplicates()
    linked = {}
    for kpi, gap, outcome in keys.itertuples(index=False):
        codes = per_kpi.get(kpi, [])
        found = match(catalogue, gap, own.get(kpi, []), codes, outcome)
        linked[(kpi, gap)] = (
            "; ".join(codes),
            "; ".join(tools[c].name.get(lang) for c in codes if c in tools),
            "; ".join(dict.fromkeys(
                bodies[tools[c].working_body].name.get(lang) if tools[c].working_body in bodies
                else tools[c].working_body for c in codes if c in tools)),
            "; ".join(s.code for s in found),
            "; ".join(s.name.get(lang) for s in found))
    key = list(zip(out["kpi"], out["gap"], strict=True))
    for i, column in enumerate(("tools", "tool_names", "working_bodies", "support",
                                "support_names")):
        out[column] = [linked[k][i] for k in key]
    return out


def plan_by_support(gaps: pd.DataFrame, catalogue: list[Support],
                    lang: str | None = None) -> pd.DataFrame:
    """The plan per support type: how many gaps (and members) it addresses, their total priority
    and the KPIs concerned, highest total priority first."""
    lang = lang or language()
    names = {s.code: s.name.get(lang) for s in catalogue}
    rows = gaps.assign(support=gaps["support"].str.split("; ")).explode("support")
    rows = rows[rows["support"].fillna("") != ""]
    if not len(rows):
        return pd.DataFrame(columns=["support", "support_name", "gaps", "members", "priority",
                                     "kpis"])
    grouped = rows.groupby("support", sort=False).agg(
        gaps=("kpi", "size"), members=("member", "nunique"), priority=("priority", "sum"),
        kpis=("kpi", lambda s: "; ".join(dict.fromkeys(s))))
    grouped = grouped.reset_index().sort_values(["priority", "gaps"], ascending=False)
    grouped.insert(1, "support_name", grouped["support"].map(names))
    return grouped.reset_index(drop=True)


UNIT_SUFFIX = {"percent": " %", "percentage_points": " pp", "hours": " h", "days": " d"}


def fmt(value: float, unit: str) -> str:
    """A value for a sentence: `62.4 %`, `48 h`, `1,234`, `yes`."""
    if value is None or not np.isfinite(value):
        return "–"
    if unit == "yes_no":
        return _("yes") if value >= 0.5 else _("no")
    text = f"{value:,.0f}" if unit == "count" or abs(value) >= 1000 else f"{value:.3g}" \
        if abs(value) < 1 else f"{value:,.1f}"
    return text + UNIT_SUFFIX.get(unit, "")
