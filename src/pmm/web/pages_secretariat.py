"""The Secretariat: cycles (create, open, close), a cycle's submissions and participation by
region and income group, framework versions and their differences."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response
from sqlalchemy import select

from pmm.assessment.cycles import create_cycle, framework_of, list_cycles, set_state
from pmm.assessment.frameworks import versions as framework_versions
from pmm.errors import NotFound, PmmError
from pmm.framework.diff import diff
from pmm.framework.loader import load, shipped_ids
from pmm.framework.model import Framework
from pmm.i18n import _
from pmm.members import INCOME_GROUPS, REGIONS, load_members
from pmm.store.models import Cycle, Submission
from pmm.web.core import Ctx, Version, Year, guard, redirect, render
from pmm.web.submission_view import cycle_or_404

router = APIRouter(include_in_schema=False)  # pages: not part of the JSON API


@router.get("/secretariat")
def secretariat(ctx: Ctx = Depends(guard)) -> Response:
    return _cycles_page(ctx)


def _cycles_page(ctx: Ctx, status: int = 200, errors: list[str] | None = None,
                 form: dict[str, str] | None = None) -> Response:
    with ctx.read() as session:
        cycles = list_cycles(session)
        per_cycle = Counter(session.scalars(select(Submission.cycle_id)).all())
        known = list(framework_versions(session))  # shipped and adopted on the platform
    return render(ctx, "secretariat/cycles.html", status=status, cycles=cycles,
                  per_cycle=per_cycle, frameworks=known, errors=errors or [],
                  form=form or {}, title=_("Secretariat"))


@router.post("/secretariat/cycles")
def cycle_create(year: int = Form(..., ge=2000, le=2100), framework: str = Form(...),
                 opens_on: dt.date = Form(...), closes_on: dt.date = Form(...),
                 ctx: Ctx = Depends(guard)) -> Response:
    with ctx.read() as session:
        known = list(framework_versions(session))
    if framework not in known:
        return _cycles_page(ctx, 422, [_("framework {value!r}: expected one of {known}").format(
            value=framework, known=", ".join(known))])
    try:
        with ctx.db() as session:
            create_cycle(session, ctx.principal, year, framework, opens_on, closes_on)
    except PmmError as exc:
        return _cycles_page(ctx, exc.http_status, exc.lines, {
            "year": str(year), "opens_on": str(opens_on), "closes_on": str(closes_on)})
    return redirect(ctx, "/secretariat", _("Cycle {year} was created (planned).").format(
        year=year))


@router.post("/secretariat/cycles/{year}/state")
def cycle_state(year: Year, version: Version, state: str = Form(...),
                reason: str = Form("", max_length=2000), ctx: Ctx = Depends(guard)) -> Response:
    with ctx.db() as session:
        cycle_or_404(session, year)
        set_state(session, ctx.principal, year, state, reason=reason, expected_version=version)
    return redirect(ctx, "/secretariat", _("Cycle {year} is now {state}.").format(
        year=year, state=state))


@router.get("/secretariat/cycles/{year}")
def cycle_page(year: Year, ctx: Ctx = Depends(guard)) -> Response:
    with ctx.read() as session:
        cycle = cycle_or_404(session, year)
        subs = list(session.execute(select(Submission.member, Submission.state,
                                           Submission.review_requested, Submission.version)
                                    .where(Submission.cycle_id == cycle.id)
                                    .order_by(Submission.member)).all())
    members = {m.iso3: m for m in load_members()}
    by_region = Counter(members[s.member].region for s in subs if s.member in members)
    by_income = Counter(members[s.member].income_group for s in subs if s.member in members)
    all_region = Counter(m.region for m in members.values())
    all_income = Counter(m.income_group for m in members.values())
    participation = {
        "region": [(REGIONS[c].get(ctx.lang), by_region.get(c, 0), all_region.get(c, 0))
                   for c in REGIONS],
        "income": [(INCOME_GROUPS[c].get(ctx.lang), by_income.get(c, 0), all_income.get(c, 0))
                   for c in INCOME_GROUPS],
    }
    states = Counter(s.state for s in subs)
    return render(ctx, "secretariat/cycle.html", cycle=cycle, subs=subs, states=states,
                  participation=participation, title=_("Cycle {year}").format(year=year))


def _versions(session) -> dict[str, Framework]:  # type: ignore[no-untyped-def]
    """Every framework version: shipped ones by id, each cycle's own copy as `cycle:YEAR`."""
    found: dict[str, Framework] = {i: load(i) for i in shipped_ids()}
    found.update(framework_versions(session))  # and those adopted on the platform
    for cycle in session.scalars(select(Cycle).order_by(Cycle.year)).all():
        found[f"cycle:{cycle.year}"] = framework_of(cycle)
    return found


@router.get("/secretariat/frameworks")
def frameworks(old: str = "", new: str = "", ctx: Ctx = Depends(guard)) -> Response:
    with ctx.read() as session:
        versions = _versions(session)
    result = None
    if old or new:
        for ref in (old, new):
            if ref not in versions:
                raise NotFound(_("no framework version {ref!r} (known: {known})").format(
                    ref=ref, known=", ".join(versions)))
        result = diff(versions[old], versions[new])
    return render(ctx, "secretariat/frameworks.html", versions=versions, old=old, new=new,
                  result=result, title=_("Framework versions"))
