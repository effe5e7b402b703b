"""The thin loading layer: a cycle's submitted data, KPI values, scores and peer groups.

Submitted data items are the only truth: KPI values are computed from them
(`pmm.scoring.kpi_values`) and scores from those (`pmm.scoring.pmm.score_cycle`), every time.
Official scores are computed over the validated submissions only (relative rules such as
percentile ranks rank a member among validated peers); a member whose submission is not
validated yet gets its own scores against the same peers when asked for (`member=`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from pmm.analysis.disclosure import Viewer
from pmm.analysis.groups import declarations_of, memberships
from pmm.analysis.observations import build, validated_members
from pmm.assessment.cycles import framework_of, get_cycle, list_cycles
from pmm.assessment.tables import CycleTables, cycle_tables
from pmm.errors import PmmError
from pmm.framework.model import Framework
from pmm.i18n import _
from pmm.scoring.kpi_values import COLUMNS as VALUE_COLUMNS
from pmm.scoring.kpi_values import kpi_values
from pmm.scoring.pmm import COLUMNS as SCORE_COLUMNS
from pmm.scoring.pmm import score_cycle
from pmm.store.engine import transaction
from pmm.store.models import Cycle, ReviewAssignment, Submission, User


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


def load_cycle(year: int, database_url: str | None = None, *, session: Session | None = None,
               member: str | None = None) -> CycleData:
    """Load cycle `year` and compute its KPI values, scores and observations."""
    if session is None:
        with transaction(database_url) as own:
            return load_cycle(year, session=own, member=member)
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
    return CycleData(year, fw, tables, values, scores, obs, groups)


def _scores(fw: Framework, values: pd.DataFrame, members: list[str]) -> pd.DataFrame:
    subset = values[values["member"].isin(members)]
    if not len(subset):
        return pd.DataFrame(columns=SCORE_COLUMNS)
    return score_cycle(fw, subset)


def previous_year(year: int, database_url: str | None = None, *,
                  session: Session | None = None) -> int | None:
    """The cycle before `year`, if any."""
    if session is None:
        with transaction(database_url) as own:
            return previous_year(year, session=own)
    earlier = [c.year for c in list_cycles(session) if c.year < year]
    return max(earlier) if earlier else None


def resolve_viewer(viewer: Viewer, database_url: str | None = None, *,
                   session: Session | None = None) -> Viewer:
    """A peer reviewer named by user name gets its assigned submissions from the database."""
    if viewer.kind != "peer_reviewer" or not viewer.name or viewer.assigned:
        return viewer
    if session is None:
        with transaction(database_url) as own:
            return resolve_viewer(viewer, session=own)
    user = session.scalar(select(User).where(User.username == viewer.name))
    if user is None or user.role != "peer_reviewer" or not user.active:
        raise PmmError(_("--viewer reviewer:{name}: not an active user with the role "
                         "peer_reviewer").format(name=viewer.name))
    rows = session.execute(
        select(Cycle.year, Submission.member)
        .join(Submission, Submission.id == ReviewAssignment.submission_id)
        .join(Cycle, Cycle.id == Submission.cycle_id)
        .where(ReviewAssignment.reviewer == viewer.name)).all()
    return Viewer("peer_reviewer", assigned=frozenset((int(y), m) for y, m in rows),
                  name=viewer.name)
