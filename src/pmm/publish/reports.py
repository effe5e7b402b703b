"""Reports as HTML and PDF: member profiles, peer-review reports, the global and regional reports.

Each report is assembled from a release as its reader may read it (`source.read`): the member's
values through the policy, peer statistics released to the reader's audience. The templates are
Jinja2 (`templates/`), the PDF is WeasyPrint with the charts embedded as SVG (rendered by
vl-convert; WeasyPrint runs no JavaScript). The language is chosen per call (`lang`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from pmm import i18n
from pmm.access import Principal, may_read_submission
from pmm.analysis import api
from pmm.analysis.sdg import sdg_mapping
from pmm.assessment.cycles import framework_of, get_cycle
from pmm.assessment.review import findings
from pmm.errors import NotFound, PermissionDenied, PmmError
from pmm.i18n import _
from pmm.members import INCOME_GROUPS, REGIONS
from pmm.members import member as member_record
from pmm.publish import charts
from pmm.publish.source import ReleaseView, member_name, previous, read
from pmm.publish.tables import disclosure_label, indicator_name, status_label
from pmm.store.models import Submission


def official() -> str:
    return _("computed by customs-pmm; not an official WCO rating")


@contextmanager
def use_locale(lang: str | None) -> Iterator[str]:
    """`lang` for the duration of one report; without one, the caller's language stays (unlike
    `pmm.i18n.use_locale(None)`, which falls back to PMM_LANG or English)."""
    with i18n.use_locale(lang or i18n.language()) as chosen:
        yield chosen


def _env() -> Environment:
    env = Environment(loader=PackageLoader("pmm.publish", "templates"),
                      autoescape=select_autoescape(["html"]))
    env.globals["_"] = _
    env.filters["num"] = number
    return env


def number(value: Any, digits: int = 1) -> str:
    """A number for a report ("–" when missing)."""
    if value is None:
        return "–"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(x):
        return "–"
    text = f"{x:,.{digits}f}"
    if i18n.language() == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def _svg(spec: dict) -> Markup:
    return Markup(charts.to_svg(spec))  # produced by vl-convert from our own data


def render_html(template: str, context: dict[str, Any]) -> str:
    return _env().get_template(template).render(**context)


def to_pdf(html: str) -> bytes:
    from weasyprint import HTML  # heavy (pango): loaded only when a PDF is made

    return HTML(string=html).write_pdf()


def _common(view: ReleaseView, lang: str) -> dict[str, Any]:
    return {"lang": lang, "year": view.year, "release": view.number, "framework": view.fw.id,
            "audience": disclosure_label(view.audience), "reader": view.who.label,
            "official": official(),
            "made": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}


# ---------------------------------------------------------------- member profile


def _headline(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[(frame["variant"] == "") & (frame["breakdown"] == "")]


def profile(session: Session, who: Principal, year: int, member: str, *,
            number_: int | None = None, lang: str | None = None) -> str:
    """A member's profile as HTML, as `who` may read it."""
    with use_locale(lang) as lang:
        view = read(session, who, year, number_)
        code = member_record(member).iso3
        if code not in view.members:
            raise NotFound(_("member {member} is not in release {release} of cycle {year}")
                           .format(member=code, release=view.number, year=year))
        mine = _headline(view.obs[view.obs["member"] == code])
        if not len(mine):
            raise PermissionDenied(_("{user} may not see any value of {member} in release "
                                     "{release} of cycle {year}").format(
                user=who.label, member=code, release=view.number, year=year))
        return render_html("profile.html", _profile_context(session, view, code, mine, lang))


