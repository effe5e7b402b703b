"""The Secretariat's working views of a cycle: capacity-building demand (by WCO region or income
group, with the support catalogue's names), KPI coverage, and the review assignments.

They read the live cycle through `pmm.analysis.api` (Secretariat views, refused to anyone else by
the services as well as by the route table), as `pmm secretariat demand|coverage` do.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy import select

from pmm import access
from pmm.analysis import api
from pmm.analysis.gaps import plan_by_support
from pmm.analysis.support import load_support
from pmm.assessment import review as reviews
from pmm.assessment.cycles import framework_of
from pmm.errors import PmmError
from pmm.i18n import _
from pmm.members import INCOME_GROUPS, REGIONS
from pmm.store.models import Review, Submission, User
from pmm.web.core import Ctx, Year, guard, render
from pmm.web.submission_view import cycle_or_404

router = APIRouter(include_in_schema=False)  # pages: not part of the JSON API
ACROSS = {"region": REGIONS, "income": INCOME_GROUPS}


def _share(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{100 * value:.0f} %"


@router.get("/secretariat/cycles/{year}/demand")
def demand(year: Year, by: str = "region", ctx: Ctx = Depends(guard)) -> Response:
    if by not in ACROSS:
        raise PmmError(_("grouping {value!r}: expected one of {expected}").format(
            value=by, expected=", ".join(ACROSS)))
    with ctx.read() as session:
        cycle = cycle_or_404(session, year)
        fw = framework_of(cycle)
        table, gaps = api.demand(session, ctx.principal, year, by=by, across=by)
    catalogue = load_support(fw=fw)
    names = {s.code: s.name.get(ctx.lang) for s in catalogue}
    labels = ACROSS[by]
    outcomes = {o.code: o.name.get(ctx.lang) for o in fw.outcomes}
    rows = [{"group": labels[r[by]].get(ctx.lang) if r[by] in labels else r[by],
             "outcome": r["outcome"], "outcome_name": outcomes.get(r["outcome"], ""),
             "members": int(r["members"]), "with_gaps": int(r["members_with_gaps"]),
             "gaps": int(r["gaps"]), "priority": f"{r['priority']:.2f}",
             "severity": f"{r['mean_severity']:.2f}" if math.isfinite(r["mean_severity"])
             else "–", "support": names.get(r["top_support"], r["top_support"])}
            for r in table.to_dict("records") if r["gaps"] > 0]
    plan = plan_by_support(gaps, catalogue, ctx.lang) if len(gaps) else None
    support = [] if plan is None else [
        {"code": r.support, "name": r.support_name or r.support, "gaps": int(r.gaps),
         "members": int(r.members), "priority": f"{r.priority:.2f}", "kpis": r.kpis}
        for r in plan.itertuples(index=False)]
    members = table.drop_duplicates(by)["members"].sum() if len(table) else 0
    return render(ctx, "secretariat/demand.html", year=year, by=by, rows=rows,
                  support=support, members=int(members), quiet=len(table) - len(rows),
                  groupings={"region": _("WCO region"), "income": _("Income group")},
                  title=_("Capacity-building demand, cycle {year}").format(year=year))


@router.get("/secretariat/cycles/{year}/coverage")
def coverage(year: Year, ctx: Ctx = Depends(guard)) -> Response:
    with ctx.read() as session:
        cycle = cycle_or_404(session, year)
        fw = framework_of(cycle)
        frame = api.coverage(session, ctx.principal, year)
    names = {k.code: k.name.get(ctx.lang) for k in fw.kpis}
    rows = [{"kpi": r.kpi, "name": names.get(r.kpi, ""), "members": int(r.members),
             "reported": int(r.reported), "not_applicable": int(r.not_applicable),
             "not_available": int(r.not_available), "not_computable": int(r.not_computable),
             "share": _share(float(r.share_reported)),
             "width": 0 if not math.isfinite(r.share_reported)
             else round(100 * r.share_reported), "reasons": r.reasons}
            for r in frame.itertuples(index=False)]
    return render(ctx, "secretariat/coverage.html", year=year, rows=rows,
                  title=_("KPI coverage, cycle {year}").format(year=year))


@router.get("/secretariat/cycles/{year}/reviews")
def assignments(year: Year, ctx: Ctx = Depends(guard)) -> Response:
    with ctx.read() as session:
        cycle = cycle_or_404(session, year)
        subs = list(session.scalars(select(Submission).where(
            Submission.cycle_id == cycle.id, Submission.review_requested.is_(True))
            .order_by(Submission.member)))
        rows = []
        for sub in subs:
            last = session.scalar(select(Review).where(Review.submission_id == sub.id)
                                  .order_by(Review.id.desc()).limit(1))
            rows.append({"member": sub.member, "state": sub.state, "version": sub.version,
                         "reviewers": reviews.reviewers(session, sub),
                         "review": (last.outcome or "in_progress") if last else "",
                         "may_assign": "assign_reviewer" in access.actions_now(
                             ctx.principal, year, sub.member, sub.state)})
        candidates = list(session.scalars(select(User.username).where(
            User.role == "peer_reviewer", User.active.is_(True)).order_by(User.username)))
        asked = len(rows)
    outcome = {"accepted": _("accepted"), "changes_requested": _("changes requested"),
               "in_progress": _("in progress"), "": _("not started")}
    for r in rows:
        r["reviewed"] = bool(r["review"])
        r["review"] = outcome.get(r["review"], r["review"])
        r["candidates"] = [c for c in candidates if c not in r["reviewers"]]
    return render(ctx, "secretariat/reviews.html", year=year, rows=rows, asked=asked,
                  unassigned=sum(1 for r in rows if not r["reviewers"]),
                  title=_("Peer review assignments, cycle {year}").format(year=year))
