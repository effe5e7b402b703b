"""A member's results as the web shows them: scores, peer groups, trends, gaps, all through the
analysis API (`pmm.analysis.api`) as the signed-in user may read them.

Anyone but the Secretariat reads the latest release of the cycle (the member's own values, the
other members' values it may see and the statistics released to its audience); the Secretariat
reads the live cycle (the API's working view). Nothing here filters data on its own: the API and
the policy decide, this module only arranges the frames into tables and charts.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from pmm.access import Principal
from pmm.analysis import api
from pmm.analysis import release as rel_mod
from pmm.analysis.load import data_digest, previous_year
from pmm.analysis.memo import Memo, database_of
from pmm.analysis.support import Support, load_support
from pmm.assessment.cycles import framework_of, get_cycle
from pmm.conventions import neutralise_row
from pmm.errors import NotFound, PermissionDenied, PmmError
from pmm.framework.model import Framework
from pmm.i18n import _, use_locale
from pmm.members import INCOME_GROUPS, REGIONS
from pmm.members import member as member_record
from pmm.publish import charts as specs
from pmm.web import charts

LEVELS = ("kpi", "outcome", "dimension")
# the peer groups a member is compared with, in the page's order
PEERS = ("region", "income", "global")


def number(value: Any) -> str:
    """A figure as pages show it: at most two decimals, nothing for a missing or withheld one."""
    if value is None:
        return ""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        return ""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def group_label(grouping: str, group: str, lang: str) -> str:
    """A peer group's name in the reader's language (WCO region, income group, all members)."""
    if grouping == "region" and group in REGIONS:
        return REGIONS[group].get(lang)
    if grouping == "income" and group in INCOME_GROUPS:
        return INCOME_GROUPS[group].get(lang)
    if grouping == "global":
        return _("All members, each region counting once") if group == "balanced" \
            else _("All members")
    return group


@dataclass
class Chart:
    """A rendered chart, its title and the id of the table that gives the same figures."""

    svg: Any
    title: str
    table: str


@dataclass
class MemberResults:
    year: int
    member: str
    name: str
    region: str
    income: str
    release: int
    released_on: str
    live: bool  # the Secretariat's view: live working figures, not the release
    dimensions: list[dict] = field(default_factory=list)
    kpis: list[dict] = field(default_factory=list)
    trends: list[dict] = field(default_factory=list)
    trend_note: str = ""
    previous: int | None = None
    gaps: list[dict] = field(default_factory=list)
    gap_note: str = ""
    support_note: str = ""
    support: list[dict] = field(default_factory=list)
    charts: dict[str, Chart] = field(default_factory=dict)
    peer_names: dict[str, str] = field(default_factory=dict)


def released_members(session: Session, years: set[int]) -> dict[int, frozenset[str]]:
    """The members in the latest release of each of `years` (a cycle without one is left out)."""
    out: dict[int, frozenset[str]] = {}
    for year in years:
        rel = rel_mod.latest(session, year)
        if rel is not None:
            out[year] = frozenset(rel_mod.snapshot(rel)[0]["member"])
    return out


def _in_release(session: Session, year: int, code: str) -> rel_mod.Release:
    rel = rel_mod.require_latest(session, year)
    obs, _groups = rel_mod.snapshot(rel)
    if code not in set(obs["member"]):
        raise NotFound(_("member {member} is not in release {release} of cycle {year}: only "
                         "validated submissions are released").format(
            member=code, release=rel.number, year=year))
    return rel


def _peer_rows(frames: dict[str, pd.DataFrame], groups: dict[str, str]) -> dict[tuple, dict]:
    """(level, code, grouping) → the statistic of the member's own group."""
    out: dict[tuple, dict] = {}
    for by, frame in frames.items():
        for grouping in (by, "global"):
            rows = frame[(frame["grouping"] == grouping) & (frame["group"] == groups[grouping])
                         & (frame["variant"] == "") & (frame["breakdown"] == "")]
            for r in rows.itertuples(index=False):
                out[(r.level, r.kpi, grouping)] = r._asdict()
    return out


