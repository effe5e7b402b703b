"""SDG contribution: outcome scores rolled up to the UN SDG targets (and goals) they map to.

A member's score for an SDG target is the mean of its scores for the outcomes that the framework
maps to that target (an SDG goal: to any target of that goal), with the number of outcomes it
rests on. Like any composite, it takes the most restrictive disclosure of its inputs. The
aggregate over members is a benchmark like any other (`pmm.analysis.benchmark`), under the same
disclosure control.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pmm.access import RANK, Principal, visible
from pmm.analysis.benchmark import benchmark
from pmm.analysis.observations import COLUMNS
from pmm.analysis.sdc import Rules
from pmm.framework.model import DISCLOSURE_LEVELS, Framework
from pmm.i18n import _

LEVELS = ("sdg_target", "sdg_goal")
MEMBER_COLUMNS = ["cycle", "member", "level", "code", "value", "outcomes", "status", "reason"]


def sdg_mapping(fw: Framework) -> pd.DataFrame:
    """outcome, level (sdg_target or sdg_goal), sdg: which outcomes each SDG rests on."""
    rows = [(o.code, "sdg_target", t) for o in fw.outcomes for t in o.sdg_targets]
    rows += [(o.code, "sdg_goal", str(int(t.split(".")[0]))) for o in fw.outcomes
             for t in o.sdg_targets]
    return pd.DataFrame(rows, columns=["outcome", "level", "sdg"]).drop_duplicates()


def sdg_observations(obs: pd.DataFrame, fw: Framework) -> pd.DataFrame:
    """SDG target and goal scores of every member, as observation rows (plus `outcomes`)."""
    outcomes = obs[obs["level"] == "outcome"][["cycle", "member", "code", "value", "status",
                                               "disclosure", "validated"]]
    joined = outcomes.merge(sdg_mapping(fw), left_on="code", right_on="outcome")
    joined["ok"] = (joined["status"] == "ok") & np.isfinite(joined["value"].astype(float))
    joined["scored"] = joined["value"].where(joined["ok"])
    joined["rank"] = joined["disclosure"].map(RANK)
    grouped = joined.groupby(["cycle", "member", "level", "sdg"], as_index=False).agg(
        value=("scored", "mean"), outcomes=("ok", "sum"), mapped=("ok", "size"),
        rank=("rank", "max"), validated=("validated", "first"))
    grouped = grouped.rename(columns={"sdg": "code"})
    grouped["status"] = np.where(grouped["outcomes"] > 0, "ok", "not_computable")
    grouped["reason"] = ["" if o > 0 else _("no score for any of the {n} outcomes mapped to it")
                         .format(n=m) for o, m in zip(grouped["outcomes"], grouped["mapped"],
                                                      strict=True)]
    grouped["disclosure"] = grouped["rank"].map(dict(enumerate(DISCLOSURE_LEVELS)))
    grouped["variant"], grouped["breakdown"] = "", ""
    return grouped[[*COLUMNS, "outcomes"]]


def sdg_member(obs: pd.DataFrame, fw: Framework, who: Principal) -> pd.DataFrame:
    """Each member's SDG scores that `who` may see."""
    rows = sdg_observations(obs, fw)
    rows = rows[visible(who, rows)]
    return rows[MEMBER_COLUMNS].sort_values(["cycle", "member", "level", "code"]) \
        .reset_index(drop=True)


def sdg_benchmark(obs: pd.DataFrame, fw: Framework, who: Principal, groups: pd.DataFrame, *,
                  by: list[str] | None = None, rules: Rules | None = None) -> pd.DataFrame:
    """SDG scores aggregated per peer group, disclosure-controlled like every benchmark."""
    rows = sdg_observations(obs, fw).drop(columns="outcomes")
    return benchmark(rows, who, groups, fw=fw, by=by, levels=LEVELS, rules=rules)
