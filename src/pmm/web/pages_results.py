"""Results: a release's public aggregates and public member values per KPI, its open-data
downloads, and a member's own results page, values (CSV) and profile (PDF).

Everything the public sees is read as `pmm.access.ANONYMOUS` from a release of a cycle (the
latest not withdrawn, or `?release=N`; `pmm.publish.source` decides what the public may read),
never from the live cycle, so the page and the files show only what was audited for the public.
A withdrawn release answers 410 Gone with its withdrawal notice: its figures are not served any
more. A member's page is read through the analysis API as the signed-in user
(`pmm.web.results_view`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pmm.access import ANONYMOUS, MEMBER_ROLES
from pmm.analysis import release as rel_mod
from pmm.analysis.load import data_digest
from pmm.errors import NotFound
from pmm.i18n import _
from pmm.members import member as member_record
from pmm.publish import charts as specs
from pmm.store.models import Cycle
from pmm.web import charts, fragments
from pmm.web.core import Ctx, Year, guard, render
from pmm.web.results_view import group_label, member_results, number, values_csv
from pmm.web.submission_view import member_or_404, members_of

router = APIRouter(include_in_schema=False)
# ?release=N: a release number of the cycle (bounded like the database's integers)
ReleaseNumber = Annotated[int | None, Query(ge=1, le=2**31 - 1)]

GROUPINGS = ("region", "income", "global")
# download name: (what it is, media type)
DOWNLOADS = {
    "sdmx-csv": ("SDMX-CSV 2.0", "text/csv; charset=utf-8"),
    "sdmx-ml": ("SDMX-ML 3.0", "application/xml"),
    "values-csv": ("CSV", "text/csv; charset=utf-8"),
    "statistics-csv": ("CSV", "text/csv; charset=utf-8"),
    "xlsx": ("Excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def released_cycles(session) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """(cycle year, number of its latest release not withdrawn), newest cycle first."""
    latest: dict[int, int] = {}
    for year, rel in rel_mod.releases(session):
        if rel.withdrawn_at is None:
            latest[year] = max(latest.get(year, 0), rel.number)
    return sorted(latest.items(), reverse=True)


@router.get("/results")
def results_index(ctx: Ctx = Depends(guard)) -> Response:
    with ctx.read() as session:
        cycles = released_cycles(session)
    return render(ctx, "public/results_index.html", cycles=cycles, title=_("Results"))


def _release(session, year: int, wanted: int | None):  # type: ignore[no-untyped-def]
    """The release asked for (default: the latest not withdrawn), and the cycle's releases."""
    rel = rel_mod.require_latest(session, year) if wanted is None else rel_mod.get(
        session, year, wanted)
    return rel, [r for _y, r in rel_mod.releases(session, year)]


def _withdrawn(ctx: Ctx, year: int, rel, others: list) -> Response:  # type: ignore[no-untyped-def]
    """A withdrawn release's figures are no longer shown: 410 Gone, with why and what to read."""
    current = [r.number for r in others if r.withdrawn_at is None]
    return render(ctx, "public/withdrawn.html", status=410, year=year, number=rel.number,
                  on=rel.withdrawn_at.strftime("%Y-%m-%d"), reason=rel.withdraw_reason,
                  current=max(current) if current else None,
                  title=_("Release {number} of cycle {year} was withdrawn").format(
                      number=rel.number, year=year))


