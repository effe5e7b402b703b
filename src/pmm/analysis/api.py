"""The analysis as services: each takes a database session and the principal looking.

The caller (the CLI, later the web) owns the transaction; a service never opens one. What a
principal other than the Secretariat learns about other members comes from the latest release of
the cycle (`pmm.analysis.release`): its statistics for the principal's audience, and the
individual values of the release that the policy lets it see. A member's own data (and a peer
reviewer's assigned submissions) are read live. Outputs of one member that depend on others
(relative scores, positions, peer references, what-if) are computed only from that: the
principal's "pool". The Secretariat's working views read live data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from pmm.access import Principal, may_read_submission, require, visible
from pmm.analysis import gaps as gaps_mod
from pmm.analysis import release as rel_mod
from pmm.analysis import secretariat as sec
from pmm.analysis.benchmark import COLUMNS as BENCH_COLUMNS
from pmm.analysis.benchmark import _custom, benchmark, measure_direction
from pmm.analysis.load import CycleData, load_cycle, previous_year
from pmm.analysis.memo import Memo, database_of
from pmm.analysis.observations import BENCHMARK_LEVELS, build, row_keys, usable
from pmm.analysis.observations import COLUMNS as OBS_COLUMNS
from pmm.analysis.sdg import sdg_benchmark, sdg_member
from pmm.analysis.support import Support, load_support
from pmm.analysis.trends import (
    comparability,
    compare_statistics,
    group_trends,
    member_trends,
)
from pmm.analysis.whatif import WhatIf
from pmm.analysis.whatif import whatif as whatif_core
from pmm.assessment.cycles import framework_of, get_cycle
from pmm.errors import PermissionDenied, PmmError
from pmm.framework.diff import diff
from pmm.framework.model import Framework
from pmm.i18n import _, language
from pmm.members import member as member_record
from pmm.scoring.pmm import score_cycle
from pmm.store.models import Submission

SCORE_COLUMNS = ["member", "level", "code", "value", "score", "grade", "status", "reason"]
VALUE_COLUMNS = ["member", "kpi", "variant", "breakdown", "value", "status", "reason"]


@dataclass
class Pool:
    """What one principal may know of a cycle's members: observations (KPI values and scores,
    the scores computed among these values only) and raw KPI values, and peer groups.

    `data` is the live cycle, None for a principal who may read no submission of the cycle
    (the public, a working body, a member without a submission, a peer reviewer with no
    assignment in it): its pool comes from the latest release alone, with the release's peer
    groups. `submitted`: the members with a submission in the cycle."""

    year: int
    fw: Framework
    obs: pd.DataFrame
    values: pd.DataFrame
    groups: pd.DataFrame
    data: CycleData | None
    submitted: frozenset[str] = frozenset()
    scored: pd.DataFrame | None = None  # score_cycle of `values` (None: the Secretariat's)


# Pools are derived from (live data digest, release, what the principal may see); kept per
# process so a page asked again costs a few small queries (see `pmm.analysis.memo`).
_POOLS: Memo[Pool] = Memo(64)


def pool(session: Session, who: Principal, year: int, member: str | None = None) -> Pool:
    """The principal's pool of cycle `year` (the Secretariat's: the live cycle)."""
    if who.sees_all:
        data = load_cycle(session, year, member=member)
        return Pool(year, data.fw, data.obs, data.values, data.groups, data,
                    frozenset(data.obs["member"]))
    cycle = get_cycle(session, year)
    submitted = frozenset(session.scalars(select(Submission.member)
                                          .where(Submission.cycle_id == cycle.id)).all())
    possible = {m for _y, m in who.assigned} | ({who.member} if who.member else set())
    readable = sorted(m for m in possible & submitted if may_read_submission(who, year, m))
    rel = rel_mod.latest(session, year)
    # only the readable members' KPI values are taken from the live cycle (their scores are
    # computed again with the others'), so `member`, which adds a draft's scores, is not needed
    data = load_cycle(session, year) if readable else None
    key = (database_of(session), year, tuple(readable), data.digest if data is not None else None,
           rel_mod.identity(rel) if rel is not None else None,
           who.role, who.member, who.assigned, submitted, language())  # reasons are words
    return _POOLS.get(key, lambda: _compose(year, framework_of(cycle), who, data, readable,
                                            rel, submitted))


def _compose(year: int, fw: Framework, who: Principal, data: CycleData | None,
             readable: list[str], rel, submitted: frozenset[str]) -> Pool:  # type: ignore[no-untyped-def]
    """The pool: the readable members' live rows, and what `who` may see of the others in the
    release, scored among themselves."""
    frames = [data.obs[data.obs["member"].isin(readable)]] if data is not None else []
    groups = data.groups if data is not None else pd.DataFrame(
        columns=["grouping", "group", "member", "cycle"])
    if rel is not None:
        snap, released_groups = rel_mod.snapshot(rel)
        others = snap[~snap["member"].isin(readable)]
        frames.append(others[visible(who, others)])
        if data is None:
            groups = released_groups
    seen = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=OBS_COLUMNS)
    kpis = seen[seen["level"] == "kpi"]
    values = kpis.rename(columns={"code": "kpi"})[VALUE_COLUMNS].reset_index(drop=True)
    scored = score_cycle(fw, values) if len(values) else pd.DataFrame(columns=SCORE_COLUMNS)
    disclosure = kpis[(kpis["variant"] == "") & (kpis["breakdown"] == "")].rename(
        columns={"code": "kpi"})[["member", "kpi", "disclosure"]]
    validated = set(pd.unique(seen["member"].to_numpy(object)[seen["validated"].to_numpy(bool)]))
    obs = build(year, fw, values, scored, disclosure, validated)
    # another member's composite is shown only where the release shows it (its disclosure is
    # that of all its KPIs, some of which are not in the pool)
    if rel is not None:
        shown = seen[seen["level"] != "kpi"]
        mine = obs["member"].isin(readable) | (obs["level"] == "kpi")
        at_obs, at_shown = row_keys([obs, shown], ["member", "level", "code"])
        obs = obs[mine.to_numpy() | np.isin(at_obs, at_shown)]
    else:
        obs = obs[obs["member"].isin(readable)]
    obs = obs.reset_index(drop=True)
    return Pool(year, fw, obs, values, groups, data, submitted, scored)


# What is derived from two frameworks alone (their diff, what compares): kept per pair of
# framework objects (the cycles' frameworks are kept by `framework_of`) and language (reasons).
_FRAMEWORK_PAIRS: Memo[tuple] = Memo(32)  # type: ignore[type-arg]


def _of_frameworks(what: str, old: Framework, new: Framework, make):  # type: ignore[no-untyped-def]
    key = (what, id(old), id(new), language())
    kept = _FRAMEWORK_PAIRS.get(key, lambda: (old, new, make()))
    # the entry holds both objects, so their ids are not reused while it is kept
    return kept[2] if kept[0] is old and kept[1] is new else make()


# ---------------------------------------------------------------- benchmarks


def benchmarks(session: Session, who: Principal, year: int, *, by: str = "region",
               kpi: str | None = None, levels: tuple[str, ...] = ("kpi",),
               headline: bool = True, custom: Mapping[str, list[str]] | None = None
               ) -> pd.DataFrame:
    """Benchmarks of cycle `year` for `who` (columns of `benchmark.COLUMNS`).

    Anyone but the Secretariat gets the latest release's statistics for its audience; the live
    cycle is read only for a member's own position among its peers."""
    fw = framework_of(get_cycle(session, year))
    if kpi is not None and kpi not in measure_codes(fw):
        raise PmmError(_("KPI (or score) {value!r}: not a code of {fw}").format(
            value=kpi, fw=fw.id))
    if who.sees_all:
        data = load_cycle(session, year)
        obs = data.obs[data.obs["level"].isin(levels)]
        if kpi is not None:
            obs = obs[obs["code"] == kpi]
        if headline:
            obs = obs[(obs["variant"] == "") & (obs["breakdown"] == "")]
        return benchmark(obs, who, data.groups, fw=data.fw, by=[by], levels=levels,
                         rules=rel_mod.current_rules(session), custom=custom)
    rel = rel_mod.require_latest(session, year)
    stats = rel_mod.statistics(session, rel, who.audience, levels=levels, code=kpi)
    if headline:
        stats = stats[(stats["variant"] == "") & (stats["breakdown"] == "")]
    stats = stats[stats["grouping"].isin([by, "global"])]
    frame = _as_benchmark(stats, rel, year)
    if who.member is None and not custom:  # no position to place: the release is enough
        return frame[BENCH_COLUMNS].reset_index(drop=True)
    mine = pool(session, who, year)
    frame["position"] = _positions(frame, who, mine, fw)
    if custom:
        frame = pd.concat([frame, _custom_groups(mine, who, custom, levels, kpi, headline,
                                                 rel_mod.current_rules(session))],
                          ignore_index=True)
        frame = frame[frame["grouping"].isin([by, "global"])]
    return frame[BENCH_COLUMNS].reset_index(drop=True)


