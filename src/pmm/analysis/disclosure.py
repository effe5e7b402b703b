"""Disclosure of composite scores.

Who may see which individual value is decided by the one policy of the platform,
`pmm.access.visible(principal, rows)` (docs/analysis.md has the table). A score combines KPIs, so
it takes the most restrictive disclosure of the KPIs under it (`composite_disclosure`): otherwise a
visible composite and the visible KPIs under it would give a hidden KPI away.
"""

from __future__ import annotations

import numpy as np
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
    members = kpi_disclosure["member"].to_numpy(object)
    kpis = kpi_disclosure["kpi"].to_numpy(object)
    rank = np.array([RANK.get(d, np.nan) for d in kpi_disclosure["disclosure"]], dtype=float)
    outcomes = np.array([outcome_of.get(k) for k in kpis], dtype=object)
    parents = {"outcome": outcomes,
               "dimension": np.array([dimension_of.get(o) for o in outcomes], dtype=object)}
    out = []
    for level, parent in parents.items():
        keep = pd.notna(parent)
        # the most restrictive rank per (member, parent), in (member, parent) order
        m_at, m_names = pd.factorize(members[keep], sort=True)
        p_at, p_names = pd.factorize(parent[keep], sort=True)
        cell = m_at * len(p_names) + p_at
        worst = np.full(len(m_names) * len(p_names), np.nan)
        np.fmax.at(worst, cell, rank[keep])
        cells = np.unique(cell)
        names = np.array((*DISCLOSURE_LEVELS, np.nan), dtype=object)
        ranks = worst[cells]
        out.append(pd.DataFrame({
            "member": np.asarray(m_names, dtype=object)[cells // max(len(p_names), 1)],
            "level": level,
            "code": np.asarray(p_names, dtype=object)[cells % max(len(p_names), 1)],
            "disclosure": names[np.where(np.isnan(ranks), len(DISCLOSURE_LEVELS),
                                         np.nan_to_num(ranks)).astype(int)]}))
    return pd.concat(out, ignore_index=True)
