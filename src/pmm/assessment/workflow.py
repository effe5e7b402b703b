"""The submission workflow, and the checks that gate it.

    draft → submitted → [review_requested → in_review → changes_requested → resubmitted]
          → validated → published

The bracket happens only when the member asks for a peer review. The Secretariat can reopen a
submission at any later state except changes_requested (already editable), with a reason; it
goes back to draft as a new revision. Each transition checks the actor's role, bumps the
submission's version (so a stale transition fails) and is written to the audit trail with the
old and new state.

| action | from | to | who |
|---|---|---|---|
| submit | draft | submitted | the member's NCP |
| request_review | submitted | review_requested | the member's NCP |
| assign (review.py) | review_requested and later | (unchanged) | Secretariat |
| start_review | review_requested, resubmitted | in_review | an assigned peer reviewer |
| request_changes | in_review | changes_requested | the reviewer |
| complete_review | in_review | (unchanged; the round is closed as accepted) | the reviewer |
| resubmit | changes_requested | resubmitted | the member's NCP |
| validate | submitted, resubmitted, in_review once reviewed | validated | Secretariat |
| publish | validated | published | Secretariat |
| reopen | any but draft and changes_requested | draft | Secretariat (reason required) |
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from pmm.assessment.common import Actor, now_or, require
from pmm.assessment.cycles import accepting, framework_of
from pmm.assessment.submissions import (
    EDITABLE,
    bump_version,
    current_values,
    cycle_of,
    effective_kpis,
    explanations,
    new_revision,
    stored_kpis,
)
from pmm.assessment.validation import (
    DEFAULT_THRESHOLDS,
    Issue,
    Thresholds,
    check_plausibility,
    check_required,
    check_values,
    completeness,
)
from pmm.errors import PmmError
from pmm.framework.model import Framework
from pmm.i18n import _
from pmm.store.audit import entry, record
from pmm.store.models import Review, Submission

STATES = ("draft", "submitted", "review_requested", "in_review", "changes_requested",
          "resubmitted", "validated", "published")


@dataclass
class Report:
    """A submission's validation: errors, warnings (with their explanations), completeness."""

    errors: list[Issue]
    warnings: list[Issue]
    explained: dict[str, str]
    completeness: pd.DataFrame

    @property
    def unexplained(self) -> list[Issue]:
        return [w for w in self.warnings if w.id not in self.explained]

    @property
    def blocking(self) -> list[str]:
        """Lines that stop a submission: each error, each warning without explanation."""
        lines = [f"{i.where}: {i.message}" for i in self.errors]
        lines += [_("{where}: warning {id} needs an explanation: {message}").format(
            where=w.where, id=w.id, message=w.message) for w in self.unexplained]
        return lines


def peer_values(session: Session, sub: Submission) -> pd.DataFrame:
    """The current values of the cycle's submissions (for outlier warnings)."""
    from pmm.assessment.tables import cycle_values

    return cycle_values(session, cycle_of(session, sub).year)


def _current(session: Session, sub: Submission
             ) -> tuple[Framework, int, pd.DataFrame, dict[str, tuple[str, str, str]]]:
    """What every rule reads: framework, reporting year, current values, effective KPIs."""
    cycle = cycle_of(session, sub)
    fw = framework_of(cycle)
    return fw, cycle.year, current_values(session, sub), effective_kpis(
        fw, stored_kpis(session, sub))


def errors(session: Session, sub: Submission) -> list[Issue]:
    """Only the errors (values and required values), without the plausibility warnings."""
    fw, year, values, kpis = _current(session, sub)
    return check_values(fw, year, values) + check_required(fw, year, values, kpis)