def measure_codes(fw: Framework) -> set[str]:
    """The codes a cycle's observations can hold: its KPIs and the levels it aggregates to."""
    codes = {k.code for k in fw.kpis}
    agg = fw.aggregation
    if agg.outcome is not None:
        codes |= {o.code for o in fw.outcomes}
        if agg.dimension is not None:
            codes |= {d.code for d in fw.dimensions}
            if agg.overall is not None:
                codes.add("overall")
    return codes


def _as_benchmark(stats: pd.DataFrame, rel, year: int) -> pd.DataFrame:
    rules = rel_mod.Rules(min_n=rel.min_n, dominance_p=rel.dominance_p,
                          protection_p=rel.protection_p)
    frame = stats.rename(columns={"code": "kpi"}).copy()
    frame["cycle"] = int(year)
    texts: dict[tuple[str, str], str] = {}  # a few distinct reasons over many rows
    reasons = []
    for pair in zip(frame["reason"], frame["withheld"], strict=True):
        text = texts.get(pair)
        if text is None:
            text = texts[pair] = rel_mod.reason_text(*pair, rules)
        reasons.append(text)
    frame["reason"] = reasons
    quantiles = frame[["median", "q1", "q3"]].isna().any(axis=1) & (frame["basis"] == "members")
    frame["suppressed"] = (frame["n"] > 0) & (frame["mean"].isna() | quantiles)
    frame["basis"] = frame["basis"].map({"members": "all validated",
                                         "outcome means": "outcome means",
                                         "regional means": "regional means"})
    frame["position"] = np.nan
    return frame


