"""Synthetic observations of two cycles, built directly (no database) for the analysis tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pmm.analysis.groups import memberships
from pmm.analysis.observations import COLUMNS
from pmm.members import load_members

# level, code: how values are drawn (percent with many at 100, hours, variation, yes/no, scores)
MEASURES = {
    ("kpi", "TF.1.1"): lambda r, n: np.where(r.random(n) < 0.3, 100.0,
                                             np.round(r.uniform(40, 100, n), 1)),
    ("kpi", "TF.4.1"): lambda r, n: np.round(r.gamma(2.0, 20.0, n), 2),
    ("kpi", "TF.2.1"): lambda r, n: np.round(r.normal(5, 15, n), 1),
    ("kpi", "OD.5.1"): lambda r, n: (r.random(n) < 0.6).astype(float),
    ("outcome", "TF.1"): lambda r, n: np.round(r.uniform(0, 100, n), 2),
}


def members_sample(n: int, offset: int = 0) -> list[str]:
    everyone = [m.iso3 for m in load_members()]
    step = max(1, len(everyone) // n)
    return sorted(everyone[offset::step][:n])


def observations(seed: int = 7, cycles: tuple[int, ...] = (2022, 2024), n: int = 36
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(observations, memberships with a cycle column) of `cycles`."""
    rng = np.random.default_rng(seed)
    frames, groups = [], []
    previous: list[str] = []
    for i, cycle in enumerate(cycles):
        # later cycles keep two thirds of the earlier participants and add new ones
        members = sorted(set(previous[: 2 * n // 3]) | set(members_sample(n, offset=i)[
            : n - min(len(previous), 2 * n // 3)]))
        previous = members
        m = len(members)
        declarations = dict(zip(members, 10 ** rng.uniform(3.5, 7.5, m), strict=True))
        groups.append(memberships(members, declarations).assign(cycle=cycle))
        validated = rng.random(m) < 0.85
        for (level, code), draw in MEASURES.items():
            value = draw(rng, m)
            status = np.where(rng.random(m) < 0.1,
                              rng.choice(["not_applicable", "not_available"], m), "ok")
            value = np.where(status == "ok", value, np.nan)
            frames.append(pd.DataFrame({
                "cycle": cycle, "member": members, "level": level, "code": code,
                "variant": "", "breakdown": "", "value": value, "status": status,
                "reason": np.where(status == "ok", "", status),
                "disclosure": rng.choice(["public", "wco", "restricted"], m, p=[0.4, 0.35,
                                                                                 0.25]),
                "validated": validated}))
    return pd.concat(frames, ignore_index=True)[COLUMNS], pd.concat(groups, ignore_index=True)
