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


def sdg_key(code: str) -> tuple:
    """Order of SDG goals and targets as the UN numbers them: 3 before 12, 17.2 before 17.10,
    numbered targets before lettered ones (1.5 before 1.a)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in str(code).split("."))


def _in_sdg_order(frame: pd.DataFrame, column: str, first: list[str]) -> pd.DataFrame:
    """`frame` sorted by `first`, then by the SDG code in `column` numerically (stable)."""
    rank = {code: i for i, code in enumerate(sorted(frame[column].unique(), key=sdg_key))}
    return frame.assign(_sdg=frame[column].map(rank)) \
        .sort_values([*first, "_sdg"], kind="stable").drop(columns="_sdg").reset_index(drop=True)


def sdg_member(obs: pd.DataFrame, fw: Framework, who: Principal) -> pd.DataFrame:
    """Each member's SDG scores that `who` may see."""
    rows = sdg_observations(obs, fw)
    rows = rows[visible(who, rows)]
    return _in_sdg_order(rows[MEMBER_COLUMNS], "code", ["cycle", "member", "level"])


def sdg_benchmark(obs: pd.DataFrame, fw: Framework, who: Principal, groups: pd.DataFrame, *,
                  by: list[str] | None = None, rules: Rules | None = None) -> pd.DataFrame:
    """SDG scores aggregated per peer group, disclosure-controlled like every benchmark."""
    rows = sdg_observations(obs, fw).drop(columns="outcomes")
    out = benchmark(rows, who, groups, fw=fw, by=by, levels=LEVELS, rules=rules)
    if out.empty:
        return out
    # goals and targets in UN order, each with its groups in the order benchmark gives them
    return _in_sdg_order(out, "kpi", ["level"])