def _positions(frame: pd.DataFrame, who: Principal, mine: Pool, fw: Framework) -> np.ndarray:
    """A member's position in each group: the share of the other members of the group whose
    value it may see doing worse (ties count half); only from what it may see."""
    out = np.full(len(frame), np.nan)
    if who.member is None or not len(frame):
        return out
    measure = ["level", "code", "variant", "breakdown"]
    obs = mine.obs
    near = obs["code"].isin(pd.unique(frame["kpi"])).to_numpy()  # only the measures asked for
    obs = obs[near]
    asked = frame[["level", "kpi", "variant", "breakdown"]].set_axis(measure, axis=1)
    key, asked_key = row_keys([obs, asked], measure)
    member = obs["member"].to_numpy(object)
    x = obs["value"].to_numpy(float)
    mine_rows = (member == who.member) & (obs["status"] == "ok").to_numpy() & np.isfinite(x)
    own = pd.Series(np.flatnonzero(mine_rows), index=key[mine_rows])  # the row of each measure
    own = own[~own.index.duplicated(keep="last")]
    others = (member != who.member) & usable(obs).to_numpy()
    at = own.index.get_indexer(key[others])
    seen = at >= 0
    x_o, m_o, at = x[others][seen], member[others][seen], at[seen]
    if not len(at):
        return out
    levels, codes = obs["level"].to_numpy(object), obs["code"].to_numpy(object)
    d = np.array([measure_direction(fw, levels[i], codes[i]) for i in own], float)[at]
    own_x = x[own.to_numpy()][at]
    worse = (d * (x_o - own_x) < 0) + 0.5 * (x_o == own_x)
    groups = mine.groups[["grouping", "group", "member"]].drop_duplicates()
    theirs = groups[groups["member"] == who.member][["grouping", "group"]].drop_duplicates()
    asked_at = own.index.get_indexer(asked_key)
    for grouping, group in theirs.itertuples(index=False, name=None):
        inside = set(groups.loc[(groups["grouping"] == grouping) & (groups["group"] == group),
                                "member"])
        pick = np.fromiter((m in inside for m in m_o), bool, len(m_o))
        total = np.bincount(at[pick], weights=worse[pick], minlength=len(own))
        size = np.bincount(at[pick], minlength=len(own))
        rows = ((frame["grouping"] == grouping) & (frame["group"] == group)).to_numpy() \
            & (asked_at >= 0)
        where = asked_at[rows]
        counted = size[where] > 0
        idx = np.flatnonzero(rows)[counted]
        out[idx] = 100.0 * total[where[counted]] / size[where[counted]]
    return out


