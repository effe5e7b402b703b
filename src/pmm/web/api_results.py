"""The results in the JSON API: a cycle's releases, its statistics and a member's scores.

The same analysis services as the pages and the CLI, asked as the caller's principal: the
public and every user but the Secretariat read the latest release (statistics for their
audience, suppressed cells withheld with the reason), the Secretariat its live working figures.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query

from pmm.analysis import api as analysis
from pmm.analysis import release as rel_mod
from pmm.web.api import ERRORS, Limit, Offset, Page, Strict
from pmm.web.core import Ctx, Year, guard
from pmm.web.permissions import API, API_SUB
from pmm.web.submission_view import cycle_or_404, member_or_404

router = APIRouter(tags=["results"], responses=ERRORS)  # type: ignore[arg-type]
Code = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


class ReleaseOut(Strict):
    number: int
    created_at: str
    members: int
    min_n: int
    dominance_p: float
    protection_p: float
    withdrawn_at: str | None
    withdraw_reason: str


class StatisticOut(Strict):
    level: str
    kpi: str
    variant: str
    breakdown: str
    grouping: str
    group: str
    n: int | None
    mean: float | None
    median: float | None
    q1: float | None
    q3: float | None
    position: float | None  # the caller's member's percentile rank, where it has one
    suppressed: bool
    reason: str
    basis: str


class StatisticList(Strict):
    page: Page
    items: list[StatisticOut]


class ScoreOut(Strict):
    level: str
    code: str
    value: float | None
    score: float | None
    grade: str
    status: str
    reason: str


class ScoreList(Strict):
    member: str
    items: list[ScoreOut]


def _number(value: object) -> float | None:
    if value is None or pd.isna(value):  # type: ignore[arg-type]
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


@router.get(API + "/cycles/{year}/releases")
def releases(year: Year, ctx: Ctx = Depends(guard)) -> list[ReleaseOut]:
    """Every release of the cycle, withdrawn ones included (with when and why)."""
    with ctx.read() as session:
        cycle_or_404(session, year)
        found = rel_mod.releases(session, year)
    return [ReleaseOut(number=r.number, created_at=r.created_at.isoformat(), members=r.members,
                       min_n=r.min_n, dominance_p=r.dominance_p, protection_p=r.protection_p,
                       withdrawn_at=r.withdrawn_at.isoformat() if r.withdrawn_at else None,
                       withdraw_reason=r.withdraw_reason or "") for _year, r in found]


@router.get(API + "/cycles/{year}/statistics")
def statistics(year: Year, by: Literal["region", "income", "global"] = "region",
               kpi: Code = None, headline: bool = True, offset: Offset = 0,
               limit: Limit = 500, ctx: Ctx = Depends(guard)) -> StatisticList:
    """KPI statistics by peer group (`by`, with the global group), as the caller may see them."""
    with ctx.read() as session:
        cycle_or_404(session, year)
        frame = analysis.benchmarks(session, ctx.principal, year, by=by, kpi=kpi,
                                    headline=headline)
    frame = frame.sort_values(["kpi", "variant", "breakdown", "grouping", "group"])
    items = [StatisticOut(
        level=r.level, kpi=r.kpi, variant=r.variant, breakdown=r.breakdown,
        grouping=r.grouping, group=r.group,
        n=None if pd.isna(r.n) else int(r.n), mean=_number(r.mean), median=_number(r.median),
        q1=_number(r.q1), q3=_number(r.q3), position=_number(r.position),
        suppressed=bool(r.suppressed), reason=_text(r.reason), basis=_text(r.basis))
        for r in frame.iloc[offset:offset + limit].itertuples(index=False)]
    return StatisticList(page=Page(offset=offset, limit=limit, total=len(frame)), items=items)


@router.get(API_SUB + "/scores")
def scores(year: Year, member: str, ctx: Ctx = Depends(guard)) -> ScoreList:
    """A member's scores per KPI, outcome and dimension (for who may read its submission)."""
    code = member_or_404(member)
    with ctx.read() as session:
        cycle_or_404(session, year)
        frame = analysis.scores(session, ctx.principal, year, member=code)
    return ScoreList(member=code, items=[ScoreOut(
        level=r.level, code=r.code, value=_number(r.value), score=_number(r.score),
        grade=_text(r.grade), status=_text(r.status), reason=_text(r.reason))
        for r in frame.itertuples(index=False)])
