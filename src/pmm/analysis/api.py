"""The analysis as Python functions over the database, each returning DataFrames.

Each function loads what it needs (`load.load_cycle`), resolves the viewer, and calls the pure
functions of this package; the CLI is a thin shell over these.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from pmm.analysis import gaps as gaps_mod
from pmm.analysis import secretariat as sec
from pmm.analysis.benchmark import benchmark
from pmm.analysis.disclosure import Viewer, visible
from pmm.analysis.load import CycleData, load_cycle, previous_year, resolve_viewer
from pmm.analysis.observations import BENCHMARK_LEVELS
from pmm.analysis.sdc import Rules
from pmm.analysis.sdg import sdg_benchmark, sdg_member
from pmm.analysis.support import Support, load_support
from pmm.analysis.trends import comparability, group_trends, member_trends
from pmm.analysis.whatif import WhatIf
from pmm.analysis.whatif import whatif as whatif_core
from pmm.errors import PermissionDenied, PmmError
from pmm.framework.diff import diff
from pmm.i18n import _
from pmm.members import member as member_record


def benchmarks(year: int, viewer: Viewer, *, by: str = "region", kpi: str | None = None,
               levels: tuple[str, ...] = ("kpi",), headline: bool = True,
               rules: Rules | None = None, custom: Mapping[str, list[str]] | None = None,
               database_url: str | None = None) -> pd.DataFrame:
    """Benchmarks of cycle `year` for `viewer` (see `benchmark.benchmark`)."""
    viewer = resolve_viewer(viewer, database_url)
    data = load_cycle(year, database_url)
    obs = data.obs
    if kpi is not None:
        known = set(obs.loc[obs["level"].isin(levels), "code"]) | {k.code for k in data.fw.kpis}
        if kpi not in known:
            raise PmmError(_("--kpi {value!r}: not a KPI (or score code) of {fw}").format(
                value=kpi, fw=data.fw.id))
        obs = obs[obs["code"] == kpi]
    if headline:
        obs = obs[(obs["variant"] == "") & (obs["breakdown"] == "")]
    return benchmark(obs, viewer, data.groups, fw=data.fw, by=[by], levels=levels, rules=rules,
                     custom=custom)


SCORE_COLUMNS = ["member", "level", "code", "value", "score", "grade", "status", "reason"]


def scores(year: int, viewer: Viewer, *, member: str | None = None,
           database_url: str | None = None) -> pd.DataFrame:
    """Scores per KPI, outcome and dimension that `viewer` may see.

    Validated submissions are scored among themselves; a `member` whose submission is not
    validated yet is scored against the same peers. A score carries the disclosure of the
    KPIs under it (the most restrictive).
    """
    viewer = resolve_viewer(viewer, database_url)
    if member is not None:
        member = member_record(member).iso3
    data = load_cycle(year, database_url, member=member)
    rows = data.scores
    if member is not None:
        rows = rows[rows["member"] == member]
        if not len(rows):
            raise PmmError(_("--member {member}: no scored submission in cycle {year}").format(
                member=member, year=year))
    levels = data.obs[["member", "level", "code", "disclosure", "validated"]]
    levels = levels[levels["level"] != "kpi"].replace({"level": {"kpi_score": "kpi"}})
    rows = rows.merge(levels.drop_duplicates(["member", "level", "code"]),
                      on=["member", "level", "code"], how="left")
    rows["disclosure"] = rows["disclosure"].fillna("restricted")
    rows["validated"] = rows["validated"].fillna(False).astype(bool)
    rows = rows[visible(viewer, rows, cycle=year)]
    if member is not None and not len(rows):
        raise PermissionDenied(_("viewer {viewer} may not see any value of {member} in cycle "
                                 "{year}").format(viewer=viewer.label, member=member, year=year))
    return rows[SCORE_COLUMNS].reset_index(drop=True)


def _own_rows(data: CycleData, member: str, viewer: Viewer) -> pd.DataFrame:
    head = data.obs[(data.obs["member"] == member) & (data.obs["variant"] == "")
                    & (data.obs["breakdown"] == "")]
    if not len(head):
        raise PmmError(_("--member {member}: no submission in cycle {year}").format(
            member=member, year=data.year))
    head = head[visible(viewer, head)]
    if not len(head):
        raise PermissionDenied(_("viewer {viewer} may not see any value of {member} in cycle "
                                 "{year}").format(viewer=viewer.label, member=member,
                                                  year=data.year))
    return head


def member_gaps(year: int, member: str, viewer: Viewer | None = None, *, by: str = "region",
                rules: Rules | None = None, catalogue: list[Support] | None = None,
                support_path: str | Path | None = None,
                database_url: str | None = None) -> pd.DataFrame:
    """The member's gaps in cycle `year`, ranked: its capacity-building plan."""
    member = member_record(member).iso3
    viewer = resolve_viewer(viewer or Viewer("ncp", member=member), database_url)
    data = load_cycle(year, database_url, member=member)
    catalogue = catalogue or load_support(support_path, fw=data.fw)
    return _gaps(data, member, viewer, by, rules, catalogue, database_url)


