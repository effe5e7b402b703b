"""Reports on the web: the global and regional reports of a release (HTML page, PDF as an
attachment), and the peer-review report of a submission.

The public reads the reports of a cycle's latest release as `pmm.access.ANONYMOUS` (whoever is
signed in: a public address shows the public's report); the Secretariat reads any release's
reports as itself (statistics released at WCO level). A report is made on request by
`pmm.publish.reports`; PDFs are slow (WeasyPrint), so a report made from a release, which never
changes, is kept in a small in-process cache keyed by (release, language, kind, reader). The
review report follows a live submission and is never cached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from pmm.access import ANONYMOUS, Principal
from pmm.errors import PmmError
from pmm.i18n import _
from pmm.members import REGIONS
from pmm.web.core import Ctx, RowId, Year, finish, guard
from pmm.web.permissions import SUB
from pmm.web.submission_view import member_or_404

router = APIRouter(include_in_schema=False)  # pages: not part of the JSON API
# A report is a standalone document with its own stylesheet and inline SVG charts: it may use
# inline styles, and nothing else (no script, no request to anywhere).
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
              "form-action 'none'; frame-ancestors 'none'")
CACHE_SIZE = 24
_cache: OrderedDict[tuple, bytes] = OrderedDict()
_lock = threading.Lock()


def cached(key: tuple, make: Callable[[], bytes]) -> bytes:
    """`make()`'s bytes, kept for the next request with the same key (least recently used
    entries go first). Two requests that miss at once both make it: harmless, and simpler than
    a lock held for seconds."""
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = make()
    with _lock:
        _cache[key] = value
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def _region(region: str) -> str | None:
    if not region:
        return None
    code = region.upper()
    if code not in REGIONS:
        raise PmmError(_("region {value!r}: expected one of {expected}").format(
            value=region, expected=", ".join(REGIONS)))
    return code


def _report(ctx: Ctx, who: Principal, year: int, number: int | None, region: str | None,
            pdf: bool) -> Response:
    """The global (or regional) report of a release as `who` reads it."""
    from pmm.analysis import release as rel_mod
    from pmm.publish import reports, source

    with ctx.read() as session:
        rel = rel_mod.require_latest(session, year) if number is None else rel_mod.get(
            session, year, number)
        key = (rel_mod.identity(rel), ctx.lang, region or "global", who.label)
        view: list = []

        def html() -> bytes:
            with reports.use_locale(ctx.lang) as lang:
                if not view:
                    view.append(source.read(session, who, year, rel.number))
                return reports.global_html(view[0], lang, region).encode("utf-8")

        page = cached((*key, "html"), html)
    name = f"pmm-{year}-release-{rel.number}-{(region or 'global').lower()}"
    if pdf:
        document = cached((*key, "pdf"), lambda: reports.to_pdf(page.decode("utf-8")))
        return finish(ctx, Response(document, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{name}.pdf"'}))
    return finish(ctx, HTMLResponse(page, headers={"Content-Security-Policy": REPORT_CSP}))


@router.get("/results/{year}/report")
def public_report(year: Year, region: str = "", ctx: Ctx = Depends(guard)) -> Response:
    return _report(ctx, ANONYMOUS, year, None, _region(region), pdf=False)


@router.get("/results/{year}/report.pdf")
def public_report_pdf(year: Year, region: str = "", ctx: Ctx = Depends(guard)) -> Response:
    return _report(ctx, ANONYMOUS, year, None, _region(region), pdf=True)


@router.get("/secretariat/cycles/{year}/releases/{number}/report")
def release_report(year: Year, number: RowId, region: str = "",
                   ctx: Ctx = Depends(guard)) -> Response:
    return _report(ctx, ctx.principal, year, number, _region(region), pdf=False)


@router.get("/secretariat/cycles/{year}/releases/{number}/report.pdf")
def release_report_pdf(year: Year, number: RowId, region: str = "",
                       ctx: Ctx = Depends(guard)) -> Response:
    return _report(ctx, ctx.principal, year, number, _region(region), pdf=True)


def _review(ctx: Ctx, year: int, member: str, pdf: bool) -> Response:
    from pmm.publish import reports

    code = member_or_404(member)
    with ctx.read() as session:
        page = reports.review_report(session, ctx.principal, year, code, lang=ctx.lang)
    if pdf:
        return finish(ctx, Response(reports.to_pdf(page), media_type="application/pdf",
                                    headers={"Content-Disposition": 'attachment; filename='
                                             f'"pmm-{year}-{code}-review.pdf"'}))
    return finish(ctx, HTMLResponse(page, headers={"Content-Security-Policy": REPORT_CSP}))


@router.get(SUB + "/review-report")
def review_report(year: Year, member: str, ctx: Ctx = Depends(guard)) -> Response:
    return _review(ctx, year, member, pdf=False)


@router.get(SUB + "/review-report.pdf")
def review_report_pdf(year: Year, member: str, ctx: Ctx = Depends(guard)) -> Response:
    return _review(ctx, year, member, pdf=True)
