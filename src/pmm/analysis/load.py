"""The thin loading layer: a cycle's submitted data, KPI values, scores and peer groups.

Submitted data items are the only truth: KPI values are computed from them
(`pmm.scoring.kpi_values`) and scores from those (`pmm.scoring.pmm.score_cycle`). Official scores
are computed over the validated submissions only (relative rules such as percentile ranks rank a
member among validated peers); a member whose submission is not validated yet gets its own
scores against the same peers when asked for (`member=`).

Computing a cycle takes seconds, so the result is cached, keyed by the versions of the cycle and
of every one of its submissions (member, version, revision, state): a repeated read costs one
small query until a value changes, and then it is computed afresh.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from pmm.analysis.groups import declarations_of, memberships
from pmm.analysis.memo import Memo, database_of
from pmm.analysis.observations import build, validated_members
from pmm.assessment.cycles import framework_of, get_cycle, list_cycles
from pmm.assessment.tables import CycleTables, cycle_tables
from pmm.framework.model import Framework
from pmm.i18n import language
from pmm.scoring.kpi_values import COLUMNS as VALUE_COLUMNS
from pmm.scoring.kpi_values import kpi_values
from pmm.scoring.pmm import COLUMNS as SCORE_COLUMNS
from pmm.scoring.pmm import score_cycle
from pmm.store.models import Submission

CACHE_SIZE = 8


@dataclass
class CycleData:
    """Everything the analysis needs of one cycle (raw member data: pass it through the policy)."""

    year: int
    fw: Framework
    tables: CycleTables
    values: pd.DataFrame
    scores: pd.DataFrame
    obs: pd.DataFrame
    groups: pd.DataFrame
    digest: str = ""


_CACHE: Memo[CycleData] = Memo(CACHE_SIZE)


def data_digest(session: Session, year: int) -> str:
    """A digest of the cycle's version and of every submission's (member, version, revision,
    state): it changes whenever anything the analysis derives from changes."""
    cycle = get_cycle(session, year)
    rows = session.execute(
        select(Submission.member, Submission.version, Submission.revision, Submission.state)
        .where(Submission.cycle_id == cycle.id).order_by(Submission.member)).all()
    text = f"{cycle.year}|{cycle.version}|{cycle.framework_id}|" + ";".join(
        f"{m},{v},{r},{s}" for m, v, r, s in rows)
    return hashlib.sha256(text.encode()).hexdigest()


def load_cycle(session: Session, year: int, *, member: str | None = None) -> CycleData:
    """Cycle `year` with its KPI values, scores and observations (cached by data version)."""
    digest = data_digest(session, year)
    # reasons are words of the current language (`_()`): a French reader gets French ones
    key = (database_of(session), year, member, digest, language())
    return _CACHE.get(key, lambda: _compute(session, year, member, digest))


def _compute(session: Session, year: int, member: str | None, digest: str) -> CycleData:
    cycle = get_cycle(session, year)
    fw = framework_of(cycle)
    tables = cycle_tables(year, session=session)
    statuses = tables.kpis[["member", "kpi", "status", "note"]]
    if len(tables.kpis):
        values = kpi_values(fw, tables.values, statuses, year)
    else:
        values = pd.DataFrame(columns=VALUE_COLUMNS)
    validated = validated_members(tables.submissions)
    scores = _scores(fw, values, sorted(validated))
    if member is not None and member not in validated and member in set(values["member"]):
        extra = _scores(fw, values, sorted(validated | {member}))
        scores = pd.concat([scores, extra[extra["member"] == member]], ignore_index=True)
    obs = build(year, fw, values, scores, tables.kpis, validated)
    members = sorted(set(tables.submissions["member"]))
    groups = memberships(members, declarations_of(tables.values, year)).assign(cycle=year)
    return CycleData(year, fw, tables, values, scores, obs, groups, digest)


def _scores(fw: Framework, values: pd.DataFrame, members: list[str]) -> pd.DataFrame:
    subset = values[values["member"].isin(members)]
    if not len(subset):
        return pd.DataFrame(columns=SCORE_COLUMNS)
    return score_cycle(fw, subset)


def previous_year(session: Session, year: int) -> int | None:
    """The cycle before `year`, if any."""
    earlier = [c.year for c in list_cycles(session) if c.year < year]
    return max(earlier) if earlier else None