def _peer_references(data: CycleData, viewer: Viewer, member: str, by: str,
                     rules: Rules | None) -> pd.DataFrame:
    """The member's peer-group references (medians the viewer may receive) for each KPI."""
    obs = data.obs
    headline = obs[(obs["level"] == "kpi") & (obs["variant"] == "") & (obs["breakdown"] == "")]
    bench = benchmark(headline, viewer, data.groups, fw=data.fw, by=[by], levels=("kpi",),
                      rules=rules)
    peers = sec.peer_references(bench, data.groups, by)
    return peers[peers["member"] == member]


def _gaps(data: CycleData, member: str, viewer: Viewer, by: str, rules: Rules | None,
          catalogue: list[Support], database_url: str | None,
          previous: CycleData | None = None) -> pd.DataFrame:
    head = _own_rows(data, member, viewer)
    current = sec._current(head)
    peers = _peer_references(data, viewer, member, by, rules)
    prev_rows, prev_year, breaking = None, None, set()
    if previous is None:
        prev_year = previous_year(data.year, database_url)
        if prev_year is not None:
            previous = load_cycle(prev_year, database_url)
    if previous is not None:
        prev_year = previous.year
        p = previous.obs[(previous.obs["member"] == member) & (previous.obs["level"] == "kpi")
                         & (previous.obs["variant"] == "") & (previous.obs["breakdown"] == "")]
        prev_rows = p[visible(viewer, p)].rename(columns={"code": "kpi"})
        breaking = diff(previous.fw, data.fw).breaking_kpis()
    return gaps_mod.find_gaps(data.fw, data.year, current, peers=peers, previous=prev_rows,
                              previous_cycle=prev_year, not_comparable=breaking,
                              catalogue=catalogue)


def participation(year: int, viewer: Viewer, *, rules: Rules | None = None,
                  database_url: str | None = None) -> pd.DataFrame:
    """Participation and critical mass of cycle `year` (Secretariat)."""
    sec.require_secretariat(viewer, _("participation"))
    data = load_cycle(year, database_url)
    return sec.participation(data.tables.submissions, viewer,
                             min_n=(rules or Rules()).min_n)


def coverage(year: int, viewer: Viewer, *, database_url: str | None = None) -> pd.DataFrame:
    """KPI coverage of cycle `year` (Secretariat)."""
    sec.require_secretariat(viewer, _("KPI coverage"))
    data = load_cycle(year, database_url)
    return sec.coverage(data.obs, data.fw, viewer, year)


