"""The per-request engine (`benchmark` for one principal at one moment, still the Secretariat's
working view and the engine of custom groups): for every kind of principal, nothing it may not
see is derivable from all that one request gives it (the attacker without member knowledge;
`test_release_attack.py` shows why releases are needed once principals combine requests).

The attacker (tests/analysis/attacker.py) gets, for two cycles, the individual values the viewer
may see, every group statistic of every standard grouping (global, region, income, geography,
administration type, size band), and the group trends between the cycles; it knows which
members are behind each group and the domain of each measure. It tries linear algebra with
bounds, integer programming for the yes/no KPI, and the order statistics.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from pmm.access import ANONYMOUS, Principal, audience, visible
from pmm.analysis.benchmark import benchmark, measure_domain
from pmm.analysis.observations import usable
from pmm.analysis.sdc import Rules
from pmm.analysis.trends import group_trends
from pmm.framework.loader import load
from tests.analysis import synthetic
from tests.analysis.attacker import Knowledge, Statistic, attack

pytestmark = pytest.mark.slow  # about a minute: an attack per viewer, measure and cycle

FW = load("wco-pmm-v1")
OBS, GROUPS = synthetic.observations()
OWN = OBS.loc[OBS["cycle"] == 2024, "member"].iloc[5]
OTHER = OBS.loc[OBS["cycle"] == 2024, "member"].iloc[9]
EARLIER = OBS.loc[OBS["cycle"] == 2022, "member"].iloc[3]
VIEWERS = {
    "public": ANONYMOUS,
    "working_body": Principal("wb", "working_body"),
    "wco": audience("wco"),
    "ncp": Principal("ncp", "ncp", OWN),
    "member_viewer": Principal("viewer", "viewer", OWN),
    "peer_reviewer": Principal("r1", "peer_reviewer",
                               assigned=frozenset({(2024, OTHER), (2022, EARLIER)})),
    "secretariat": Principal("secretariat", "secretariat"),
}


def receive(obs: pd.DataFrame, viewer: Principal, rules: Rules) -> tuple[pd.DataFrame,
                                                                      pd.DataFrame]:
    """Everything the viewer can ask for: benchmarks of every grouping, and trends."""
    bench = benchmark(obs, viewer, GROUPS, fw=FW, levels=("kpi", "outcome"), rules=rules)
    comp = pd.DataFrame({"level": ["kpi"] * 4 + ["outcome"],
                         "code": ["TF.1.1", "TF.4.1", "TF.2.1", "OD.5.1", "TF.1"],
                         "comparable": True, "reason": ""})
    trends = group_trends(obs, viewer, GROUPS, 2022, 2024, comp, fw=FW,
                          levels=("kpi", "outcome"), rules=rules)
    return bench, trends


def knowledge_of(obs: pd.DataFrame, viewer: Principal, bench: pd.DataFrame,
                 trends: pd.DataFrame) -> list[Knowledge]:
    """The attacker's knowledge, one system per measure (its two cycles linked by trends)."""
    rows = obs[usable(obs)]
    seen = visible(viewer, rows)
    members = defaultdict(set)
    for (cycle, grouping, group), g in GROUPS.groupby(["cycle", "grouping", "group"]):
        members[(cycle, grouping, group)] = set(g["member"])
    out = []
    for (level, code), per_measure in rows.groupby(["level", "code"]):
        vis_rows = per_measure[seen[per_measure.index.map(rows.index.get_loc)]]
        hid_rows = per_measure.drop(vis_rows.index)
        visible_values = {(c, level, code): dict(zip(g["member"], g["value"], strict=True))
                          for c, g in vis_rows.groupby("cycle")}
        hidden = {(c, level, code): dict(zip(g["member"], g["value"], strict=True))
                  for c, g in hid_rows.groupby("cycle")}
        contributors = {c: set(g["member"]) for c, g in per_measure.groupby("cycle")}
        stats = {}
        for r in bench[(bench["level"] == level) & (bench["kpi"] == code)].itertuples():
            if r.group == "balanced":
                continue  # the mean of released regional means: nothing new
            who = frozenset(members[(r.cycle, r.grouping, r.group)] & contributors[r.cycle])
            qs = {q: getattr(r, q) for q in ("q1", "median", "q3")
                  if np.isfinite(getattr(r, q))}
            stats[(r.cycle, r.grouping, r.group)] = Statistic(
                (r.cycle, level, code), who, int(r.n),
                float(r.mean) if np.isfinite(r.mean) else None, qs)
        diffs = []
        for t in trends[(trends["level"] == level) & (trends["kpi"] == code)].itertuples():
            if t.group == "balanced" or not np.isfinite(t.change_mean):
                continue
            diffs.append((stats[(2022, t.grouping, t.group)],
                          stats[(2024, t.grouping, t.group)], float(t.change_mean)))
        domain = measure_domain(FW, level, code)
        measures = [(c, level, code) for c in (2022, 2024)]
        out.append(Knowledge(
            visible=visible_values, hidden_truth=hidden, stats=list(stats.values()),
            bounds={m: (domain.lo, domain.hi) for m in measures},
            levels={m: domain.levels for m in measures} if domain.levels else {},
            differences=diffs))
    return out