def _profile_context(session: Session, view: ReleaseView, code: str, mine: pd.DataFrame,
                     lang: str) -> dict[str, Any]:
    fw = view.fw
    rec = member_record(code)
    region = rec.region
    stats = _headline(view.stats)
    peer = stats[(stats["grouping"] == "region") & (stats["group"] == region)]
    glob = stats[(stats["grouping"] == "global") & (stats["group"] == "all")]
    peer_of = {(r.level, r.code): r for r in peer.itertuples()}
    glob_of = {(r.level, r.code): r for r in glob.itertuples()}
    ok = mine[mine["status"] == "ok"]
    score = {(r.level, r.code): float(r.value) for r in ok.itertuples()}
    dims = []
    for d in fw.dimensions:
        p = peer_of.get(("dimension", d.code))
        dims.append({"name": d.name.get(lang), "code": d.code,
                     "score": score.get(("dimension", d.code)),
                     "peer": None if p is None or not np.isfinite(p.mean) else float(p.mean)})
    outcomes = []
    for o in fw.outcomes:
        p = peer_of.get(("outcome", o.code))
        outcomes.append({"name": o.name.get(lang), "code": o.code,
                         "dimension": o.dimension,
                         "score": score.get(("outcome", o.code)),
                         "peer": None if p is None else p.mean})
    before = previous(session, view.who, view.year)
    prev_value: dict[str, float] = {}
    if before is not None:
        pm = _headline(before.obs[(before.obs["member"] == code)
                                  & (before.obs["level"] == "kpi")
                                  & (before.obs["status"] == "ok")])
        prev_value = dict(zip(pm["code"], pm["value"].astype(float), strict=True))
    kpi_rows, notes = [], []
    shown_kpis = mine[mine["level"] == "kpi"].set_index("code")
    for kpi in fw.kpis:
        if kpi.code not in shown_kpis.index:
            continue
        r = shown_kpis.loc[kpi.code]
        p = peer_of.get(("kpi", kpi.code))
        value = float(r["value"]) if r["status"] == "ok" else None
        change = (value - prev_value[kpi.code]) if value is not None and \
            kpi.code in prev_value else None
        kpi_rows.append({
            "code": kpi.code, "name": kpi.name.get(lang), "unit": kpi.unit,
            "value": value, "status": status_label(str(r["status"])),
            "disclosure": disclosure_label(str(r["disclosure"])),
            "n": None if p is None else int(p.n),
            "median": None if p is None else p.median, "q1": None if p is None else p.q1,
            "q3": None if p is None else p.q3,
            "note": "" if p is None or not p.reason else view.reason(p.reason, p.withheld),
            "change": change, "score": score.get(("kpi_score", kpi.code))})
        if r["status"] != "ok":
            notes.append({"code": kpi.code, "status": status_label(str(r["status"])),
                          "text": str(r["reason"])})
    gaps = _gaps(session, view, code)
    dist_rows = [{"name": k["code"], "q1": k["q1"], "median": k["median"], "q3": k["q3"],
                  "value": k["value"]} for k in kpi_rows
                 if k["median"] is not None and np.isfinite(k["median"])
                 and k["unit"] in ("percent", "score")]
    overall = score.get(("overall", "overall"))
    if overall is None:
        rows = mine[(mine["level"] == "overall") & (mine["status"] == "ok")]
        overall = float(rows["value"].iloc[0]) if len(rows) else None
    region_label = REGIONS[region].get(lang) if region in REGIONS else region
    context = _common(view, lang)
    context.update({
        "member": code, "name": member_name(code, lang), "region": region_label,
        "income": INCOME_GROUPS[rec.income_group].get(lang)
        if rec.income_group in INCOME_GROUPS else "",
        "overall": overall, "dimensions": dims, "outcomes": outcomes, "kpis": kpi_rows,
        "notes": notes, "gaps": gaps, "previous": before.year if before else None,
        "dimension_chart": _svg(charts.dimension_scores(
            [d for d in dims if d["score"] is not None], _("Dimension scores and regional mean")))
        if any(d["score"] is not None for d in dims) else None,
        "distribution_chart": _svg(charts.distribution(
            dist_rows, _("Position among the region's members (quartiles, median, value)")))
        if dist_rows else None,
        "glob": {k: v.median for k, v in glob_of.items()},
    })
    return context


def _gaps(session: Session, view: ReleaseView, code: str) -> list[dict[str, Any]]:
    try:
        frame = api.member_gaps(session, view.who, view.year, code)
    except PmmError:
        return []
    rows = []
    for r in frame.head(10).itertuples():
        rows.append({"kpi": r.kpi, "name": r.kpi_name, "gap": r.gap, "value": r.value,
                     "reference": r.reference, "support": r.support_names or r.tool_names})
    return rows


# ---------------------------------------------------------------- global and regional


def global_report(session: Session, who: Principal, year: int, *, number_: int | None = None,
                  lang: str | None = None, region: str | None = None) -> str:
    """The global report (or a region's) of a release, as HTML."""
    with use_locale(lang) as lang:
        view = read(session, who, year, number_)
        if region is not None and region not in REGIONS:
            raise PmmError(_("region {value!r}: expected one of {expected}").format(
                value=region, expected=", ".join(REGIONS)))
        return global_html(view, lang, region)


def global_html(view: ReleaseView, lang: str, region: str | None = None) -> str:
    """The global (or regional) report of a release already read for its reader."""
    return render_html("global.html", _global_context(view, lang, region))


