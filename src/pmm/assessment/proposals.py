"""KPI proposals: a working-body member proposes a KPI for a WCO tool; the Secretariat accepts
it into a draft framework version, or rejects it with a reason.

A proposal is checked when it is made, by the KPI criteria on the chosen framework version with
the KPI added (`pmm.framework.drafting.check_proposed_kpi`): errors refuse it and nothing is
stored; warnings are stored with it for the author and the Secretariat to read. It is checked
again when accepted, against the draft it goes into. Working-body members see their own
proposals; the Secretariat sees all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pmm.access import Principal, require
from pmm.assessment.common import now_or
from pmm.assessment.frameworks import (
    framework_of_draft,
    open_draft,
    replace_document,
    start_draft,
    version,
)
from pmm.errors import ConflictError, NotFound, PmmError
from pmm.framework.criteria import check
from pmm.framework.drafting import KpiCheck, check_proposed_kpi, with_kpi
from pmm.framework.model import KPI
from pmm.i18n import _
from pmm.store.audit import entry, record
from pmm.store.models import FrameworkDraft, KpiProposal

STATUSES = ("submitted", "accepted", "rejected")
MAX_RATIONALE = 4000
MAX_REASON = 2000


class ProposalRefused(PmmError):
    """A proposal the KPI criteria refuse; `check` holds the messages by form field."""

    def __init__(self, result: KpiCheck) -> None:
        self.check = result
        super().__init__(*result.lines())


def propose(session: Session, who: Principal, framework: str, fields: Mapping[str, Any],
            rationale: str, *, now: dt.datetime | None = None) -> tuple[KpiProposal, KpiCheck]:
    """Propose the KPI described by `fields` (`pmm.framework.drafting.TEXT_FIELDS` and
    `LIST_FIELDS`) against version `framework`; `ProposalRefused` if the criteria find an
    error. Returns the stored proposal and the check (with its warnings)."""
    require(who, "propose_kpi")
    fw = version(session, framework)
    rationale = (rationale or "").strip()
    result = check_proposed_kpi(fw, fields, rationale)
    if not rationale:
        result.error("rationale", _("expected why the KPI is needed and how the tool "
                                    "drives it"))
    elif len(rationale) > MAX_RATIONALE:
        result.error("rationale", _("at most {n} characters").format(n=MAX_RATIONALE))
    if not result.ok or result.kpi is None:
        raise ProposalRefused(result)
    kpi = result.kpi
    tool = next(t for t in fw.tools if t.code == kpi.tools[0])
    now = now_or(now)
    proposal = KpiProposal(framework_id=fw.id, kpi_code=kpi.code, working_body=tool.working_body,
                           tool=tool.code, kpi=kpi.model_dump_json(), rationale=rationale,
                           status="submitted", reason="", proposed_by=who.username,
                           proposed_at=now, version=1)
    session.add(proposal)
    session.flush()
    record(session, [entry(who.username, "proposal.submit", "proposal", key=str(proposal.id),
                           field="kpi", new=kpi.code, reason=rationale, at=now)])
    return proposal, result


def proposed_kpi(proposal: KpiProposal) -> KPI:
    return KPI.model_validate_json(proposal.kpi)


def list_proposals(session: Session, who: Principal,
                   status: str | None = None) -> list[KpiProposal]:
    """The Secretariat: every proposal; a working-body member: their own."""
    query = select(KpiProposal).order_by(KpiProposal.id.desc())
    if who.role == "secretariat":
        require(who, "manage_frameworks")
    else:
        require(who, "propose_kpi")
        query = query.where(KpiProposal.proposed_by == who.username)
    if status:
        if status not in STATUSES:
            raise PmmError(_("status {value!r}: expected one of {allowed}").format(
                value=status, allowed=", ".join(STATUSES)))
        query = query.where(KpiProposal.status == status)
    return list(session.scalars(query))


def get_proposal(session: Session, who: Principal, proposal_id: int) -> KpiProposal:
    """One proposal, for its author or the Secretariat (anyone else: not found)."""
    if who.role != "secretariat":
        require(who, "propose_kpi")
    proposal = session.get(KpiProposal, proposal_id)
    if proposal is None or (who.role != "secretariat" and proposal.proposed_by != who.username):
        raise NotFound(_("no KPI proposal {id} of yours").format(id=proposal_id)
                       if who.role != "secretariat"
                       else _("no KPI proposal {id}").format(id=proposal_id))
    return proposal


def _pending(session: Session, who: Principal, proposal_id: int,
             expected_version: int | None) -> KpiProposal:
    require(who, "manage_frameworks")
    proposal = get_proposal(session, who, proposal_id)
    if expected_version is not None and proposal.version != expected_version:
        raise ConflictError(_("KPI proposal {id} was changed by someone else (version {found}, "
                              "you had {expected}); reload and try again").format(
            id=proposal_id, found=proposal.version, expected=expected_version))
    if proposal.status != "submitted":
        raise PmmError(_("KPI proposal {id} is already {status}").format(
            id=proposal_id, status=status_label(proposal.status)))
    return proposal


def accept(session: Session, who: Principal, proposal_id: int, *, draft: str = "",
           base: str = "", new_draft: str = "", expected_version: int | None = None,
           now: dt.datetime | None = None) -> FrameworkDraft:
    """Accept a proposal into the draft `draft`, or into a new draft `new_draft` started from
    version `base`. The KPI criteria are run again on the draft with the KPI: an error refuses
    the acceptance and nothing changes (not even the new draft)."""
    proposal = _pending(session, who, proposal_id, expected_version)
    now = now_or(now)
    if draft and new_draft:
        raise PmmError(_("name either an existing draft or a new one, not both"))
    if new_draft:
        target = start_draft(session, who, base or proposal.framework_id, new_draft, now=now)
    elif draft:
        target = open_draft(session, who, draft)
    else:
        raise PmmError(_("name the draft the KPI goes into, or a new draft to start"))
    fw = framework_of_draft(target)
    kpi = proposed_kpi(proposal)
    if kpi.code in {k.code for k in fw.kpis}:
        raise PmmError(_("draft {draft} has a KPI {code} already; reject the proposal or "
                         "accept it into another draft").format(draft=fw.id, code=kpi.code))
    before = {str(f) for f in check(fw)}
    updated = with_kpi(fw, kpi)
    errors = [f for f in check(updated) if f.severity == "error" and str(f) not in before]
    if errors:
        raise PmmError(_("KPI {code} does not fit draft {draft}: the KPI criteria find {n} "
                         "errors").format(code=kpi.code, draft=fw.id, n=len(errors)),
                       *(str(f) for f in errors))
    replace_document(session, who, target, updated, "proposal.accept",
                     _("from KPI proposal {id}").format(id=proposal.id), now)
    _decide(session, who, proposal, "accepted", "", now)
    proposal.draft_id = target.id
    return target


def reject(session: Session, who: Principal, proposal_id: int, reason: str, *,
           expected_version: int | None = None, now: dt.datetime | None = None) -> KpiProposal:
    """Reject a proposal; the reason is required (its author reads it)."""
    proposal = _pending(session, who, proposal_id, expected_version)
    reason = (reason or "").strip()
    if not reason:
        raise PmmError(_("rejecting a KPI proposal needs a reason, which its author will read"))
    if len(reason) > MAX_REASON:
        raise PmmError(_("reason: at most {n} characters").format(n=MAX_REASON))
    _decide(session, who, proposal, "rejected", reason, now_or(now))
    return proposal


def _decide(session: Session, who: Principal, proposal: KpiProposal, status: str, reason: str,
            now: dt.datetime) -> None:
    record(session, [entry(who.username, f"proposal.{status[:-2]}", "proposal",
                           key=str(proposal.id), field="status", old=proposal.status,
                           new=status, reason=reason, at=now)])
    proposal.status = status
    proposal.reason = reason
    proposal.decided_by = who.username
    proposal.decided_at = now
    proposal.version += 1


def draft_of(session: Session, proposal: KpiProposal) -> str | None:
    """The id of the draft an accepted proposal went into."""
    if proposal.draft_id is None:
        return None
    draft = session.get(FrameworkDraft, proposal.draft_id)
    return draft.framework_id if draft else None


def status_label(status: str) -> str:
    return {"submitted": _("submitted"), "accepted": _("accepted"),
            "rejected": _("rejected")}.get(status, status)
