"""The public results: a release's aggregates per KPI, its open-data downloads, and a member's
own profile.

Everything the public sees is read as `pmm.access.ANONYMOUS` from the latest release of a cycle
(the analysis API and `pmm.publish` decide what that is), never from the live cycle, so the page
and the files show only what was audited for the public.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pandas as pd
from fastapi import APIRouter, Depends
from fastapi.responses import Response

from pmm.access import ANONYMOUS
from pmm.analysis import api
from pmm.analysis import release as rel_mod
from pmm.assessment.cycles import framework_of, get_cycle
from pmm.errors import NotFound
from pmm.i18n import _
from pmm.web.core import Ctx, Year, guard, render

router = APIRouter(include_in_schema=False)

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


def _number(value: object) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")  # type: ignore[arg-type]


@router.get("/results/{year}")
def results(year: Year, by: str = "region", ctx: Ctx = Depends(guard)) -> Response:
    if by not in GROUPINGS:
        raise NotFound(_("grouping {value!r}: expected one of {expected}").format(
            value=by, expected=", ".join(GROUPINGS)))
    with ctx.read() as session:
        rel = rel_mod.require_latest(session, year)
        frame = api.benchmarks(session, ANONYMOUS, year, by=by)
        fw_kpis = {k.code: k for k in framework_of(get_cycle(session, year)).kpis}
        number, made = rel.number, rel.created_at
    rows: dict[str, list[dict]] = {}
    for r in frame.sort_values(["kpi", "grouping", "group"]).itertuples(index=False):
        rows.setdefault(r.kpi, []).append({
            "group": r.group, "n": int(r.n) if pd.notna(r.n) else "",
            "mean": _number(r.mean), "median": _number(r.median), "q1": _number(r.q1),
            "q3": _number(r.q3), "note": r.reason if r.suppressed or r.reason else ""})
    kpis = [(code, fw_kpis[code].name.get(ctx.lang) if code in fw_kpis else code, rows[code])
            for code in sorted(rows)]
    labels = {"region": _("WCO region"), "income": _("Income group"), "global": _("All members")}
    return render(ctx, "public/results.html", year=year, number=number, made=made, by=by,
                  groupings=labels, kpis=kpis, downloads=DOWNLOADS,
                  title=_("Results of cycle {year}").format(year=year))


@router.get("/results/{year}/download/{name}")
def download(year: Year, name: str, ctx: Ctx = Depends(guard)) -> Response:
    """One open-data file of the latest release, as the anonymous public may read it."""
    from pmm.publish import reports, sdmx, source, tables

    if name not in DOWNLOADS:
        raise NotFound(_("download {value!r}: expected one of {expected}").format(
            value=name, expected=", ".join(DOWNLOADS)))
    with ctx.read() as session, reports.use_locale(ctx.lang) as lang, \
            tempfile.TemporaryDirectory() as folder:
        view = source.read(session, ANONYMOUS, year)
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


@router.get("/results/{year}/members/{member}/profile.pdf")
def profile_pdf(year: Year, member: str, ctx: Ctx = Depends(guard)) -> Response:
    """A member's profile of the latest release, as the signed-in user may read it."""
    from pmm.publish import reports

    with ctx.read() as session:
        html = reports.profile(session, ctx.principal, year, member.upper(), lang=ctx.lang)
    name = f"pmm-{year}-{member.upper()}-profile.pdf"
    return Response(reports.to_pdf(html), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}"'})
