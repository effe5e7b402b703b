"""Peer review: the Secretariat assigns reviewers, a reviewer reviews one revision at a time,
records findings per KPI, and either completes the review or asks for changes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from pmm.access import Principal, require, state_label
from pmm.assessment.common import now_or
from pmm.assessment.cycles import check_kpi
from pmm.assessment.submissions import bump_version, cycle_of, new_revision
from pmm.assessment.workflow import move, open_review
from pmm.errors import PmmError
from pmm.i18n import _
from pmm.store.audit import entry, record
from pmm.store.models import Finding, Review, ReviewAssignment, Submission, User


def reviewers(session: Session, sub: Submission) -> list[str]:
    return list(session.scalars(select(ReviewAssignment.reviewer)
                                .where(ReviewAssignment.submission_id == sub.id)
                                .order_by(ReviewAssignment.id)).all())


def assign(session: Session, actor: Principal, sub: Submission, reviewer: str, *,
           now: dt.datetime | None = None) -> None:
    """Assign a peer reviewer to a submission whose member asked for a review (Secretariat)."""
    require(actor, "assign_reviewer", member=sub.member, year=cycle_of(session, sub).year)
    if not sub.review_requested:
        raise PmmError(_("{member} has not asked for a peer review of this submission").format(
            member=sub.member))
    user = session.scalar(select(User).where(User.username == reviewer))
    if user is None or user.role != "peer_reviewer" or not user.active:
        raise PmmError(_("{name} is not an active user with the role peer_reviewer")
                       .format(name=reviewer))
    if reviewer in reviewers(session, sub):
        return
    now = now_or(now)
    session.add(ReviewAssignment(submission_id=sub.id, reviewer=reviewer,
                                 assigned_by=actor.username, at=now))
    record(session, [entry(actor.username, "review.assign", "review", key=sub.member,
                           field="reviewer", new=reviewer, cycle=cycle_of(session, sub).year,
                           member=sub.member, at=now)])
    session.flush()


def _require_reviewer(session: Session, actor: Principal, sub: Submission, action: str) -> None:
    require(actor, action, member=sub.member, year=cycle_of(session, sub).year)


def start(session: Session, actor: Principal, sub: Submission, *,
          expected_version: int | None = None, now: dt.datetime | None = None) -> Review:
    """Begin a review round of the current revision."""
    now = now_or(now)
    _require_reviewer(session, actor, sub, "start_review")
    move(session, actor, sub, "start_review", expected_version=expected_version, now=now)
    review = Review(submission_id=sub.id, revision=sub.revision, reviewer=actor.username,
                    started_at=now, summary="")
    session.add(review)
    session.flush()
    return review


def _open(session: Session, sub: Submission) -> Review:
    review = open_review(session, sub) if sub.state == "in_review" else None
    if review is None and sub.state == "resubmitted":
        raise PmmError(_("{member}'s submission was resubmitted as revision {rev} after the "
                         "requested changes: start the review again (a new round of the new "
                         "revision) before recording findings or completing it").format(
            member=sub.member, rev=sub.revision))
    if review is None:
        raise PmmError(_("{member}'s submission is {state}: no peer review is in progress")
                       .format(member=sub.member, state=state_label(sub.state)))
    return review


def add_finding(session: Session, actor: Principal, sub: Submission, text: str, *,
                kpi: str | None = None, now: dt.datetime | None = None) -> Finding:
    now = now_or(now)
    _require_reviewer(session, actor, sub, "add_finding")
    review = _open(session, sub)
    cycle = cycle_of(session, sub)
    check_kpi(cycle, kpi)
    if not text.strip():
        raise PmmError(_("a finding cannot be empty"))
    finding = Finding(review_id=review.id, kpi=kpi, text=text.strip(), at=now)
    session.add(finding)
    record(session, [entry(actor.username, "review.finding", "review", key=kpi or "",
                           field="finding", new=text.strip(), cycle=cycle.year,
                           member=sub.member, at=now)])
    session.flush()
    return finding


def request_changes(session: Session, actor: Principal, sub: Submission, reason: str, *,
                    expected_version: int | None = None, now: dt.datetime | None = None) -> None:
    """Close the round asking for changes; the member edits a new revision and resubmits."""
    now = now_or(now)
    _require_reviewer(session, actor, sub, "request_changes")
    if not reason.strip():
        raise PmmError(_("requesting changes needs a reason: what should change"))
    review = _open(session, sub)
    review.completed_at, review.outcome, review.summary = now, "changes_requested", reason
    new_revision(session, sub)
    move(session, actor, sub, "request_changes", reason=reason,
         expected_version=expected_version, now=now, revision=sub.revision)


def complete(session: Session, actor: Principal, sub: Submission, summary: str = "", *,
             expected_version: int | None = None, now: dt.datetime | None = None) -> None:
    """Close the round as accepted; the Secretariat can then validate."""
    now = now_or(now)
    _require_reviewer(session, actor, sub, "complete_review")
    review = _open(session, sub)
    review.completed_at, review.outcome, review.summary = now, "accepted", summary
    year = cycle_of(session, sub).year
    bump_version(session, sub, expected_version, now)
    record(session, [entry(actor.username, "review.complete", "review", key=sub.member,
                           field="outcome", new="accepted", reason=summary, cycle=year,
                           member=sub.member, at=now)])


def findings(session: Session, sub: Submission) -> list[tuple[Review, list[Finding]]]:
    rounds = session.scalars(select(Review).where(Review.submission_id == sub.id)
                             .order_by(Review.id)).all()
    return [(r, list(session.scalars(select(Finding).where(Finding.review_id == r.id)
                                     .order_by(Finding.id)).all())) for r in rounds]
