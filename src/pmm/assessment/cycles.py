"""Cycles: one round of the PMM, named by its reporting year T.

A cycle keeps a copy of its framework as it was when the cycle was created, so a later change
of the catalogue never changes what a cycle asked for or how its submissions are validated.
States: planned → open ⇄ closed (re-opening a closed cycle needs a reason).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from pmm.access import Principal, require
from pmm.assessment.common import now_or
from pmm.assessment.frameworks import adopted_framework
from pmm.errors import ConflictError, NotFound, PmmError
from pmm.framework.model import Framework
from pmm.i18n import _
from pmm.store.audit import entry, record
from pmm.store.models import Cycle

STATES = ("planned", "open", "closed")


@lru_cache(maxsize=8)
def _framework(text: str) -> Framework:
    return Framework.model_validate_json(text)


def framework_of(cycle: Cycle) -> Framework:
    """The cycle's own copy of its framework."""
    return _framework(cycle.framework_json)


def check_kpi(cycle: Cycle, kpi: str | None) -> None:
    """Refuse a `--kpi` that is not a KPI of the cycle's framework (None: no KPI named)."""
    if kpi is not None and kpi not in {k.code for k in framework_of(cycle).kpis}:
        raise PmmError(_("{value!r} is not a KPI of framework {fw}").format(
            value=kpi, fw=cycle.framework_id))


def get_cycle(session: Session, year: int) -> Cycle:
    cycle = session.scalar(select(Cycle).where(Cycle.year == year))
    if cycle is None:
        known = session.scalars(select(Cycle.year).order_by(Cycle.year)).all()
        raise NotFound(_("no cycle reports on {year} (cycles: {known}); the Secretariat "
                         "creates cycles.").format(
            year=year, known=", ".join(map(str, known)) or _("none")))
    return cycle


def list_cycles(session: Session) -> list[Cycle]:
    return list(session.scalars(select(Cycle).order_by(Cycle.year)).all())


def create_cycle(session: Session, actor: Principal, year: int, framework: str, opens_on: dt.date,
                 closes_on: dt.date, *, now: dt.datetime | None = None) -> Cycle:
    """Create a planned cycle reporting on calendar year `year` with `framework`: a shipped id,
    a path, or the id of a version adopted on the platform (`pmm.assessment.frameworks`)."""
    require(actor, "manage_cycles")
    problems = []
    if not 2000 <= year <= 2100:
        problems.append(_("reporting year {year}: expected a calendar year from 2000 to 2100")
                        .format(year=year))
    if closes_on < opens_on:
        problems.append(_("closing date {closes} is before the opening date {opens}").format(
            closes=closes_on, opens=opens_on))
    if opens_on.year <= year:
        problems.append(_("opening date {opens}: a cycle reporting on {year} opens after that "
                          "year has ended (from {first})").format(
            opens=opens_on, year=year, first=dt.date(year + 1, 1, 1)))
    if problems:
        raise PmmError(*problems)
    if session.scalar(select(Cycle.id).where(Cycle.year == year)) is not None:
        raise PmmError(_("a cycle reporting on {year} already exists").format(year=year))
    fw = _valid_framework(framework, adopted_framework(session, framework))
    now = now_or(now)
    cycle = Cycle(year=year, framework_id=fw.id, framework_json=fw.model_dump_json(),
                  opens_on=opens_on, closes_on=closes_on, state="planned", created_at=now,
                  version=1)
    session.add(cycle)
    session.flush()
    record(session, [entry(actor.username, "cycle.create", "cycle", key=str(year),
                           field="framework", new=fw.id, cycle=year, at=now),
                     entry(actor.username, "cycle.create", "cycle", key=str(year), field="dates",
                           new=f"{opens_on}..{closes_on}", cycle=year, at=now)])
    return cycle


def _valid_framework(ref: str, adopted: Framework | None = None) -> Framework:
    """The framework `ref` (a version adopted on the platform, given as `adopted`, or a shipped
    id or a path), refused unless it passes `pmm framework validate` (errors only: quality
    warnings do not stop a cycle). Members would otherwise report against formulas that cannot
    be computed, and scoring would fail later, far from the cause."""
    from pmm.framework.criteria import check, validate

    if adopted is not None:
        fw, findings = adopted, check(adopted)
    else:
        fw, findings = validate(ref)
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        raise PmmError(_("framework {ref} does not validate ({n} errors): a cycle can only be "
                         "created on a framework that passes validation").format(
            ref=ref, n=len(errors)), *(str(f) for f in errors))
    return fw


def _bump(session: Session, cycle: Cycle, expected: int | None) -> None:
    if expected is not None and cycle.version != expected:
        raise ConflictError(_("cycle {year} was changed by someone else (version {found}, you "
                              "had {expected}); reload and try again").format(
            year=cycle.year, found=cycle.version, expected=expected))
    cycle.version += 1


def set_state(session: Session, actor: Principal, year: int, state: str, *, reason: str = "",
              expected_version: int | None = None, now: dt.datetime | None = None) -> Cycle:
    """Open or close a cycle (Secretariat)."""
    require(actor, "manage_cycles")
    cycle = get_cycle(session, year)
    allowed = {"open": ("planned", "closed"), "closed": ("open",)}
    if state not in allowed or cycle.state not in allowed[state]:
        raise PmmError(_("cycle {year} is {state}: it cannot become {new}").format(
            year=year, state=cycle.state, new=state))
    if cycle.state == "closed" and not reason.strip():
        raise PmmError(_("re-opening the closed cycle {year} needs a reason").format(year=year))
    now = now_or(now)
    _bump(session, cycle, expected_version)
    record(session, [entry(actor.username, f"cycle.{'open' if state == 'open' else 'close'}",
                           "cycle", key=str(year), field="state", old=cycle.state, new=state,
                           reason=reason, cycle=year, at=now)])
    cycle.state = state
    return cycle


def accepting(cycle: Cycle, now: dt.datetime) -> str | None:
    """Why members cannot enter or submit data now (None: they can)."""
    today = now.astimezone(dt.UTC).date()
    if cycle.state != "open":
        return _("cycle {year} is {state}").format(year=cycle.year, state=cycle.state)
    if today < cycle.opens_on:
        return _("cycle {year} opens on {date}").format(year=cycle.year, date=cycle.opens_on)
    if today > cycle.closes_on:
        return _("cycle {year} closed on {date}").format(year=cycle.year, date=cycle.closes_on)
    return None
