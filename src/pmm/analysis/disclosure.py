"""Disclosure of composite scores.

Who may see which individual value is decided by the one policy of the platform,
`pmm.access.visible(principal, rows)` (docs/analysis.md has the table). A score combines KPIs, so
it takes the most restrictive disclosure of the KPIs under it (`composite_disclosure`): otherwise a
visible composite and the visible KPIs under it would give a hidden KPI away.
"""

from __future__ import annotations

import pandas as pd

from pmm.access import DISCLOSURE_LEVELS, RANK
from pmm.framework.model import Framework


def composite_disclosure(kpi_disclosure: pd.DataFrame, fw: Framework) -> pd.DataFrame:
    """Disclosure of each member's outcome and dimension scores.

    A composite of one hidden input and visible ones would reveal the hidden input, so a score
    takes the most restrictive disclosure of every KPI under it (whatever their status).
    `kpi_disclosure`: member, kpi, disclosure. Returns member, level, code, disclosure.
    """
    outcome_of = {k.code: k.outcome for k in fw.kpis}
    dimension_of = {o.code: o.dimension for o in fw.outcomes}
    frame = kpi_disclosure[["member", "kpi", "disclosure"]].copy()
    frame["rank"] = frame["disclosure"].map(RANK)
    frame["outcome"] = frame["kpi"].map(outcome_of)
    frame["dimension"] = frame["outcome"].map(dimension_of)
    out = []
    for level in ("outcome", "dimension"):
        worst = frame.dropna(subset=[level]).groupby(["member", level], as_index=False)["rank"] \
            .max().rename(columns={level: "code"})
        worst["level"] = level
        worst["disclosure"] = worst["rank"].map(dict(enumerate(DISCLOSURE_LEVELS)))
        out.append(worst[["member", "level", "code", "disclosure"]])
    return pd.concat(out, ignore_index=True)
