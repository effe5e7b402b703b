"""The independent attacker against every channel: it fails on the per-request path, finds
nothing on releases.

Each "old path" test below is a regression test of the attacker itself: it runs the attacker on
what the per-request computation (`benchmark` for one viewer at one moment, `whatif` scored among
every validated member, positions withheld on ties) gives, and expects a recovered value. The
"release" tests run the same attacker on what releases give (`audit_cycle`, and the services for
the relative scores), over several audiences, member knowledge, linear measures, two cycles and
two successive releases, and expect nothing: no hidden value derived, none narrowed below the
protection interval.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmm.access import ANONYMOUS, RANK, audience
from pmm.analysis.benchmark import benchmark, measure_domain
from pmm.analysis.observations import COLUMNS, usable
from pmm.analysis.release import audit_cycle
from pmm.analysis.sdc import Rules
from pmm.analysis.whatif import whatif
from pmm.framework.loader import load
from tests.analysis import synthetic
from tests.analysis.attacker import (
    Knowledge,
    Statistic,
    attack,
    breakpoints,
    from_moments,
    knowing,
    tie_oracle,
    zscore_pool,
)

FW = load("wco-pmm-v1")
LEVEL = {"public": 0, "wco": 1}


# ---------------------------------------------------------------- the attacker's view of releases


def release_knowledge(obs: pd.DataFrame, groups: pd.DataFrame, releases: list,
                      level: str, fw=FW) -> list[Knowledge]:
    """What an adversary of audience `level` (public, or wco: it reads the public statistics
    too) receives from `releases` of one cycle, each given as (its observations, its
    statistics) or its statistics alone (observations: `obs`, which holds the values now): one
    system per KPI, one joint system for the outcome scores and the dimension and SDG figures
    computed from their means."""
    releases = [r if isinstance(r, tuple) else (obs, r) for r in releases]
    rows = obs[usable(obs)]
    shown = rows["disclosure"].map(RANK) <= LEVEL[level]
    audiences = ["public"] if level == "public" else ["public", "wco"]
    members = {k: set(g["member"]) for k, g in groups.groupby(["grouping", "group"])}
    out = []
    outcome_stats: dict[tuple, Statistic] = {}
    joint = Knowledge({}, {}, [], {}, {})
    for (cycle, lvl, code), per in rows.groupby(["cycle", "level", "code"]):
        measure = (cycle, lvl, code)
        k = joint if lvl == "outcome" else Knowledge({}, {}, [], {}, {})
        vis = per[shown.loc[per.index]]
        hid = per[~shown.loc[per.index]]
        k.visible[measure] = dict(zip(vis["member"], vis["value"], strict=True))
        k.hidden_truth[measure] = dict(zip(hid["member"], hid["value"], strict=True))
        domain = measure_domain(fw, lvl, code)
        k.bounds[measure] = (domain.lo, domain.hi)
        if domain.levels:
            k.levels[measure] = domain.levels
        for number, (then, stats) in enumerate(releases):
            was = then[usable(then) & (then["cycle"] == cycle) & (then["level"] == lvl)
                       & (then["code"] == code)]
            contributors = set(was["member"])
            s = stats[(stats["level"] == lvl) & (stats["code"] == code)
                      & (stats["variant"] == "") & (stats["breakdown"] == "")
                      & stats["audience"].isin(audiences) & (stats["basis"] == "members")]
            for r in s.itertuples():
                who = frozenset(members.get((r.grouping, r.group), set()) & contributors)
                qs = {q: getattr(r, q) for q in ("q1", "median", "q3")
                      if np.isfinite(getattr(r, q))}
                stat = Statistic(measure, who, int(r.n),
                                 float(r.mean) if np.isfinite(r.mean) else None, qs)
                k.stats.append(stat)
                if lvl == "outcome":
                    outcome_stats[(number, r.audience, code, r.grouping, r.group)] = stat
        if lvl != "outcome":
            out.append(k)
    # dimension and SDG figures: weighted means of the same group's outcome means
    weights = {(d.code, o.code): o.weight for d in fw.dimensions
               for o in fw.outcomes_of_dimension(d.code)}
    sdgs = defaultdict(list)
    for o in fw.outcomes:
        for t in o.sdg_targets:
            sdgs[("sdg_target", t)].append(o.code)
            sdgs[("sdg_goal", t.split(".")[0])].append(o.code)
    for number, (_then, stats) in enumerate(releases):
        derived = stats[(stats["basis"] == "outcome means") & stats["audience"].isin(audiences)
                        & np.isfinite(stats["mean"].astype(float))]
        for r in derived.itertuples():
            if r.level == "dimension":
                parts = [(o, w) for (d, o), w in weights.items() if d == r.code]
            else:
                parts = [(o, 1.0) for o in dict.fromkeys(sdgs[(r.level, r.code)])]
            used = [(w, outcome_stats[(number, r.audience, o, r.grouping, r.group)])
                    for o, w in parts
                    if (number, r.audience, o, r.grouping, r.group) in outcome_stats
                    and outcome_stats[(number, r.audience, o, r.grouping, r.group)].n > 0]
            total = sum(w for w, _s in used)
            if used:
                joint.combinations.append(([(w / total, s) for w, s in used], float(r.mean)))
    if joint.hidden_truth:
        out.append(joint)
    return out


def adversaries(obs: pd.DataFrame, level: str, sample: int | None, seed: int = 0) -> list:
    """None (only the audience's values) and members whose own values the adversary knows."""
    rows = obs[usable(obs)]
    hidden = sorted(set(rows.loc[rows["disclosure"].map(RANK) > LEVEL[level], "member"]))
    if sample is not None and len(hidden) > sample:
        hidden = list(np.random.default_rng(seed).choice(hidden, sample, replace=False))
    return [None, *hidden]


def run_attack(obs, groups, releases, level, sample=None, p=1.0) -> set:
    found = set()
    for k in release_knowledge(obs, groups, releases, level):
        for member in adversaries(obs, level, sample):
            kk = k if member is None else knowing(k, member)
            found |= {f for f in attack(kk, p=p) if f[1] != member}
    return found


def tiny(values, disclosure, validated=None, level="kpi", code="TF.4.1"):
    """Observations of one measure for members M0, M1, ... (all validated by default)."""
    n = len(values)
    return pd.DataFrame({
        "cycle": 2024, "member": [f"M{i}" for i in range(n)], "level": level, "code": code,
        "variant": "", "breakdown": "", "value": np.asarray(values, float), "status": "ok",
        "reason": "", "disclosure": disclosure,
        "validated": validated if validated is not None else [True] * n})[COLUMNS]


def groups_of(members, split=None):
    rows = [("global", "all", m) for m in members]
    for name, part in (split or {}).items():
        rows += [("region", name, m) for m in part]
    return pd.DataFrame(rows, columns=["grouping", "group", "member"]).assign(cycle=2024)


# ---------------------------------------------------------------- the per-request path fails


def test_old_public_audit_lets_an_ncp_recover_a_restricted_value():
    """The public mean is audited as if every non-public value were unknown; an NCP knows the
    WCO-level ones, so the one restricted value follows."""
    obs = tiny([61.0, 72.0, 55.0, 80.0, 47.0, 90.0],
               ["public", "public", "public", "wco", "wco", "restricted"])
    groups = groups_of(obs["member"])
    old = benchmark(obs, ANONYMOUS, groups, fw=FW, by=["region"]).assign(audience="public")
    old = old.rename(columns={"kpi": "code"}).assign(basis="members")
    assert np.isfinite(old.loc[old["group"] == "all", "mean"]).all()
    found = run_attack(obs, groups, [old], "wco")
    assert ((2024, "kpi", "TF.4.1"), "M5") in found
    new = audit_cycle(obs, groups, FW, Rules())
    assert not run_attack(obs, groups, [new], "wco")
    assert not run_attack(obs, groups, [new], "public")


def test_old_path_leaks_by_differencing_before_and_after_a_validation():
    """Each per-request answer is safe on its own; the global mean before and after one
    member's validation gives its value."""
    values = [61.0, 72.0, 55.0, 80.0, 47.0, 90.0, 66.0]
    disclosure = ["public", "restricted", "restricted", "restricted", "public", "public",
                  "restricted"]
    before = tiny(values, disclosure, [True] * 6 + [False])
    after = tiny(values, disclosure)
    groups = groups_of(after["member"])
    old = [(o, benchmark(o, ANONYMOUS, groups, fw=FW, by=["region"]).assign(
        audience="public").rename(columns={"kpi": "code"}).assign(basis="members"))
        for o in (before, after)]
    assert all(np.isfinite(o.loc[o["group"] == "all", "mean"]).all() for _x, o in old)
    assert ((2024, "kpi", "TF.4.1"), "M6") in run_attack(after, groups, old, "public")
    first = audit_cycle(before, groups, FW, Rules())
    second = audit_cycle(after, groups, FW, Rules(), [(before, groups, first)])
    assert not run_attack(after, groups, [(before, first), (after, second)], "public")
    assert not run_attack(after, groups, [(before, first), (after, second)], "wco")


def test_old_path_leaks_through_linear_measures():
    """Outcome means and a dimension mean, each audited alone, give hidden outcome scores
    through the per-member identities (a dimension is the mean of the outcomes a member has:
    M0 has no TF.2 score, so its dimension score is its TF.1 score)."""
    codes = ["TF.1", "TF.2"]
    rng = np.random.default_rng(3)
    n = 8
    members = [f"M{i}" for i in range(n)]
    x = {c: dict(zip(members, np.round(rng.uniform(20, 90, n), 1), strict=True)) for c in codes}
    del x["TF.2"]["M0"]
    restricted = {"TF.1": {"M0", "M1"}, "TF.2": {"M1", "M2", "M3"}}
    disc = {c: ["restricted" if m in restricted[c] else "public" for m in x[c]] for c in codes}
    dim = {m: float(np.mean([x[c][m] for c in codes if m in x[c]])) for m in members}
    dim_disc = ["restricted" if any(m in restricted[c] for c in codes) else "public"
                for m in members]
    frames = [tiny(list(x[c].values()), disc[c], level="outcome", code=c).assign(
        member=list(x[c])) for c in codes]
    frames.append(tiny(list(dim.values()), dim_disc, level="dimension", code="TF"))
    obs = pd.concat(frames, ignore_index=True)
    groups = groups_of(members)
    old = benchmark(obs, ANONYMOUS, groups, fw=FW, by=["region"],
                    levels=("outcome", "dimension"))
    assert np.isfinite(old.loc[old["group"] == "all", "mean"]).all()
    measures = {"TF.1": (2024, "outcome", "TF.1"), "TF.2": (2024, "outcome", "TF.2"),
                "TF": (2024, "dimension", "TF")}
    truth = {"TF.1": x["TF.1"], "TF.2": x["TF.2"], "TF": dim}
    hidden_of = {"TF.1": restricted["TF.1"], "TF.2": restricted["TF.2"],
                 "TF": {m for m, d in zip(members, dim_disc, strict=True) if d != "public"}}
    stats = [Statistic(measures[r.kpi], frozenset(truth[r.kpi]), int(r.n), float(r.mean))
             for r in old[old["group"] == "all"].itertuples()]
    vis = {measures[c]: {m: v for m, v in truth[c].items() if m not in hidden_of[c]}
           for c in measures}
    hid = {measures[c]: {m: v for m, v in truth[c].items() if m in hidden_of[c]}
           for c in measures}
    identities = []
    for m in members:
        parts = [c for c in codes if m in x[c]]
        coefficients = {(measures["TF"], m): 1.0}
        coefficients.update({(measures[c], m): -1.0 / len(parts) for c in parts})
        identities.append((coefficients, 0.0))
    bounds = {m: (0.0, 100.0) for m in measures.values()}
    alone = set()
    for measure in measures.values():  # each measure on its own reveals nothing
        alone |= attack(Knowledge({measure: vis[measure]}, {measure: hid[measure]},
                                  [s for s in stats if s.measure == measure], bounds))
    assert not alone
    joint = attack(Knowledge(vis, hid, stats, bounds, identities=identities))
    assert (measures["TF.1"], "M0") in joint
    outcomes = obs[obs["level"] == "outcome"]
    new = audit_cycle(outcomes, groups, FW, Rules())
    assert not run_attack(outcomes, groups, [new], "public")


def _values(x: dict[str, float], kpi: str) -> pd.DataFrame:
    return pd.DataFrame({"member": list(x), "kpi": kpi, "variant": "", "breakdown": "",
                         "value": list(x.values()), "status": "ok", "reason": ""})


def _own_score(values: pd.DataFrame, member: str, kpi: str, scored: list[str]):
    def score(v: float) -> float:
        effect = whatif(FW, 2024, member, values, {kpi: v}, scored=scored).effect
        row = effect[(effect["level"] == "kpi_score") & (effect["code"] == kpi)]
        return float(row["after"].iloc[0])
    return score


def test_old_whatif_sweeps_recover_peers_values_the_pool_of_what_one_may_see_does_not():
    """Percentile ranks swept with what-if jump at every value of the pool; z-scores give the
    pool's mean and s.d. On the per-request path the pool is every validated member; on
    releases it is the values the member may see."""
    x = {"AAA": 40.0, "BBB": 55.5, "CCC": 62.25, "DDD": 71.0, "EEE": 83.0}
    hidden = {"CCC": 62.25}  # restricted, the others visible to the member AAA
    values = _values(x, "TF.3.1")
    old = breakpoints(_own_score(values, "AAA", "TF.3.1", list(x)), 60.0, 65.0, steps=2,
                      tol=1e-4)
    assert any(abs(b - hidden["CCC"]) < 1e-3 for b in old)
    seen = values[values["member"] != "CCC"]
    new = breakpoints(_own_score(seen, "AAA", "TF.3.1", list(seen["member"])), 60.0, 65.0,
                      steps=2, tol=1e-4)
    assert not any(abs(b - hidden["CCC"]) < 1e-3 for b in new)
    # z-score (a T-score of hours, lower is better): two what-if queries give the sum and the
    # sum of squares of the others in the pool
    y = {"AAA": 30.0, "BBB": 41.0, "CCC": 47.5, "DDD": 52.0, "EEE": 60.0}
    hours = _values(y, "TF.7.2")
    for pool, expect in ((list(y), True), ([m for m in y if m != "CCC"], False)):
        score = _own_score(hours[hours["member"].isin(pool)], "AAA", "TF.7.2", pool)
        # lower is better: the T-score is of the negated values
        moments = zscore_pool(lambda v, s=score: (s(-v) - 50.0) / 10.0, -44.0, -46.0, len(pool))
        assert moments is not None
        total, squares = -moments[0], moments[1]
        known = [y[m] for m in pool if m not in ("AAA", "CCC")]
        got = from_moments(total, squares, known, len(pool) - 1 - len(known))
        recovered = bool(got) and any(abs(g - y["CCC"]) < 1e-6 for g in got)
        assert recovered == expect


def test_old_tie_oracle_pins_a_value_releases_have_no_such_oracle():
    """Per request, "position withheld" happened only when a hidden value equalled the
    member's own: combined over groups it pins a hidden member to that value."""
    values = [50, 50, 62, 71, 44, 58, 80, 39, 66, 47, 53, 61]
    hidden = {"M1", "M3", "M6", "M8"}
    members = [f"M{i}" for i in range(12)]
    obs = tiny(values, ["restricted" if m in hidden else "public" for m in members])
    rows = [("global", "all", m) for m in members]
    rows += [("region", "A", m) for m in members[:6]] + [("region", "B", m) for m in members[6:]]
    rows += [("income", "high", m) for m in ("M0", "M3", "M6", "M7", "M9", "M10")]
    rows += [("income", "low", m) for m in ("M1", "M2", "M4", "M5", "M8", "M11")]
    groups = pd.DataFrame(rows, columns=["grouping", "group", "member"]).assign(cycle=2024)
    old = benchmark(obs, _ncp("M0"), groups, fw=None, by=["region", "income"])
    flags = {}
    for r in old[old["group"] != "balanced"].itertuples():
        who = frozenset(groups[(groups["grouping"] == r.grouping)
                               & (groups["group"] == r.group)]["member"])
        if np.isfinite(r.position) or "position withheld" in r.reason:
            flags[who] = "position withheld" in r.reason
    assert tie_oracle(flags, hidden) == {"M1"}  # M1's value is M0's own: 50
    # releases carry no position; a member's position is computed from what it may see
    new = audit_cycle(obs, groups, None, Rules())
    assert "position" not in new.columns


def _ncp(member: str):
    from pmm.access import Principal

    return Principal(f"ncp-{member}", "ncp", member)


# ---------------------------------------------------------------- releases: nothing found


@pytest.mark.slow
def test_two_cycles_two_releases_every_audience_synthetic():
    """Synthetic members over two cycles; for 2024 a first release, then a second after three
    more members are validated; every audience, with member knowledge (a sample of members)."""
    obs, groups = synthetic.observations(n=30)
    for cycle in (2022, 2024):
        o = obs[obs["cycle"] == cycle]
        g = groups[groups["cycle"] == cycle]
        first_members = sorted(set(o.loc[o["validated"], "member"]))
        later = first_members[:3]
        before = o.assign(validated=o["validated"] & ~o["member"].isin(later))
        first = audit_cycle(before, g, FW, Rules())
        second = audit_cycle(o, g, FW, Rules(), [(before, g, first)])
        for level in ("public", "wco"):
            found = run_attack(o, g, [(before, first), (o, second)], level, sample=3)
            assert not found, (cycle, level, sorted(found)[:5])
        released = second[(second["basis"] == "members") & (second["n"] > 0)]
        assert np.isfinite(released["mean"]).any()


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_random_releases_reveal_nothing(data):
    """Random values, disclosure and groups; two successive releases; every audience and every
    member as the adversary's own."""
    n = data.draw(st.integers(6, 12))
    values = data.draw(st.lists(st.sampled_from([0.0, 12.5, 37.0, 50.0, 64.0, 88.0, 100.0]) |
                                st.floats(0, 100, allow_nan=False).map(lambda v: round(v, 1)),
                                min_size=n, max_size=n))
    disclosure = data.draw(st.lists(st.sampled_from(["public", "wco", "restricted"]),
                                    min_size=n, max_size=n))
    late = data.draw(st.integers(0, n - 1))
    regions = data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    members = [f"M{i}" for i in range(n)]
    groups = groups_of(members, {f"R{r}": [m for m, q in zip(members, regions, strict=True)
                                           if q == r] for r in set(regions)})
    rules = Rules(min_n=3, dominance_p=10.0, protection_p=1.0)
    after = tiny(values, disclosure, code="TF.1.1")
    before = after.assign(validated=after["member"] != members[late])
    first = audit_cycle(before, groups, FW, rules)
    second = audit_cycle(after, groups, FW, rules, [(before, groups, first)])
    for level in ("public", "wco"):
        assert not run_attack(after, groups, [(before, first), (after, second)], level)


@pytest.mark.slow
def test_demo_releases_reveal_nothing(demo_db):
    """The demo's releases (created by `pmm demo`): KPIs of each default disclosure, a yes/no
    KPI, and the outcome scores with the dimension and SDG figures built on them."""
    from pmm.analysis import release
    from pmm.store.engine import transaction

    with transaction(demo_db) as session:
        for year in (2022, 2024):
            rel = release.require_latest(session, year)
            obs, groups = release.snapshot(rel)
            stats = release.statistics(session, rel)
            keep = obs["code"].isin(["TF.1.1", "TF.4.3", "ES.1.1", "OD.5.2"]) | (
                obs["level"] == "outcome") & obs["code"].str.startswith("TF")
            obs = obs[keep & (obs["variant"] == "") & (obs["breakdown"] == "")]
            stats = stats[stats["level"].isin(["kpi", "outcome", "dimension", "sdg_target",
                                               "sdg_goal"])]
            for level in ("public", "wco"):
                found = run_attack(obs, groups, [stats], level, sample=2)
                assert not found, (year, level, sorted(found)[:5])


@pytest.mark.parametrize("who", [ANONYMOUS, audience("wco")])
def test_release_statistics_use_hidden_values_but_show_none(who):
    obs, groups = synthetic.observations(n=36)
    o, g = obs[obs["cycle"] == 2024], groups[groups["cycle"] == 2024]
    stats = audit_cycle(o, g, FW, Rules())
    mine = stats[(stats["audience"] == who.audience) & (stats["grouping"] == "global")
                 & (stats["group"] == "all") & (stats["basis"] == "members")]
    counted = o[usable(o) & o["level"].isin(["kpi", "outcome"])]
    assert mine["n"].sum() == len(counted)
    withheld = stats[(stats["n"] > 0) & stats["mean"].isna()]
    assert (withheld["reason"].str.len() > 0).all()
