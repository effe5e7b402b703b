"""The submission workflow, and the checks that gate it.

    draft → submitted → [review_requested → in_review → changes_requested → resubmitted]
          → validated → published

The bracket happens only when the member asks for a peer review. The Secretariat can reopen a
submission at any later state except changes_requested (already editable), with a reason; it
goes back to draft as a new revision. Who may take each step, from which states and to which
state, is the table `pmm.access.WORKFLOW` (docs/secretariat-guide.md prints it); each step here
asks the policy, bumps the submission's version (so a stale step fails) and writes the audit
trail with the old and new state. Validation also waits for an accepted review when one is in
progress.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from pmm.access import (
    DISCLOSURE_LEVELS,
    RANK,
    RULES,
    VALIDATED_STATES,
    Principal,
    require,
    visible,
)
from pmm.assessment.common import now_or
from pmm.assessment.cycles import accepting, framework_of
from pmm.assessment.submissions import (
    bump_version,
    current_values,
    cycle_of,
    effective_kpis,
    explain,
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
    did_you_mean,
)
from pmm.errors import NotFound, PmmError
from pmm.framework.model import Framework
from pmm.i18n import _
from pmm.store.audit import entry, record
from pmm.store.models import Cycle, Review, Submission


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


def peer_values(session: Session, sub: Submission, actor: Principal) -> pd.DataFrame:
    """The values of other members' submissions that `actor` may know, for outlier warnings.

    A data item takes the most restrictive disclosure of the member's KPIs that use it, and only
    values `actor` may see pass (`pmm.access.visible`): a member compares itself with validated
    values disclosed to its audience, never with other members' drafts or restricted values.
    """
    cycle = cycle_of(session, sub)
    # other members' values are visible only once validated: read only those, unless `actor`
    # sees everything
    rows = _peer_rows(session, cycle, None if actor.sees_all else VALIDATED_STATES)
    rows = rows[rows["member"] != sub.member]
    if not actor.sees_all and len(rows):
        rows = rows[visible(actor, rows.assign(validated=True), cycle=cycle.year)]
    return rows.drop(columns="disclosure")


_PEER_ROWS: dict[tuple, pd.DataFrame] = {}


def _peer_rows(session: Session, cycle: Cycle, states: tuple[str, ...] | None) -> pd.DataFrame:
    """The cycle's values in `states` with each item's disclosure, cached until one of those
    submissions changes (every change bumps its version): a page or a check reads them often."""
    from pmm.assessment.tables import cycle_kpis, cycle_values

    chosen = select(Submission.member, Submission.version, Submission.revision).where(
        Submission.cycle_id == cycle.id)
    if states is not None:
        chosen = chosen.where(Submission.state.in_(states))
    key = (str(session.get_bind().url), cycle.id, states,
           tuple(sorted(tuple(r) for r in session.execute(chosen).all())))
    if key in _PEER_ROWS:
        return _PEER_ROWS[key]
    values = cycle_values(session, cycle.year, states)
    if values.empty:
        return values.assign(disclosure=pd.Series(dtype=object))
    fw = framework_of(cycle)
    uses = pd.DataFrame([(k.code, item) for k in fw.kpis for item in k.data_items],
                        columns=["kpi", "data_item"])
    levels = cycle_kpis(session, cycle.year, states).merge(uses, on="kpi")
    levels["rank"] = levels["disclosure"].map(RANK)
    item_level = levels.groupby(["member", "data_item"], as_index=False)["rank"].max()
    item_level["disclosure"] = item_level["rank"].map(dict(enumerate(DISCLOSURE_LEVELS)))
    rows = values.merge(item_level[["member", "data_item", "disclosure"]],
                        on=["member", "data_item"], how="left")
    rows["disclosure"] = rows["disclosure"].fillna("restricted")
    if len(_PEER_ROWS) >= 16:
        _PEER_ROWS.pop(next(iter(_PEER_ROWS)))
    _PEER_ROWS[key] = rows
    return rows


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


def report(session: Session, sub: Submission, actor: Principal, *,
           peers: pd.DataFrame | None = None,
           thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Report:
    """Run every rule on the submission's current revision, as `actor` may see it: outliers
    are judged against the values `actor` may know (`peer_values`)."""
    require(actor, "read_submission", member=sub.member, year=cycle_of(session, sub).year)
    fw, year, values, kpis = _current(session, sub)
    if peers is None:
        peers = peer_values(session, sub, actor)
    found = check_values(fw, year, values) + check_required(fw, year, values, kpis)
    warnings = check_plausibility(fw, year, values, peers, thresholds)
    return Report(found, warnings, explanations(session, sub),
                  completeness(fw, year, values, kpis))


def explain_warning(session: Session, actor: Principal, sub: Submission, warning: str, text: str,
                    *, expected_version: int | None = None, now: dt.datetime | None = None
                    ) -> None:
    """Explain one of the warnings the submission has now (an unknown id is refused, so an
    explanation never sits on a warning that does not exist)."""
    ids = [w.id for w in report(session, sub, actor).warnings]
    if warning not in ids:
        year = cycle_of(session, sub).year
        raise NotFound(_("{id!r} is not a warning of {member}'s submission to cycle {year} "
                         "(its warnings now: {ids})").format(
            id=warning, member=sub.member, year=year, ids=", ".join(ids) or _("none"))
            + did_you_mean(warning, ids))
    explain(session, actor, sub, warning, text, expected_version=expected_version, now=now)


def move(session: Session, actor: Principal, sub: Submission, action: str, *,
         reason: str = "", expected_version: int | None, now: dt.datetime,
         **values: object) -> None:
    """Take the workflow step `action` of `pmm.access.WORKFLOW` (the policy decides)."""
    rule = RULES[action]
    year = cycle_of(session, sub).year
    require(actor, action, member=sub.member, year=year, state=sub.state)
    before = sub.state
    to = rule.to_state or before
    bump_version(session, sub, expected_version, now, state=to, **values)
    record(session, [entry(actor.username, rule.records, "submission", key=sub.member,
                           field="state", old=before, new=to, reason=reason, cycle=year,
                           member=sub.member, at=now)])


def _check_submittable(session: Session, actor: Principal, sub: Submission, now: dt.datetime,
                       peers: pd.DataFrame | None) -> None:
    cycle = cycle_of(session, sub)
    why = accepting(cycle, now)
    if why:
        raise PmmError(_("{member} cannot submit: {why}").format(member=sub.member, why=why))
    found = report(session, sub, actor, peers=peers)
    if found.blocking:
        raise PmmError(_("{member}'s submission to cycle {year} cannot be submitted:").format(
            member=sub.member, year=cycle.year), *found.blocking)


def _may(session: Session, actor: Principal, sub: Submission, action: str) -> None:
    """Refuse early, before any check, a principal whose role or member rules `action` out."""
    require(actor, action, member=sub.member, year=cycle_of(session, sub).year)


def submit(session: Session, actor: Principal, sub: Submission, *,
           request_review: bool = False, expected_version: int | None = None,
           peers: pd.DataFrame | None = None, now: dt.datetime | None = None) -> None:
    """Submit a draft (refused while errors or unexplained warnings remain)."""
    now = now_or(now)
    _may(session, actor, sub, "submit")
    if sub.state == "draft":
        _check_submittable(session, actor, sub, now, peers)
    move(session, actor, sub, "submit", expected_version=expected_version, now=now,
         sealed_revision=sub.revision)
    if request_review:
        request_peer_review(session, actor, sub, now=now)


def request_peer_review(session: Session, actor: Principal, sub: Submission, *,
                        expected_version: int | None = None,
                        now: dt.datetime | None = None) -> None:
    move(session, actor, sub, "request_review", expected_version=expected_version,
         now=now_or(now), review_requested=True)


def resubmit(session: Session, actor: Principal, sub: Submission, *,
             expected_version: int | None = None, peers: pd.DataFrame | None = None,
             now: dt.datetime | None = None) -> None:
    """Submit again after the reviewer asked for changes."""
    now = now_or(now)
    _may(session, actor, sub, "resubmit")
    if sub.state == "changes_requested":
        _check_submittable(session, actor, sub, now, peers)
    move(session, actor, sub, "resubmit", expected_version=expected_version, now=now,
         sealed_revision=sub.revision)


def open_review(session: Session, sub: Submission) -> Review | None:
    return session.scalar(select(Review).where(Review.submission_id == sub.id,
                                               Review.completed_at.is_(None))
                          .order_by(Review.id.desc()))


def last_review(session: Session, sub: Submission) -> Review | None:
    return session.scalar(select(Review).where(Review.submission_id == sub.id)
                          .order_by(Review.id.desc()))


def validate(session: Session, actor: Principal, sub: Submission, *, reason: str = "",
             expected_version: int | None = None, now: dt.datetime | None = None) -> None:
    """The Secretariat accepts the submission's data."""
    now = now_or(now)
    _may(session, actor, sub, "validate")
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
    move(session, actor, sub, "validate", reason=reason, expected_version=expected_version,
         now=now)


def publish(session: Session, actor: Principal, sub: Submission, *,
            expected_version: int | None = None, now: dt.datetime | None = None) -> None:
    move(session, actor, sub, "publish", expected_version=expected_version, now=now_or(now))


def reopen(session: Session, actor: Principal, sub: Submission, reason: str, *,
           expected_version: int | None = None, now: dt.datetime | None = None) -> None:
    """Send a submission back to draft (as a new revision); the reason is recorded."""
    now = now_or(now)
    _may(session, actor, sub, "reopen")
    if not reason.strip():
        raise PmmError(_("reopening needs a reason"))
    require(actor, "reopen", member=sub.member, year=cycle_of(session, sub).year,
            state=sub.state)
    review = open_review(session, sub)
    if review is not None:
        review.completed_at, review.outcome = now, "withdrawn"
    new_revision(session, sub)
    move(session, actor, sub, "reopen", reason=reason, expected_version=expected_version,
         now=now, revision=sub.revision, review_requested=False)