def _custom_groups(mine: Pool, who: Principal, custom: Mapping[str, list[str]],
                   levels: tuple[str, ...], kpi: str | None, headline: bool, rules
                   ) -> pd.DataFrame:
    rows = mine.obs[mine.obs["level"].isin(levels) & usable(mine.obs)]
    if kpi is not None:
        rows = rows[rows["code"] == kpi]
    if headline:
        rows = rows[(rows["variant"] == "") & (rows["breakdown"] == "")]
    frames = []
    for key, g in rows.groupby(["cycle", "level", "code", "variant", "breakdown"]):
        f = _custom(g.reset_index(drop=True), who, custom, rules,
                    measure_direction(mine.fw, key[1], key[2]))
        for name, value in zip(("cycle", "level", "kpi", "variant", "breakdown"), key,
                               strict=True):
            f[name] = value
        frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=BENCH_COLUMNS)


# ---------------------------------------------------------------- scores


def scores(session: Session, who: Principal, year: int, *, member: str | None = None
           ) -> pd.DataFrame:
    """Scores per KPI, outcome and dimension that `who` may see (relative rules computed among
    the values it may see, for anyone but the Secretariat)."""
    if member is not None:
        member = member_record(member).iso3
    mine = pool(session, who, year, member=member)
    if mine.data is not None and who.sees_all:
        rows = mine.data.scores
        levels = mine.obs[["member", "level", "code", "disclosure", "validated"]]
    else:
        rows = mine.scored if mine.scored is not None else pd.DataFrame(columns=SCORE_COLUMNS)
        levels = mine.obs[["member", "level", "code", "disclosure", "validated"]]
    if member is not None:
        rows = rows[rows["member"] == member]
        if not len(rows) and member not in mine.submitted:
            raise PmmError(_("member {member}: no scored submission in cycle {year}").format(
                member=member, year=year))
    levels = levels[levels["level"] != "kpi"].replace({"level": {"kpi_score": "kpi"}})
    rows = rows.merge(levels.drop_duplicates(["member", "level", "code"]),
                      on=["member", "level", "code"], how="inner")
    rows = rows[visible(who, rows, cycle=year)]
    if member is not None and not len(rows):
        raise PermissionDenied(_("{user} may not see any score of {member} in cycle {year}")
                               .format(user=who.label, member=member, year=year))
    return rows[SCORE_COLUMNS].sort_values(["member", "level", "code"]).reset_index(drop=True)


# ---------------------------------------------------------------- gaps


def _own_rows(mine: Pool, member: str, who: Principal) -> pd.DataFrame:
    obs = mine.obs
    head = obs[(obs["member"] == member) & (obs["variant"] == "") & (obs["breakdown"] == "")]
    if not len(head) and member not in mine.submitted:
        raise PmmError(_("member {member}: no submission in cycle {year}").format(
            member=member, year=mine.year))
    head = head[visible(who, head)]
    if not len(head):
        raise PermissionDenied(_("{user} may not see any value of {member} in cycle {year}")
                               .format(user=who.label, member=member, year=mine.year))
    return head