def _global_context(view: ReleaseView, lang: str, region: str | None) -> dict[str, Any]:
    fw = view.fw
    groups = view.groups
    grouping, group = ("region", region) if region else ("global", "all")
    stats = _headline(view.stats)
    scope = stats[(stats["grouping"] == grouping) & (stats["group"] == group)]
    # the release's members (validated submissions), not every member that started one
    members = set(groups.loc[(groups["grouping"] == grouping) & (groups["group"] == group),
                             "member"]) & set(view.members)
    part = []
    for by, labels in (("region", REGIONS), ("income", INCOME_GROUPS)):
        g = groups[(groups["grouping"] == by) & groups["member"].isin(members)]
        counts = g.groupby("group")["member"].nunique()
        part.append({"by": _("WCO region") if by == "region" else _("income group"),
                     "rows": [{"group": labels[k].get(lang) if k in labels else k,
                               "members": int(v)} for k, v in counts.items()]})
    charts_ = [_svg(charts.participation(p["rows"], _("Participation by {by}").format(by=p["by"])))
               for p in part]
    by_code = {(r.level, r.code): r for r in scope.itertuples()}
    kpis = []
    for kpi in fw.kpis:
        r = by_code.get(("kpi", kpi.code))
        if r is None:
            continue
        kpis.append({"code": kpi.code, "name": kpi.name.get(lang), "unit": kpi.unit,
                     "n": int(r.n), "mean": r.mean, "median": r.median, "q1": r.q1, "q3": r.q3,
                     "note": view.reason(r.reason, r.withheld) if r.reason or r.withheld
                     else ""})
    dims = [{"name": d.name.get(lang), "score": by_code[("dimension", d.code)].mean,
             "peer": None} for d in fw.dimensions if ("dimension", d.code) in by_code
            and np.isfinite(by_code[("dimension", d.code)].mean)]
    sdg = []
    for (level, code), r in sorted(by_code.items()):
        if level == "sdg_target" and np.isfinite(r.mean):
            sdg.append({"code": code, "mean": r.mean, "n": int(r.n)})
    mapping = sdg_mapping(fw)
    demand = _demand(view, members)
    regions = []
    if region is None:
        reg = stats[(stats["grouping"] == "region") & (stats["level"] == "dimension")]
        for g, rows in reg.groupby("group"):
            regions.append({"region": REGIONS[g].get(lang) if g in REGIONS else g,
                            "scores": {fw.dimension(c).name.get(lang): m for c, m in
                                       zip(rows["code"], rows["mean"], strict=True)}})
    context = _common(view, lang)
    context.update({
        "scope": (REGIONS[region].get(lang) if region else _("all participating members")),
        "members": len(members), "participation": part, "participation_charts": charts_,
        "kpis": kpis, "sdg": sdg, "sdg_links": len(mapping), "demand": demand,
        "regions": regions, "dimension_names": [d.name.get(lang) for d in fw.dimensions],
        "dimension_chart": _svg(charts.dimension_scores(dims, _("Mean dimension scores")))
        if dims else None,
        "indicator_name": lambda lv, c: indicator_name(fw, lv, c, lang),
    })
    return context


def _demand(view: ReleaseView, members: set[str]) -> list[dict[str, Any]]:
    """Capacity-building demand from the release: per outcome, how many of the members whose
    outcome score the reader may see score below 50 (counts below the release's minimum group
    size are not shown)."""
    obs = view.obs[(view.obs["level"] == "outcome") & (view.obs["status"] == "ok")
                   & view.obs["member"].isin(members)]
    rows = []
    for o in view.fw.outcomes:
        s = obs.loc[obs["code"] == o.code, "value"].astype(float)
        if len(s) < view.rules.min_n:
            continue
        low = int((s < 50).sum())
        rows.append({"code": o.code, "name": o.name.get(i18n.language()), "members": len(s),
                     "low": low if low == 0 or low >= view.rules.min_n else None})
    return rows


# ---------------------------------------------------------------- peer review report


def review_report(session: Session, who: Principal, year: int, member: str, *,
                  lang: str | None = None) -> str:
    """The peer review of a member's submission (findings, outcome), as HTML; for those who may
    read the submission (the member, its assigned reviewers, the Secretariat)."""
    with use_locale(lang) as lang:
        code = member_record(member).iso3
        cycle = get_cycle(session, year)
        if not may_read_submission(who, year, code):
            raise PermissionDenied(_("{user} may not read {member}'s submission.").format(
                user=who.label, member=code))
        sub = session.scalar(select(Submission).where(Submission.cycle_id == cycle.id,
                                                      Submission.member == code))
        if sub is None:
            raise NotFound(_("member {member}: no submission in cycle {year}").format(
                member=code, year=year))
        rounds = []
        fw = framework_of(cycle)
        for review, found in findings(session, sub):
            rounds.append({
                "revision": review.revision, "reviewer": review.reviewer,
                "started": review.started_at.strftime("%Y-%m-%d"),
                "completed": review.completed_at.strftime("%Y-%m-%d")
                if review.completed_at else None,
                "outcome": {"accepted": _("accepted"),
                            "changes_requested": _("changes requested")}.get(
                    review.outcome or "", _("in progress")),
                "summary": review.summary,
                "findings": [{"kpi": f.kpi or "", "name": indicator_name(fw, "kpi", f.kpi, lang)
                              if f.kpi else "", "text": f.text,
                              "at": f.at.strftime("%Y-%m-%d")} for f in found]})
        return render_html("review.html", {
            "lang": lang, "year": year, "member": code, "name": member_name(code, lang),
            "state": sub.state, "rounds": rounds, "reader": who.label, "framework": fw.id,
            "made": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "official": official()})


def write(html: str, path: Path) -> Path:
    """Write a report as HTML or PDF (by the file's suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".pdf":
        path.write_bytes(to_pdf(html))
    elif path.suffix.lower() in (".html", ".htm"):
        path.write_text(html, encoding="utf-8")
    else:
        raise PmmError(_("{path}: expected a file name ending in .pdf or .html").format(
            path=path))
    return path