@pytest.mark.parametrize("kind", list(VIEWERS))
def test_no_hidden_value_is_derivable(kind):
    viewer = VIEWERS[kind]
    rules = Rules()
    bench, trends = receive(OBS, viewer, rules)
    hidden = (usable(OBS) & ~visible(viewer, OBS)).sum()
    found = set()
    for k in knowledge_of(OBS, viewer, bench, trends):
        found |= attack(k, p=rules.protection_p)
    assert not found, f"{kind}: derivable hidden values {sorted(found)[:5]}"
    if kind == "secretariat":
        assert hidden == 0
    else:
        assert hidden > 0
        # statistics use hidden values too (not only visible ones): n counts them
        all_n = bench[(bench["grouping"] == "global") & (bench["group"] == "all")]["n"].sum()
        assert all_n == usable(OBS).sum()
    # every withheld statistic says why
    withheld = bench[bench["suppressed"] | ((bench["n"] > 0) & bench["mean"].isna())]
    assert (withheld["reason"].str.len() > 0).all()


@pytest.mark.parametrize("kind", ["public", "ncp", "peer_reviewer"])
def test_suppression_is_applied_and_explained(kind):
    bench, _trends = receive(OBS, VIEWERS[kind], Rules())
    reasons = " | ".join(bench["reason"])
    assert "fewer than 3 members reported" in reasons
    assert "secondary suppression" in reasons
    assert "you may not see" in reasons


def test_the_attacker_finds_what_raw_statistics_reveal():
    """Without disclosure control (every statistic released), the same attack succeeds: the
    test above can fail."""
    viewer = VIEWERS["public"]
    rows = OBS[usable(OBS)]
    raw = []
    for (cycle, level, code), g in rows.groupby(["cycle", "level", "code"]):
        gm = GROUPS[GROUPS["cycle"] == cycle].merge(g[["member", "value"]], on="member")
        for (grouping, group), h in gm.groupby(["grouping", "group"]):
            x = h["value"].to_numpy()
            raw.append({"cycle": cycle, "level": level, "kpi": code, "grouping": grouping,
                        "group": group, "n": len(x), "mean": x.mean(),
                        "median": np.median(x), "q1": np.quantile(x, 0.25),
                        "q3": np.quantile(x, 0.75)})
    bench = pd.DataFrame(raw)
    empty = pd.DataFrame(columns=["level", "kpi", "grouping", "group", "change_mean"])
    found = set()
    for k in knowledge_of(OBS, viewer, bench, empty):
        found |= attack(k)
    assert len(found) >= 5


def test_peer_reviewer_sees_assigned_submissions_and_wco_values():
    viewer = VIEWERS["peer_reviewer"]
    mask = visible(viewer, OBS)
    assigned = ((OBS["cycle"] == 2024) & (OBS["member"] == OTHER)) | (
        (OBS["cycle"] == 2022) & (OBS["member"] == EARLIER))
    assert mask[assigned.to_numpy()].all()
    others = ~assigned.to_numpy()
    expected = OBS["validated"].to_numpy() & OBS["disclosure"].isin(["public", "wco"]).to_numpy()
    assert (mask[others] == expected[others]).all()