def peer_references(session: Session, who: Principal, data: CycleData | Pool, member: str,
                    by: str) -> pd.DataFrame:
    """The member's peer references per KPI: the released median of its group, else the mean
    (for the Secretariat, its live working figures). `data`: the cycle, or the principal's pool
    (its peer groups are those of the release when it reads no live submission)."""
    if who.sees_all:
        obs = data.obs
        headline = obs[(obs["level"] == "kpi") & (obs["variant"] == "")
                       & (obs["breakdown"] == "")]
        bench = benchmark(headline, who, data.groups, fw=data.fw, by=[by], levels=("kpi",),
                          rules=rel_mod.current_rules(session))
    else:
        rel = rel_mod.latest(session, data.year)
        if rel is None:
            return pd.DataFrame(columns=["member", "kpi", "reference", "statistic",
                                         "grouping", "group", "n"])
        stats = rel_mod.statistics(session, rel, who.audience, levels=("kpi",))
        stats = stats[(stats["variant"] == "") & (stats["breakdown"] == "")
                      & (stats["grouping"] == by)]
        bench = stats.rename(columns={"code": "kpi"}).assign(level="kpi")
    peers = sec.peer_references(bench, data.groups, by)
    return peers[peers["member"] == member]


def member_gaps(session: Session, who: Principal, year: int, member: str, *,
                by: str = "region", catalogue: list[Support] | None = None,
                support_path: str | Path | None = None) -> pd.DataFrame:
    """The member's gaps in cycle `year`, ranked: its capacity-building plan."""
    member = member_record(member).iso3
    mine = pool(session, who, year, member=member)
    catalogue = catalogue or load_support(support_path, fw=mine.fw)
    head = _own_rows(mine, member, who)
    current = sec._current(head)
    peers = peer_references(session, who, mine, member, by)
    prev_rows, prev_year, breaking = None, previous_year(session, year), set()
    if prev_year is not None:
        previous = pool(session, who, prev_year)
        p = previous.obs[(previous.obs["member"] == member) & (previous.obs["level"] == "kpi")
                         & (previous.obs["variant"] == "") & (previous.obs["breakdown"] == "")]
        prev_rows = p[visible(who, p)].rename(columns={"code": "kpi"})
        breaking = _of_frameworks("diff", previous.fw, mine.fw,
                                  lambda: diff(previous.fw, mine.fw)).breaking_kpis()
    return gaps_mod.find_gaps(mine.fw, year, current, peers=peers, previous=prev_rows,
                              previous_cycle=prev_year, not_comparable=breaking,
                              catalogue=catalogue)


# ---------------------------------------------------------------- Secretariat views


def participation(session: Session, who: Principal, year: int) -> pd.DataFrame:
    """Participation and critical mass of cycle `year` (Secretariat)."""
    require(who, "secretariat_views")
    data = load_cycle(session, year)
    return sec.participation(data.tables.submissions, who,
                             min_n=rel_mod.current_rules(session).min_n)


def coverage(session: Session, who: Principal, year: int) -> pd.DataFrame:
    """KPI coverage of cycle `year` (Secretariat)."""
    require(who, "secretariat_views")
    data = load_cycle(session, year)
    return sec.coverage(data.obs, data.fw, who, year)


