"""Secretariat views: participation and critical mass, KPI coverage, capacity-building demand.

These show every member's situation, so only the Secretariat may ask for them (the functions
refuse other viewers). Member data is still read through the disclosure policy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pmm.access import VALIDATED_STATES, Principal, visible
from pmm.analysis.gaps import find_gaps
from pmm.analysis.support import Support
from pmm.errors import PermissionDenied, PmmError
from pmm.framework.model import Framework
from pmm.i18n import _
from pmm.members import load_members

SUBMITTED_STATES = ("submitted", "review_requested", "in_review", "changes_requested",
                    "resubmitted", *VALIDATED_STATES)
PARTICIPATION = ["grouping", "group", "invited", "started", "submitted", "validated",
                 "share_validated", "critical_mass"]
COVERAGE = ["kpi", "members", "reported", "not_applicable", "not_available", "not_computable",
            "share_reported", "reasons"]
DEMAND = ["region", "outcome", "members", "members_with_gaps", "gaps", "priority",
          "mean_severity", "top_support"]


def require_secretariat(who: Principal, what: str) -> None:
    if not who.sees_all:
        raise PermissionDenied(_("{what} is a Secretariat view; {user} may not see it")
                               .format(what=what, user=who.label))


def participation(submissions: pd.DataFrame, who: Principal, *, min_n: int = 3,
                  invited: list[str] | None = None) -> pd.DataFrame:
    """Invited, started, submitted and validated members by WCO region and income group.

    `submissions`: member, state (one row per started submission). `invited`: ISO3 codes
    (default: every WCO Member). A group has critical mass when at least `min_n` of its members
    are validated (the minimum for a group statistic).
    """
    require_secretariat(who, _("participation"))
    ref = pd.DataFrame([{"member": m.iso3, "region": m.region, "income": m.income_group}
                        for m in load_members()])
    if invited is not None:
        ref = ref[ref["member"].isin({c.upper() for c in invited})]
    state = submissions.drop_duplicates("member").set_index("member")["state"]
    ref["started"] = ref["member"].isin(state.index)
    ref["submitted"] = ref["member"].map(state).isin(SUBMITTED_STATES)
    ref["validated"] = ref["member"].map(state).isin(VALIDATED_STATES)
    frames = []
    for grouping in ("region", "income"):
        g = ref.groupby(grouping, sort=True).agg(
            invited=("member", "size"), started=("started", "sum"),
            submitted=("submitted", "sum"), validated=("validated", "sum")).reset_index()
        frames.append(g.rename(columns={grouping: "group"}).assign(grouping=grouping))
    total = pd.DataFrame([{"grouping": "global", "group": "all", "invited": len(ref),
                           "started": int(ref["started"].sum()),
                           "submitted": int(ref["submitted"].sum()),
                           "validated": int(ref["validated"].sum())}])
    out = pd.concat([total, *frames], ignore_index=True)
    out["share_validated"] = np.where(out["invited"] > 0,
                                      out["validated"] / out["invited"].clip(lower=1), np.nan)
    out["critical_mass"] = out["validated"] >= min_n
    return out[PARTICIPATION].astype({"invited": int, "started": int, "submitted": int,
                                      "validated": int})


def coverage(obs: pd.DataFrame, fw: Framework, who: Principal, cycle: int, *,
             validated_only: bool = True, top: int = 3) -> pd.DataFrame:
    """Per KPI: how many members reported a value, and why the others did not."""
    require_secretariat(who, _("KPI coverage"))
    rows = obs[(obs["cycle"] == cycle) & (obs["level"] == "kpi") & (obs["variant"] == "")
               & (obs["breakdown"] == "")]
    rows = rows[visible(who, rows)]
    if validated_only:
        rows = rows[rows["validated"].astype(bool)]
    counts = pd.crosstab(rows["code"], rows["status"])
    for status in ("ok", "not_applicable", "not_available", "not_computable"):
        if status not in counts.columns:
            counts[status] = 0
    missing = rows[rows["status"] != "ok"]
    reasons = missing.groupby("code")["reason"].agg(
        lambda s: "; ".join(f"{r or _('no reason given')} ({n})"
                            for r, n in s.value_counts().head(top).items()))
    order = [k.code for k in fw.kpis]
    out = pd.DataFrame({"kpi": order})
    out["members"] = out["kpi"].map(counts.sum(axis=1)).fillna(0).astype(int)
    out["reported"] = out["kpi"].map(counts["ok"]).fillna(0).astype(int)
    for status in ("not_applicable", "not_available", "not_computable"):
        out[status] = out["kpi"].map(counts[status]).fillna(0).astype(int)
    out["share_reported"] = np.where(out["members"] > 0,
                                     out["reported"] / out["members"].clip(lower=1), np.nan)
    out["reasons"] = out["kpi"].map(reasons).astype(object).fillna("")
    return out[COVERAGE]


def demand(obs: pd.DataFrame, fw: Framework, who: Principal, cycle: int,
           bench: pd.DataFrame, groups: pd.DataFrame, catalogue: list[Support], *,
           by: str = "region", previous: pd.DataFrame | None = None,
           previous_cycle: int | None = None, not_comparable: set[str] | None = None,
           across: str = "region") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Capacity-building demand of the validated members, by WCO region (or income group,
    `across="income"`) and outcome.

    `bench`: the cycle's KPI benchmarks for the Secretariat (peer references, grouped `by`).
    Returns the aggregate table (its first column named after `across`) and every member's gaps.
    """
    require_secretariat(who, _("capacity-building demand"))
    if across not in ("region", "income"):
        raise PmmError(_("demand across {value!r}: expected region or income").format(
            value=across))
    head = obs[(obs["cycle"] == cycle) & (obs["variant"] == "") & (obs["breakdown"] == "")]
    head = head[visible(who, head) & head["validated"].astype(bool)]
    current = _current(head)
    peers = peer_references(bench, groups, by)
    prev = None
    if previous is not None:
        p = previous[(previous["level"] == "kpi") & (previous["variant"] == "")
                     & (previous["breakdown"] == "")]
        prev = p[visible(who, p)].rename(columns={"code": "kpi"})[
            ["member", "kpi", "value", "status"]]
    gaps = find_gaps(fw, cycle, current, peers=peers, previous=prev,
                     previous_cycle=previous_cycle, not_comparable=not_comparable or set(),
                     catalogue=catalogue)
    group_of = {m.iso3: m.region if across == "region" else m.income_group
                for m in load_members()}
    members = pd.DataFrame({"member": sorted(current["member"].unique())})
    members[across] = members["member"].map(group_of)
    outcomes = [o.code for o in fw.outcomes]
    grid = members.groupby(across).size().rename("members").reset_index().merge(
        pd.DataFrame({"outcome": outcomes}), how="cross")
    g = gaps.assign(**{across: gaps["member"].map(group_of)})
    key = [across, "outcome"]
    agg = g.groupby(key).agg(
        members_with_gaps=("member", "nunique"), gaps=("kpi", "size"),
        priority=("priority", "sum"), mean_severity=("severity", "mean")).reset_index()
    # the support with the highest total priority in each group and outcome (none: no gap)
    first = g.assign(support=g["support"].str.split("; ").str[0])
    top = first.groupby([*key, "support"])["priority"].sum().reset_index().sort_values(
        "priority", ascending=False, kind="stable").drop_duplicates(key)[[*key, "support"]] \
        .rename(columns={"support": "top_support"})
    out = grid.merge(agg, on=key, how="left").merge(top, on=key, how="left")
    out[["members_with_gaps", "gaps"]] = out[["members_with_gaps", "gaps"]].fillna(0).astype(int)
    out["priority"] = out["priority"].fillna(0.0)
    out["top_support"] = out["top_support"].fillna("")
    out = out.sort_values(["priority", *key], ascending=[False, True, True])
    return out[[across, *DEMAND[1:]]].reset_index(drop=True), gaps