def report(session: Session, sub: Submission, *, peers: pd.DataFrame | None = None,
           thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Report:
    """Run every rule on the submission's current revision."""
    fw, year, values, kpis = _current(session, sub)
    if peers is None:
        peers = peer_values(session, sub)
    found = check_values(fw, year, values) + check_required(fw, year, values, kpis)
    warnings = check_plausibility(fw, year, values, peers, thresholds)
    return Report(found, warnings, explanations(session, sub),
                  completeness(fw, year, values, kpis))


def _move(session: Session, actor: Actor, sub: Submission, action: str, to: str, *,
          allowed: tuple[str, ...], reason: str = "", expected_version: int | None,
          now: dt.datetime, **values: object) -> None:
    year = cycle_of(session, sub).year
    if sub.state not in allowed:
        raise PmmError(_("{member}'s submission to cycle {year} is {state}: {action} needs it "
                         "to be {allowed}.").format(member=sub.member, year=year,
                                                    state=sub.state, action=action,
                                                    allowed=_(" or ").join(allowed)))
    before = sub.state
    bump_version(session, sub, expected_version, now, state=to, **values)
    record(session, [entry(actor.username, f"workflow.{action}", "submission", key=sub.member,
                           field="state", old=before, new=to, reason=reason, cycle=year,
                           member=sub.member, at=now)])


def _check_submittable(session: Session, sub: Submission, now: dt.datetime,
                       peers: pd.DataFrame | None) -> None:
    cycle = cycle_of(session, sub)
    why = accepting(cycle, now)
    if why:
        raise PmmError(_("{member} cannot submit: {why}").format(member=sub.member, why=why))
    found = report(session, sub, peers=peers)
    if found.blocking:
        raise PmmError(_("{member}'s submission to cycle {year} cannot be submitted:").format(
            member=sub.member, year=cycle.year), *found.blocking)


def submit(session: Session, actor: Actor, sub: Submission, *, request_review: bool = False,
           expected_version: int | None = None, peers: pd.DataFrame | None = None,
           now: dt.datetime | None = None) -> None:
    """Submit a draft (refused while errors or unexplained warnings remain)."""
    now = now_or(now)
    require(actor, _("submit"), "ncp", member=sub.member)
    if sub.state == "draft":
        _check_submittable(session, sub, now, peers)
    _move(session, actor, sub, "submit", "submitted", allowed=("draft",),
          expected_version=expected_version, now=now, sealed_revision=sub.revision)
    if request_review:
        request_peer_review(session, actor, sub, now=now)


def request_peer_review(session: Session, actor: Actor, sub: Submission, *,
                        expected_version: int | None = None,
                        now: dt.datetime | None = None) -> None:
    now = now_or(now)
    require(actor, _("request a peer review"), "ncp", member=sub.member)
    _move(session, actor, sub, "request_review", "review_requested", allowed=("submitted",),
          expected_version=expected_version, now=now, review_requested=True)


def resubmit(session: Session, actor: Actor, sub: Submission, *,
             expected_version: int | None = None, peers: pd.DataFrame | None = None,
             now: dt.datetime | None = None) -> None:
    """Submit again after the reviewer asked for changes."""
    now = now_or(now)
    require(actor, _("resubmit"), "ncp", member=sub.member)
    if sub.state == "changes_requested":
        _check_submittable(session, sub, now, peers)
    _move(session, actor, sub, "resubmit", "resubmitted", allowed=("changes_requested",),
          expected_version=expected_version, now=now, sealed_revision=sub.revision)


def open_review(session: Session, sub: Submission) -> Review | None:
    return session.scalar(select(Review).where(Review.submission_id == sub.id,
                                               Review.completed_at.is_(None))
                          .order_by(Review.id.desc()))


def last_review(session: Session, sub: Submission) -> Review | None:
    return session.scalar(select(Review).where(Review.submission_id == sub.id)
                          .order_by(Review.id.desc()))


def validate(session: Session, actor: Actor, sub: Submission, *, reason: str = "",
             expected_version: int | None = None, now: dt.datetime | None = None) -> None:
    """The Secretariat accepts the submission's data."""
    now = now_or(now)
    require(actor, _("validate a submission"), "secretariat")
    if sub.state == "in_review":
        review = last_review(session, sub)
        if review is None or review.completed_at is None or review.outcome != "accepted":
            raise PmmError(_("{member}'s peer review is still in progress: the reviewer "
                             "completes it (or requests changes) first.").format(
                member=sub.member))
    found = errors(session, sub)
    if found:
        raise PmmError(_("{member}'s submission has errors and cannot be validated:").format(
            member=sub.member), *[f"{i.where}: {i.message}" for i in found])
    _move(session, actor, sub, "validate", "validated",
          allowed=("submitted", "resubmitted", "in_review"), reason=reason,
          expected_version=expected_version, now=now)


def publish(session: Session, actor: Actor, sub: Submission, *,
            expected_version: int | None = None, now: dt.datetime | None = None) -> None:
    now = now_or(now)
    require(actor, _("publish a submission"), "secretariat")
    _move(session, actor, sub, "publish", "published", allowed=("validated",),
          expected_version=expected_version, now=now)


def reopen(session: Session, actor: Actor, sub: Submission, reason: str, *,
           expected_version: int | None = None, now: dt.datetime | None = None) -> None:
    """Send a submission back to draft (as a new revision); the reason is recorded."""
    now = now_or(now)
    require(actor, _("reopen a submission"), "secretariat")
    if not reason.strip():
        raise PmmError(_("reopening needs a reason (--reason)"))
    allowed = tuple(s for s in STATES if s not in EDITABLE)
    review = open_review(session, sub)
    if review is not None:
        review.completed_at, review.outcome = now, "withdrawn"
    new_revision(session, sub)
    _move(session, actor, sub, "reopen", "draft", allowed=allowed, reason=reason,
          expected_version=expected_version, now=now, revision=sub.revision,
          review_requested=False)