def demand(session: Session, who: Principal, year: int, *, by: str = "region",
           support_path: str | Path | None = None, across: str = "region"
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Capacity-building demand of cycle `year` by region (or income group: `across`) and
    outcome, and all gaps (Secretariat). `by`: the peer grouping of the gaps' references."""
    require(who, "secretariat_views")
    data = load_cycle(session, year)
    catalogue = load_support(support_path, fw=data.fw)
    kpi_obs = data.obs[(data.obs["level"] == "kpi") & (data.obs["variant"] == "")
                       & (data.obs["breakdown"] == "")]
    bench = benchmark(kpi_obs, who, data.groups, fw=data.fw, by=[by], levels=("kpi",),
                      rules=rel_mod.current_rules(session))
    prev_year = previous_year(session, year)
    prev_obs, breaking = None, set()
    if prev_year is not None:
        prev = load_cycle(session, prev_year)
        prev_obs = prev.obs
        breaking = diff(prev.fw, data.fw).breaking_kpis()
    return sec.demand(data.obs, data.fw, who, year, bench, data.groups, catalogue, by=by,
                      previous=prev_obs, previous_cycle=prev_year, not_comparable=breaking,
                      across=across)


# ---------------------------------------------------------------- SDGs, trends, what-if


def sdg(session: Session, who: Principal, year: int, *, member: str | None = None,
        by: str = "region") -> pd.DataFrame:
    """SDG contribution: a member's SDG scores (with `member`), else the group figures."""
    if member is not None:
        code = member_record(member).iso3
        mine = pool(session, who, year, member=code)
        rows = sdg_member(mine.obs, mine.fw, who)
        rows = rows[rows["member"] == code]
        if not len(rows):
            raise PermissionDenied(_("{user} may not see any SDG score of {member} in cycle "
                                     "{year}").format(user=who.label, member=code, year=year))
        return rows.reset_index(drop=True)
    if who.sees_all:
        data = load_cycle(session, year)
        return sdg_benchmark(data.obs, data.fw, who, data.groups, by=[by],
                             rules=rel_mod.current_rules(session))
    return benchmarks(session, who, year, by=by, levels=("sdg_target", "sdg_goal"))


def trends(session: Session, who: Principal, year: int, *, since: int | None = None,
           member: str | None = None, by: str = "region",
           levels: tuple[str, ...] = BENCHMARK_LEVELS) -> pd.DataFrame:
    """Change from cycle `since` (default: the previous one) to `year`, per member (with
    `member`) or per group, flagged where the framework broke comparability."""
    since = since if since is not None else previous_year(session, year)
    if since is None:
        raise PmmError(_("cycle {year}: there is no earlier cycle to compare with").format(
            year=year))
    if since >= year:
        raise PmmError(_("cycle {since}: expected a cycle before {year}").format(
            since=since, year=year))
    code = member_record(member).iso3 if member is not None else None
    old, new = pool(session, who, since, member=code), pool(session, who, year, member=code)
    comp = _of_frameworks("comparability", old.fw, new.fw,
                          lambda: comparability(old.fw, new.fw))
    if code is not None:
        obs = pd.concat([o[(o["member"] == code) & (o["variant"] == "") & (o["breakdown"] == "")]
                         for o in (old.obs, new.obs)], ignore_index=True)
        rows = member_trends(obs, who, since, year, comp, new.fw)
        return rows[rows["level"].isin(levels)].reset_index(drop=True)
    if who.sees_all:
        obs = pd.concat([old.obs, new.obs], ignore_index=True)
        obs = obs[(obs["variant"] == "") & (obs["breakdown"] == "")]
        groups = pd.concat([old.groups, new.groups], ignore_index=True)
        return group_trends(obs, who, groups, since, year, comp, fw=new.fw, by=[by],
                            levels=levels, rules=rel_mod.current_rules(session))
    a = benchmarks(session, who, since, by=by, levels=levels)
    b = benchmarks(session, who, year, by=by, levels=levels)
    return compare_statistics(a, b, comp, since, year)


def whatif(session: Session, who: Principal, year: int, member: str,
           changes: Mapping[str, float] | list[str], *, by: str = "region") -> WhatIf:
    """Effect of changing some of `member`'s values on its scores and gaps; nothing is saved.

    Only someone who may read the member's whole submission (the member itself, an assigned peer
    reviewer or the Secretariat) may run it; the other members' values are those the principal
    may see (so relative scores move only against values it already knows)."""
    code = member_record(member).iso3
    require(who, "whatif", member=code, year=year)
    mine = pool(session, who, year, member=code)
    if mine.data is None or code not in set(mine.values["member"]):
        raise PmmError(_("member {member}: no KPI values in cycle {year}").format(
            member=code, year=year))
    catalogue = load_support(fw=mine.fw)
    peers = peer_references(session, who, mine, code, by)

    def gaps_of(rows: pd.DataFrame) -> pd.DataFrame:
        return gaps_mod.find_gaps(mine.fw, year, sec._current(rows), peers=peers,
                                  catalogue=catalogue)

    tables = mine.data.tables
    scored = sorted(set(mine.values["member"]))
    return whatif_core(mine.fw, year, code, mine.values, changes, items=tables.values,
                       statuses=tables.kpis[["member", "kpi", "status", "note"]],
                       scored=scored, gaps=gaps_of)
