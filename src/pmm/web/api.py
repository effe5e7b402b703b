"""The JSON API under /api/v1: the same services and the same policy as the pages.

Authentication: `Authorization: Bearer <token>` (tokens are made on the account page) or the
browser session (then state-changing calls need the `X-CSRF-Token` header). Lists are paged
with `offset` and `limit`. Every error has one shape, `{"error": {status, kind, messages}}`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from pmm import access
from pmm.assessment import workflow
from pmm.assessment.submissions import (
    ItemChange,
    KpiChange,
    apply_changes,
    current_values,
    effective_kpis,
    start_submission,
    stored_kpis,
)
from pmm.errors import NotFound
from pmm.i18n import _
from pmm.store.models import Cycle, Submission
from pmm.web.core import Ctx, Year, guard
from pmm.web.pages_public import shipped
from pmm.web.pages_submission import import_upload
from pmm.web.permissions import API, API_SUB
from pmm.web.submission_view import framework_for, lookup, report_of


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorBody(Strict):
    status: int
    kind: str
    messages: list[str]


class ErrorResponse(Strict):
    error: ErrorBody


ERRORS = {code: {"model": ErrorResponse, "description": text} for code, text in (
    (400, "The request is malformed."), (401, "Not signed in, or the token is not valid."),
    (403, "The access policy refuses this to you."), (404, "No such cycle, member or item."),
    (409, "Stale: the submission changed since the version you sent."),
    (413, "The upload is too large."),
    (422, "Invalid input; each message names the field and what was expected."),
    (429, "Too many requests."))}

router = APIRouter(tags=["api"], responses=ERRORS)  # type: ignore[arg-type]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Limit = Annotated[int, Query(ge=1, le=1000)]
ItemYear = Annotated[int, Field(ge=1900, le=2200)]


class Me(Strict):
    username: str
    role: str
    member: str | None


class Page(Strict):
    offset: int
    limit: int
    total: int


class KpiOut(Strict):
    code: str
    outcome: str
    name: str
    unit: str
    direction: str
    data_items: list[str]
    sdg_targets: list[str]
    tools: list[str]
    disclosure: str


class OutcomeOut(Strict):
    code: str
    dimension: str
    name: str
    sdg_targets: list[str]
    tools: list[str]


class DimensionOut(Strict):
    code: str
    name: str


class FrameworkOut(Strict):
    id: str
    title: str
    dimensions: list[DimensionOut]
    outcomes: list[OutcomeOut]
    kpis: list[KpiOut]


class CycleOut(Strict):
    year: int
    framework: str
    state: str
    opens_on: str
    closes_on: str


class SubmissionRow(Strict):
    member: str
    state: str
    version: int


class SubmissionList(Strict):
    page: Page
    items: list[SubmissionRow]


class KpiStatusOut(Strict):
    kpi: str
    status: str
    disclosure: str
    note: str


class SubmissionOut(Strict):
    cycle: int
    member: str
    state: str
    version: int
    revision: int
    actions: list[str]
    kpis: list[KpiStatusOut]
    errors: list[str]
    warnings: list[str]


class ValueOut(Strict):
    data_item: str
    year: int
    breakdown: str
    value: float | None
    status: str
    note: str


class ValueList(Strict):
    page: Page
    items: list[ValueOut]


class ValueIn(Strict):
    data_item: Annotated[str, Field(min_length=1, max_length=64)]
    year: ItemYear
    breakdown: Annotated[str, Field(max_length=200)] = ""
    value: Annotated[float, Field(allow_inf_nan=False)] | None
    status: Literal["reported", "not_available"] = "reported"
    note: Annotated[str, Field(max_length=5000)] = ""


class KpiIn(Strict):
    kpi: Annotated[str, Field(min_length=1, max_length=64)]
    status: Literal["reported", "not_applicable", "not_available"] | None = None
    disclosure: Literal["public", "wco", "restricted"] | None = None
    note: Annotated[str, Field(max_length=5000)] | None = None


class ChangesIn(Strict):
    expected_version: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    values: Annotated[list[ValueIn], Field(max_length=10000)] = []
    kpis: Annotated[list[KpiIn], Field(max_length=1000)] = []


class Saved(Strict):
    version: int
    changes: int


class VersionIn(Strict):
    expected_version: Annotated[int, Field(ge=0, le=2**31 - 1)]


@router.get(API + "/me")
def me(ctx: Ctx = Depends(guard)) -> Me:
    who = ctx.principal
    return Me(username=who.username, role=who.role, member=who.member)


@router.get(API + "/framework/{fw}")
def framework(fw: str, ctx: Ctx = Depends(guard)) -> FrameworkOut:
    model = shipped(fw)
    lang = ctx.lang
    return FrameworkOut(
        id=model.id, title=model.framework.title.get(lang),
        dimensions=[DimensionOut(code=d.code, name=d.name.get(lang)) for d in model.dimensions],
        outcomes=[OutcomeOut(code=o.code, dimension=o.dimension, name=o.name.get(lang),
                             sdg_targets=list(o.sdg_targets), tools=list(o.tools))
                  for o in model.outcomes],
        kpis=[KpiOut(code=k.code, outcome=k.outcome, name=k.name.get(lang), unit=k.unit,
                     direction=k.direction, data_items=list(k.data_items),
                     sdg_targets=list(k.sdg_targets), tools=list(k.tools),
                     disclosure=k.disclosure) for k in model.kpis])


@router.get(API + "/cycles")
def cycles(ctx: Ctx = Depends(guard)) -> list[CycleOut]:
    with ctx.read() as session:
        rows = session.scalars(select(Cycle).order_by(Cycle.year)).all()
        return [CycleOut(year=c.year, framework=c.framework_id, state=c.state,
                         opens_on=c.opens_on.isoformat(), closes_on=c.closes_on.isoformat())
                for c in rows]


@router.get(API + "/cycles/{year}/submissions")
def submissions(year: Year, offset: Offset = 0, limit: Limit = 100,
                ctx: Ctx = Depends(guard)) -> SubmissionList:
    """The submissions of a cycle that the caller may read in full."""
    with ctx.read() as session:
        cycle = session.scalar(select(Cycle).where(Cycle.year == year))
        if cycle is None:
            raise NotFound(_("no cycle reports on {year}").format(year=year))
        rows = [r for r in session.execute(
            select(Submission.member, Submission.state, Submission.version)
            .where(Submission.cycle_id == cycle.id).order_by(Submission.member)).all()
            if access.may_read_submission(ctx.principal, year, r.member)]
    items = [SubmissionRow(member=r.member, state=r.state, version=r.version)
             for r in rows[offset:offset + limit]]
    return SubmissionList(page=Page(offset=offset, limit=limit, total=len(rows)), items=items)


def _existing(session, year: Year, member: str):  # type: ignore[no-untyped-def]
    cycle, code, sub = lookup(session, year, member)
    if sub is None:
        raise NotFound(_("{member} has no submission to cycle {year} yet").format(
            member=code, year=year))
    return cycle, code, sub


@router.get(API_SUB)
def submission(year: Year, member: str, ctx: Ctx = Depends(guard)) -> SubmissionOut:
    with ctx.read() as session:
        cycle, code, sub = _existing(session, year, member)
        fw = framework_for(cycle)
        report = report_of(session, cycle, sub, ctx.principal, ctx.lang)
        kpis = effective_kpis(fw, stored_kpis(session, sub))
        return SubmissionOut(
            cycle=year, member=code, state=sub.state, version=sub.version,
            revision=sub.revision,
            actions=access.actions_now(ctx.principal, year, code, sub.state),
            kpis=[KpiStatusOut(kpi=k, status=s, disclosure=d, note=n)
                  for k, (s, d, n) in kpis.items()],
            errors=[str(i) for i in report.errors], warnings=[str(i) for i in report.warnings])


@router.get(API_SUB + "/values")
def values(year: Year, member: str, offset: Offset = 0, limit: Limit = 500,
           ctx: Ctx = Depends(guard)) -> ValueList:
    with ctx.read() as session:
        _cycle, _code, sub = _existing(session, year, member)
        frame = current_values(session, sub)
    page = frame.iloc[offset:offset + limit]
    items = [ValueOut(data_item=r.data_item, year=int(r.year), breakdown=r.breakdown,
                      value=None if r.value != r.value else float(r.value), status=r.status,
                      note=r.note or "") for r in page.itertuples(index=False)]
    return ValueList(page=Page(offset=offset, limit=limit, total=len(frame)), items=items)


@router.post(API_SUB + "/values")
def save_values(year: Year, member: str, body: ChangesIn, ctx: Ctx = Depends(guard)) -> Saved:
    """Set values and KPI statuses, all or nothing; `expected_version` refuses a stale write."""
    with ctx.db() as session:
        _cycle, code, sub = lookup(session, year, member)
        if sub is None:
            sub = start_submission(session, ctx.principal, year, code)
        changes = apply_changes(
            session, ctx.principal, sub,
            [ItemChange(v.data_item, v.year, v.breakdown, v.value, v.status, v.note)
             for v in body.values],
            [KpiChange(k.kpi, k.status, k.disclosure, k.note) for k in body.kpis],
            expected_version=body.expected_version)
        return Saved(version=sub.version, changes=changes)


@router.post(API_SUB + "/import")
def import_api(year: Year, member: str, file: UploadFile = File(...),
               ctx: Ctx = Depends(guard)) -> Saved:
    """Upload a submission CSV or a filled workbook (all or nothing)."""
    changes, _name = import_upload(ctx, year, member, file)
    with ctx.db() as session:
        _cycle, _code, sub = _existing(session, year, member)
        return Saved(version=sub.version, changes=changes)


@router.post(API_SUB + "/submit")
def submit(year: Year, member: str, body: VersionIn, ctx: Ctx = Depends(guard)) -> SubmissionRow:
    with ctx.db() as session:
        _cycle, code, sub = _existing(session, year, member)
        workflow.submit(session, ctx.principal, sub, expected_version=body.expected_version)
        return SubmissionRow(member=code, state=sub.state, version=sub.version)