# A member's page is derived from the two cycles' data and latest releases (trends read the
# previous cycle), who reads it and the language: kept per process under exactly those inputs,
# read again in each request (`pmm.analysis.memo`), so a page asked again costs a few queries.
# "Who" is the reader's audience, not the user: the policy (`pmm.access`) reads a principal's
# role, member and assigned reviews, and its user name only to name it in messages, none of
# which the page keeps (`_trends`, `_gaps`), so two users alike share one page.
_PAGES: Memo[MemberResults] = Memo(256)


def _inputs(session: Session, year: int | None) -> tuple | None:
    if year is None:
        return None
    rel = rel_mod.latest(session, year)
    return (year, data_digest(session, year), rel_mod.identity(rel) if rel is not None else None)


def member_results(session: Session, who: Principal, year: int, code: str, lang: str
                   ) -> MemberResults:
    """Everything the member's results page shows, read through the analysis API as `who`
    (shared between requests: callers only read it)."""
    key = (database_of(session), code, lang, who.role, who.member, who.assigned,
           _inputs(session, year), _inputs(session, previous_year(session, year)),
           rel_mod.current_rules(session) if who.sees_all else None)
    return _PAGES.get(key, lambda: _in_language(session, who, year, code, lang))


def _in_language(session: Session, who: Principal, year: int, code: str, lang: str
                 ) -> MemberResults:
    with use_locale(lang):  # every word of the page, reasons computed below included
        return _member_results(session, who, year, code, lang)


def _member_results(session: Session, who: Principal, year: int, code: str, lang: str
                    ) -> MemberResults:
    rel = _in_release(session, year, code)
    fw = framework_of(get_cycle(session, year))
    rec = member_record(code)
    groups = {"region": rec.region, "income": rec.income_group, "global": "all"}
    out = MemberResults(
        year, code, rec.name_fr if lang == "fr" else rec.name_en,
        group_label("region", rec.region, lang), group_label("income", rec.income_group, lang),
        rel.number, rel.created_at.strftime("%Y-%m-%d"), who.sees_all,
        peer_names={g: group_label(g, groups[g], lang) for g in PEERS})
    scores = api.scores(session, who, year, member=code)
    frames = {by: api.benchmarks(session, who, year, by=by, levels=LEVELS)
              for by in ("region", "income")}
    peers = _peer_rows(frames, groups)
    _scores(out, fw, scores, peers, lang)
    _kpis(out, fw, scores, peers, lang)
    _trends(out, session, who, fw, year, code, lang)
    _gaps(out, session, who, fw, year, code, lang)
    return out


def _score_of(scores: pd.DataFrame, level: str) -> dict[str, Any]:
    return {r.code: r for r in scores[scores["level"] == level].itertuples(index=False)}


def _scores(out: MemberResults, fw: Framework, scores: pd.DataFrame, peers: dict,
            lang: str) -> None:
    dims = _score_of(scores, "dimension")
    outs = _score_of(scores, "outcome")
    chart_rows = []
    for d in fw.dimensions:
        outcomes = []
        for o in fw.outcomes_of_dimension(d.code):
            s = outs.get(o.code)
            outcomes.append(_score_row(o.code, o.name.get(lang), s, peers, "outcome"))
        row = _score_row(d.code, d.name.get(lang), dims.get(d.code), peers, "dimension")
        row["outcomes"] = outcomes
        out.dimensions.append(row)
        if row["score"] is not None:
            chart_rows.append({"name": row["name"], "score": row["score"],
                               "peer": row["region_mean"]})
    if chart_rows:
        title = _("Dimension scores (bars) and the mean of the region (ticks)")
        out.charts["dimensions"] = Chart(_draw(specs.dimension_scores(chart_rows, title)),
                                         title, "scores")


def _draw(spec: specs.Spec) -> Any:
    """The chart as inline SVG, its axis and legend labels whole: the page's chart widens a
    little instead of cutting names short (finding where to cut, a text measure per letter, was
    two thirds of drawing it: ~120 ms of the dimension chart, ~40 ms left). Its title is the
    figure's caption on the page, so the drawing leaves it out (another quarter)."""
    whole = {"labelLimit": 0}
    spec = {k: v for k, v in spec.items() if k != "title"}
    spec["config"] = {**spec.get("config", {}), "axis": whole, "legend": whole}
    if "layer" in spec:
        spec["layer"] = [_whole_labels(layer) for layer in spec["layer"]]
    return charts.svg(spec)