def _current(head: pd.DataFrame) -> pd.DataFrame:
    """Headline KPI values with their KPI scores, as `find_gaps` wants them."""
    kpis = head[head["level"] == "kpi"][["member", "code", "value", "status", "reason"]]
    scores = head[head["level"] == "kpi_score"][["member", "code", "value"]].rename(
        columns={"value": "score"})
    return kpis.merge(scores, on=["member", "code"], how="left").rename(columns={"code": "kpi"})


def peer_references(bench: pd.DataFrame, groups: pd.DataFrame, by: str) -> pd.DataFrame:
    """Each member's peer reference per KPI: its group's released median, else mean."""
    rows = bench[(bench["level"] == "kpi") & (bench["variant"] == "")
                 & (bench["breakdown"] == "") & (bench["grouping"] == by)]
    g = groups[groups["grouping"] == by][["group", "member"]]
    merged = g.merge(rows[["kpi", "group", "n", "mean", "median"]], on="group")
    has_median = np.isfinite(merged["median"].astype(float))
    merged["reference"] = np.where(has_median, merged["median"], merged["mean"])
    merged["statistic"] = np.where(has_median, "median", "mean")
    merged["grouping"] = by
    return merged[["member", "kpi", "reference", "statistic", "grouping", "group", "n"]]
