"""Every submission of a cycle at once, as tidy column tables (for scoring and analysis).

These read raw member data with no disclosure filter: they are for computations whose outputs
then pass the disclosure policy, never for showing values to a user directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from pmm.assessment.cycles import framework_of, get_cycle
from pmm.store.engine import transaction
from pmm.store.models import ItemValue, KpiStatus, Submission

VALUES = ["member", "data_item", "year", "breakdown", "value", "status"]
KPIS = ["member", "kpi", "status", "disclosure", "note"]
SUBMISSIONS = ["member", "state", "revision", "version", "review_requested", "updated_at"]


@dataclass(frozen=True)
class CycleTables:
    """A cycle's current data.

    - `values`: member, data_item, year (calendar), breakdown ("" = total), value (float, NaN
      when not available), status (reported, not_available); one row per stored value.
    - `kpis`: member, kpi, status (reported, not_applicable, not_available), disclosure
      (public, wco, restricted), note; one row per member and KPI of the framework, defaults
      filled in (reported, the framework's disclosure).
    - `submissions`: member, state (workflow), revision, version, review_requested,
      updated_at; one row per member that started a submission.
    """

    year: int
    framework_id: str
    values: pd.DataFrame
    kpis: pd.DataFrame
    submissions: pd.DataFrame


def _in_states(states: tuple[str, ...] | None):  # type: ignore[no-untyped-def]
    return Submission.state.in_(states) if states is not None else True


def cycle_values(session: Session, year: int, states: tuple[str, ...] | None = None
                 ) -> pd.DataFrame:
    """The values of the cycle's submissions (only those in `states`, if given)."""
    cycle = get_cycle(session, year)
    query = (select(Submission.member, ItemValue.data_item, ItemValue.year, ItemValue.breakdown,
                    ItemValue.value, ItemValue.status)
             .join(Submission, and_(Submission.id == ItemValue.submission_id,
                                    Submission.revision == ItemValue.revision))
             .where(Submission.cycle_id == cycle.id, _in_states(states))
             .order_by(Submission.member, ItemValue.data_item, ItemValue.year,
                       ItemValue.breakdown))
    frame = pd.DataFrame(session.execute(query).all(), columns=VALUES)
    return frame.astype({"value": "float64", "year": "int64"})


def cycle_submissions(session: Session, year: int) -> pd.DataFrame:
    cycle = get_cycle(session, year)
    rows = session.execute(select(Submission.member, Submission.state, Submission.revision,
                                  Submission.version, Submission.review_requested,
                                  Submission.updated_at)
                           .where(Submission.cycle_id == cycle.id)
                           .order_by(Submission.member)).all()
    return pd.DataFrame(rows, columns=SUBMISSIONS)


def cycle_kpis(session: Session, year: int, states: tuple[str, ...] | None = None
               ) -> pd.DataFrame:
    """Every KPI's status and disclosure per submission (only those in `states`, if given)."""
    cycle = get_cycle(session, year)
    fw = framework_of(cycle)
    members = pd.DataFrame({"member": session.scalars(
        select(Submission.member).where(Submission.cycle_id == cycle.id, _in_states(states))
        .order_by(Submission.member)).all()})
    defaults = pd.DataFrame({"kpi": [k.code for k in fw.kpis],
                             "default_disclosure": [k.disclosure for k in fw.kpis],
                             "order": range(len(fw.kpis))})
    grid = members.merge(defaults, how="cross")
    stored = pd.DataFrame(session.execute(
        select(Submission.member, KpiStatus.kpi, KpiStatus.status, KpiStatus.disclosure,
               KpiStatus.note)
        .join(Submission, and_(Submission.id == KpiStatus.submission_id,
                               Submission.revision == KpiStatus.revision))
        .where(Submission.cycle_id == cycle.id, _in_states(states))).all(), columns=KPIS)
    out = grid.merge(stored, on=["member", "kpi"], how="left")
    out["status"] = out["status"].fillna("reported")
    out["disclosure"] = out["disclosure"].fillna(out["default_disclosure"])
    out["note"] = out["note"].fillna("")
    return out.sort_values(["member", "order"])[KPIS].reset_index(drop=True)


def cycle_tables(year: int, database_url: str | None = None, *,
                 session: Session | None = None) -> CycleTables:
    """The current revision of every submission to cycle `year`, as three tidy DataFrames."""
    if session is None:
        with transaction(database_url) as own:
            return cycle_tables(year, session=own)
    cycle = get_cycle(session, year)
    return CycleTables(year, cycle.framework_id, cycle_values(session, year),
                       cycle_kpis(session, year), cycle_submissions(session, year))