def _whole_labels(layer: dict) -> dict:
    encoding = layer.get("encoding", {})
    axis = encoding.get("y", {}).get("axis")
    if not isinstance(axis, dict) or "labelLimit" not in axis:
        return layer
    y = {**encoding["y"], "axis": {**axis, "labelLimit": 0}}
    return {**layer, "encoding": {**encoding, "y": y}}


def _score_row(code: str, name: str, s: Any, peers: dict, level: str) -> dict:
    score = None if s is None or not math.isfinite(float(s.score)) else float(s.score)
    region = peers.get((level, code, "region"), {})
    glob = peers.get((level, code, "global"), {})
    return {"code": code, "name": name, "score": score,
            "grade": "" if s is None else str(s.grade or ""),
            "status": "" if s is None else str(s.status),
            "region_mean": _finite(region.get("mean")),
            "global_mean": _finite(glob.get("mean"))}


def _finite(value: Any) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)


def _kpis(out: MemberResults, fw: Framework, scores: pd.DataFrame, peers: dict,
          lang: str) -> None:
    kpis = _score_of(scores, "kpi")
    dist = []
    for k in fw.kpis:
        s = kpis.get(k.code)
        if s is None:
            continue  # not a value this reader may see
        value = float(s.value) if s.status == "ok" and math.isfinite(float(s.value)) else None
        groups = []
        for grouping in PEERS:
            p = peers.get(("kpi", k.code, grouping))
            if p is None:
                groups.append({"grouping": grouping, "name": out.peer_names[grouping],
                               "n": "", "q1": None, "median": None, "q3": None,
                               "mean": None, "position": None, "note": ""})
                continue
            groups.append({"grouping": grouping, "name": out.peer_names[grouping],
                           "n": int(p["n"]), "q1": p["q1"], "median": p["median"],
                           "q3": p["q3"], "mean": p["mean"], "position": p["position"],
                           "note": p["reason"] or ""})
        row = {"code": k.code, "name": k.name.get(lang), "unit": k.unit, "value": value,
               "score": float(s.score) if math.isfinite(float(s.score)) else None,
               "status": str(s.status), "reason": str(s.reason or ""), "groups": groups}
        out.kpis.append(row)
        region = groups[0]
        if value is not None and k.unit in ("percent", "score") \
                and region["median"] is not None and math.isfinite(region["median"]):
            dist.append({"name": k.code, "q1": region["q1"], "median": region["median"],
                         "q3": region["q3"], "value": value})
    if dist:
        title = _("KPI values (dots) against the quartiles (bars) and median (ticks) of the "
                  "region, for KPIs in percent")
        out.charts["kpis"] = Chart(_draw(specs.distribution(dist, title)), title, "kpis")


def _trends(out: MemberResults, session: Session, who: Principal, fw: Framework, year: int,
            code: str, lang: str) -> None:
    try:
        frame = api.trends(session, who, year, member=code, levels=LEVELS)
    except PermissionDenied:  # its message names the user: the page is shared by its audience
        out.trend_note = _("You may not see values of {member} to compare.").format(member=code)
        return
    except PmmError as exc:  # no earlier cycle, or nothing of the member in it
        out.trend_note = str(exc)
        return
    names = {("dimension", d.code): d.name.get(lang) for d in fw.dimensions}
    names |= {("outcome", o.code): o.name.get(lang) for o in fw.outcomes}
    names |= {("kpi", k.code): k.name.get(lang) for k in fw.kpis}
    order = {lv: i for i, lv in enumerate(("dimension", "outcome", "kpi"))}
    frame = frame.assign(order=frame["level"].map(order)).sort_values(["order", "code"])
    chart_rows = []
    for r in frame.itertuples(index=False):
        out.previous = int(r.cycle_from)
        out.trends.append({
            "level": r.level, "code": r.code, "name": names.get((r.level, r.code), r.code),
            "from": r.value_from, "to": r.value_to, "change": r.change,
            "better": None if pd.isna(r.better) else bool(r.better),
            "comparable": bool(r.comparable), "reason": str(r.reason or "")})
        if r.level == "dimension":
            for cycle, value in ((r.cycle_from, r.value_from), (r.cycle_to, r.value_to)):
                chart_rows.append({"cycle": int(cycle), "value": value,
                                   "series": names[("dimension", r.code)]})
    if not out.trends:
        out.trend_note = _("No value of {member} can be compared with the previous cycle.") \
            .format(member=code)
    if chart_rows:
        title = _("Dimension scores, previous cycle and this one")
        out.charts["trends"] = Chart(_draw(specs.trend(chart_rows, title)), title,
                                     "trends")