def _headline(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[(frame["variant"] == "") & (frame["breakdown"] == "")]


def _participation(view, by: str, lang: str) -> dict:  # type: ignore[no-untyped-def]
    """The release's members per group of `by`: a table and the reports' participation chart."""
    groups = view.groups[(view.groups["grouping"] == by)
                         & view.groups["member"].isin(view.members)]
    counts = groups.groupby("group")["member"].nunique()
    rows = sorted(({"group": group_label(by, g, lang), "members": int(n)}
                   for g, n in counts.items()), key=lambda r: (-r["members"], r["group"]))
    title = _("Members in this release by WCO region") if by == "region" else _(
        "Members in this release by income group")
    return {"rows": rows, "title": title, "total": len(view.members),
            "svg": charts.svg(specs.participation(rows, title)) if rows else None}


@router.get("/results/{year}")
def results(year: Year, by: str = "region", release: ReleaseNumber = None,
            ctx: Ctx = Depends(guard)) -> Response:
    """A release's statistics for the public per KPI and group, and the values members chose
    to disclose publicly (rendered once per release, grouping, language and audience for every
    worker: `pmm.web.fragments`)."""
    if by not in GROUPINGS:
        raise NotFound(_("grouping {value!r}: expected one of {expected}").format(
            value=by, expected=", ".join(GROUPINGS)))
    cache = fragments.of(ctx)
    title = _("Results of cycle {year}").format(year=year)
    with ctx.read() as session:
        rel, all_releases = _release(session, year, release)
        if rel.withdrawn_at is not None:
            return _withdrawn(ctx, year, rel, all_releases)
        # everything the content derives from: the release, the cycle's list of releases (the
        # choice and the withdrawn ones are shown), whether the reader sees every member (links
        # to each member's page); the reader's own member's links are rendered per request
        key = fragments.key(
            "results", year, fragments.release_key(rel),
            [(r.number, r.created_at, r.withdrawn_at) for r in all_releases], by,
            release is None, ctx.lang, ctx.principal.sees_all)
        found, made = cache.get_or_make(session, key, lambda: _results_content(
            ctx, session, year, by, release, rel, all_releases, title))
        own = ctx.principal.member if ctx.principal.role in MEMBER_ROLES else None
        own = own if own and own in members_of(rel) else None
    if made:
        cache.share("results", found)
    return fragments.respond(ctx, found, title, lead="public/results_lead.html", year=year,
                             own=own)


def _results_content(ctx: Ctx, session: Session, year: int, by: str, release: int | None,
                     rel: rel_mod.Release, all_releases: list, title: str) -> str:
    from pmm.publish import source

    view = source.read(session, ANONYMOUS, year, rel.number)
    lang = ctx.lang
    stats = _headline(view.stats)
    stats = stats[(stats["level"] == "kpi") & stats["grouping"].isin([by, "global"])]
    order = {g: i for i, g in enumerate((by, "global"))}
    stats = stats.assign(order=stats["grouping"].map(order)).sort_values(
        ["code", "order", "group"])
    rows: dict[str, list[dict]] = {}
    for r in stats.itertuples(index=False):
        rows.setdefault(r.code, []).append({
            "group": group_label(r.grouping, r.group, lang), "n": int(r.n),
            "mean": number(r.mean), "median": number(r.median), "q1": number(r.q1),
            "q3": number(r.q3), "note": view.reason(r.reason, r.withheld)})
    obs = _headline(view.obs)
    obs = obs[(obs["level"] == "kpi") & (obs["status"] == "ok")]
    # the Secretariat may open every member's results page: each value links to it (others
    # find their own member's link above the shared content, so they all share one fragment)
    linked = ctx.principal.sees_all
    values: dict[str, list[dict]] = {}
    for r in obs.itertuples(index=False):
        if number(r.value):
            values.setdefault(r.code, []).append({
                "member": r.member, "name": source.member_name(r.member, lang),
                "value": number(r.value), "mine": linked})
    kpis = [(k.code, k.name.get(lang), rows.get(k.code, []),
             sorted(values.get(k.code, []), key=lambda v: v["name"]))
            for k in view.fw.kpis if k.code in rows or k.code in values]
    labels = {"region": _("WCO region"), "income": _("Income group"), "global": _("All members")}
    participation = _participation(view, "income" if by == "income" else "region", lang)
    latest = max((r.number for r in all_releases if r.withdrawn_at is None), default=None)
    return fragments.render_fragment(
        "public/results_content.html", year=year, number=rel.number, made=rel.created_at, by=by,
        groupings=labels, kpis=kpis, downloads=DOWNLOADS, releases=all_releases, latest=latest,
        chosen=None if release is None else rel.number, participation=participation,
        title=title)


@router.get("/results/{year}/download/{name}")
def download(year: Year, name: str, release: ReleaseNumber = None,
             ctx: Ctx = Depends(guard)) -> Response:
    """One open-data file of a release (default: the latest), as the anonymous public may read
    it."""
    from pmm.publish import reports, sdmx, source, tables

    if name not in DOWNLOADS:
        raise NotFound(_("download {value!r}: expected one of {expected}").format(
            value=name, expected=", ".join(DOWNLOADS)))
    with ctx.read() as session, reports.use_locale(ctx.lang) as lang, \
            tempfile.TemporaryDirectory() as folder:
        rel, all_releases = _release(session, year, release)
        if rel.withdrawn_at is not None:
            return _withdrawn(ctx, year, rel, all_releases)
        view = source.read(session, ANONYMOUS, year, rel.number)
        out = Path(folder)
        if name in ("sdmx-csv", "sdmx-ml"):
            _structure, ml, csv = sdmx.write(view, out, lang)
            path = csv if name == "sdmx-csv" else ml
        elif name == "xlsx":
            path = tables.write_xlsx(view, out / f"pmm-{year}-r{view.number}.xlsx")
        else:
            values, statistics = tables.write_csv(view, out)
            path = values if name == "values-csv" else statistics
        content = path.read_bytes()
    return Response(content, media_type=DOWNLOADS[name][1], headers={
        "Content-Disposition": f'attachment; filename="{path.name}"'})


@router.get("/results/{year}/members/{member}")
def member_page(year: Year, member: str, ctx: Ctx = Depends(guard)) -> Response:
    """A member's results in the latest release, for whoever may read its submission: looked up
    in the shared fragments first, so a page computed by one worker is served by every other."""
    code = member_or_404(member)
    rec = member_record(code)
    title = _("Results of {member}, cycle {year}").format(
        member=rec.name_fr if ctx.lang == "fr" else rec.name_en, year=year)
    cache = fragments.of(ctx)
    with ctx.read() as session:
        who = ctx.principal
        # the inputs `member_results` derives from (its own per-process key, the user name aside)
        key = fragments.key(
            "member_results", year, code, ctx.lang, fragments.audience(who),
            _cycle_inputs(session, year), _cycle_inputs(session, _previous(session, year)),
            rel_mod.current_rules(session) if who.sees_all else None)
        found, made = cache.get_or_make(session, key, lambda: fragments.render_fragment(
            "results/member_content.html", fmt=number, title=title,
            r=member_results(session, who, year, code, ctx.lang)))
    if made:
        cache.share("member_results", found)
    return fragments.respond(ctx, found, title)


def _previous(session: Session, year: int) -> int | None:
    """`pmm.analysis.load.previous_year` in one small query (this runs on every request)."""
    return session.scalar(select(func.max(Cycle.year)).where(Cycle.year < year))


def _cycle_inputs(session: Session, year: int | None) -> tuple | None:
    """A cycle's data digest and latest release (None: no such cycle)."""
    if year is None:
        return None
    return (year, data_digest(session, year), fragments.release_key(rel_mod.latest(session,
                                                                                   year)))


@router.get("/results/{year}/members/{member}/values.csv")
def member_values(year: Year, member: str, ctx: Ctx = Depends(guard)) -> Response:
    """The member's page as CSV: its scores, KPI values and peer statistics."""
    code = member_or_404(member)
    with ctx.read() as session:
        data = member_results(session, ctx.principal, year, code, ctx.lang)
    name = f"pmm-{year}-r{data.release}-{code}-values.csv"
    return Response(values_csv(data).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/results/{year}/members/{member}/profile.pdf")
def profile_pdf(year: Year, member: str, ctx: Ctx = Depends(guard)) -> Response:
    """A member's profile of the latest release, as the signed-in user may read it."""
    from pmm.publish import reports

    code = member_or_404(member)
    with ctx.read() as session:
        html = reports.profile(session, ctx.principal, year, code, lang=ctx.lang)
    name = f"pmm-{year}-{code}-profile.pdf"
    return Response(reports.to_pdf(html), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}"'})