def demand(year: int, viewer: Viewer, *, by: str = "region", rules: Rules | None = None,
           support_path: str | Path | None = None, database_url: str | None = None
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Capacity-building demand of cycle `year` by region and outcome, and all gaps
    (Secretariat)."""
    sec.require_secretariat(viewer, _("capacity-building demand"))
    data = load_cycle(year, database_url)
    catalogue = load_support(support_path, fw=data.fw)
    kpi_obs = data.obs[(data.obs["level"] == "kpi") & (data.obs["variant"] == "")
                       & (data.obs["breakdown"] == "")]
    bench = benchmark(kpi_obs, viewer, data.groups, fw=data.fw, by=[by], levels=("kpi",),
                      rules=rules)
    prev_year = previous_year(year, database_url)
    prev_obs, breaking = None, set()
    if prev_year is not None:
        prev = load_cycle(prev_year, database_url)
        prev_obs = prev.obs
        breaking = diff(prev.fw, data.fw).breaking_kpis()
    return sec.demand(data.obs, data.fw, viewer, year, bench, data.groups, catalogue, by=by,
                      previous=prev_obs, previous_cycle=prev_year, not_comparable=breaking)


def sdg(year: int, viewer: Viewer, *, member: str | None = None, by: str = "region",
        rules: Rules | None = None, database_url: str | None = None) -> pd.DataFrame:
    """SDG contribution: a member's SDG scores (with `member`), else the group aggregates."""
    viewer = resolve_viewer(viewer, database_url)
    data = load_cycle(year, database_url, member=member)
    if member is not None:
        code = member_record(member).iso3
        rows = sdg_member(data.obs, data.fw, viewer)
        rows = rows[rows["member"] == code]
        if not len(rows):
            raise PermissionDenied(_("viewer {viewer} may not see any SDG score of {member} in "
                                     "cycle {year}").format(viewer=viewer.label, member=code,
                                                            year=year))
        return rows.reset_index(drop=True)
    return sdg_benchmark(data.obs, data.fw, viewer, data.groups, by=[by], rules=rules)


def trends(year: int, viewer: Viewer, *, since: int | None = None, member: str | None = None,
           by: str = "region", levels: tuple[str, ...] = BENCHMARK_LEVELS,
           rules: Rules | None = None, database_url: str | None = None) -> pd.DataFrame:
    """Change from cycle `since` (default: the previous one) to `year`, per member (with
    `member`) or per group, flagged where the framework broke comparability."""
    viewer = resolve_viewer(viewer, database_url)
    since = since if since is not None else previous_year(year, database_url)
    if since is None:
        raise PmmError(_("--cycle {year}: there is no earlier cycle to compare with").format(
            year=year))
    if since >= year:
        raise PmmError(_("--since {since}: expected a cycle before {year}").format(
            since=since, year=year))
    old = load_cycle(since, database_url, member=member)
    new = load_cycle(year, database_url, member=member)
    comp = comparability(old.fw, new.fw)
    obs = pd.concat([old.obs, new.obs], ignore_index=True)
    obs = obs[(obs["variant"] == "") & (obs["breakdown"] == "")]
    if member is not None:
        code = member_record(member).iso3
        rows = member_trends(obs[obs["member"] == code], viewer, since, year, comp, new.fw)
        return rows[rows["level"].isin(levels)].reset_index(drop=True)
    groups = pd.concat([old.groups, new.groups], ignore_index=True)
    return group_trends(obs, viewer, groups, since, year, comp, fw=new.fw, by=[by],
                        levels=levels, rules=rules)


def whatif(year: int, member: str, changes: Mapping[str, float] | list[str],
           viewer: Viewer | None = None, *, by: str = "region", rules: Rules | None = None,
           database_url: str | None = None) -> WhatIf:
    """Effect of changing some of `member`'s values on its scores and gaps; nothing is saved.

    Only someone who may see all of the member's data (the member itself, an assigned peer
    reviewer or the Secretariat) may run it."""
    code = member_record(member).iso3
    viewer = resolve_viewer(viewer or Viewer("ncp", member=code), database_url)
    data = load_cycle(year, database_url, member=code)
    mine = data.obs[data.obs["member"] == code]
    if not len(mine) or not visible(viewer, mine).all():
        raise PermissionDenied(_("viewer {viewer} may not see all of {member}'s data: what-if "
                                 "needs it").format(viewer=viewer.label, member=code))
    catalogue = load_support(fw=data.fw)
    peers = _peer_references(data, viewer, code, by, rules)

    def gaps_of(rows: pd.DataFrame) -> pd.DataFrame:
        return gaps_mod.find_gaps(data.fw, year, sec._current(rows), peers=peers,
                                  catalogue=catalogue)

    validated = sorted(set(data.obs.loc[data.obs["validated"], "member"]))
    return whatif_core(data.fw, year, code, data.values, changes, items=data.tables.values,
                       statuses=data.tables.kpis[["member", "kpi", "status", "note"]],
                       scored=validated, gaps=gaps_of)