def _gaps(out: MemberResults, session: Session, who: Principal, fw: Framework, year: int,
          code: str, lang: str) -> None:
    try:
        catalogue = load_support(fw=fw)
    except PmmError:  # the shipped catalogue names another framework's tools and outcomes
        catalogue = load_support()
        out.support_note = _("The capacity-building catalogue was written for another "
                             "framework than {fw}: only its entries that match are shown.") \
            .format(fw=fw.id)
    try:
        frame = api.member_gaps(session, who, year, code, catalogue=catalogue)
    except PermissionDenied:  # as in `_trends`: no user name in a shared page
        out.gap_note = _("You may not see the values of {member} its gaps are found from.") \
            .format(member=code)
        return
    except PmmError as exc:
        out.gap_note = str(exc)
        return
    kinds = {"target": _("below the target"), "peer": _("behind the peer group"),
             "trend": _("worse than in the previous cycle"), "missing": _("no value")}
    used: list[str] = []
    for r in frame.itertuples(index=False):
        codes = [c for c in str(r.support or "").split("; ") if c]
        used += [c for c in codes if c not in used]
        out.gaps.append({"rank": int(r.rank), "kpi": r.kpi, "name": r.kpi_name,
                         "gap": kinds.get(r.gap, r.gap), "value": r.value,
                         "reference": r.reference, "evidence": r.evidence,
                         "priority": r.priority, "tools": r.tool_names or "",
                         "support": codes})
    by_code: dict[str, Support] = {s.code: s for s in catalogue}
    out.support = [{"code": c, "name": by_code[c].name.get(lang),
                    "description": by_code[c].description.get(lang),
                    "provider": by_code[c].provider.get(lang), "kind": by_code[c].kind}
                   for c in used if c in by_code]
    names = {s["code"]: s["name"] for s in out.support}
    for g in out.gaps:
        g["support"] = [(c, names.get(c, c)) for c in g["support"]]


# ---------------------------------------------------------------- the member's values as CSV

CSV_COLUMNS = ["cycle", "release", "member", "level", "code", "name", "value", "unit", "score",
               "status", "reason"] + [f"{g}_{c}" for g in PEERS
                                      for c in ("group", "n", "q1", "median", "q3", "mean",
                                                "position")]


def values_csv(results: MemberResults) -> str:
    """The page's scores and KPI values with their peer statistics, one row per measure."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    head = [results.year, results.release, results.member]
    for d in results.dimensions:
        for row, level in [(d, "dimension"), *[(o, "outcome") for o in d["outcomes"]]]:
            peers = {"region": row["region_mean"], "income": None,
                     "global": row["global_mean"]}
            cells = [*head, level, row["code"], row["name"], "", "", _raw(row["score"]),
                     row["status"], ""]
            for g in PEERS:
                known = peers[g] is not None
                cells += [results.peer_names[g] if known else "", "", "", "", "",
                          _raw(peers[g]), ""]
            writer.writerow(neutralise_row(cells))
    for k in results.kpis:
        cells = [*head, "kpi", k["code"], k["name"], _raw(k["value"]), k["unit"],
                 _raw(k["score"]), k["status"], k["reason"]]
        for g in k["groups"]:
            cells += [g["name"], g["n"], _raw(g["q1"]), _raw(g["median"]), _raw(g["q3"]),
                      _raw(g.get("mean")), _raw(g["position"])]
        writer.writerow(neutralise_row(cells))
    return buffer.getvalue()


def _raw(value: Any) -> Any:
    if value is None:
        return ""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return value
    return repr(x) if math.isfinite(x) else ""
