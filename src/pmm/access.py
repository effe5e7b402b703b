"""Who is looking, and the one policy that decides what they may read and do.

A `Principal` is always built from an authenticated user: a stored, active user named by the web
session, an API token or, on the command line, `--as USER` (`pmm.store.users.principal_for`).
The public web site's visitor is the anonymous principal `ANONYMOUS`; the WCO-level audience,
used only when the Secretariat computes what a release gives each audience, is
`audience("wco")`. Nothing else makes a principal, so nobody can claim to be someone.

The policy has three parts, all here:

- values (`visible`): the Secretariat sees every value; a member's NCP and read-only viewer see all
  of their own member's data whatever its state; other members' values are visible only once their
  submission is validated (or published) and only up to the principal's audience level
  (`SEES`: public for the public, viewers, working-body members and administrators; WCO level for
  NCPs and peer reviewers); a peer reviewer also sees all of each submission assigned to it;
- actions (`decide`, `require`, `actions_now`): who may do what, on which member's submission, in
  which workflow state; the workflow itself is the table `WORKFLOW`, from which the CLI and the web
  list the actions a user has right now;
- records (`may_read_submission`, `may_read_audit`): submissions in full, their evidence,
  comments and reviews, and audit entries.

Statistics about other members are not individual values: they reach anyone but the Secretariat
only through a release, audited for every audience (`pmm.analysis`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pmm.errors import PermissionDenied, PmmError
from pmm.i18n import _

# The roles of the PMM, plus the platform's administrator (who manages users and nothing else).
ROLES = ("secretariat", "ncp", "viewer", "peer_reviewer", "working_body", "admin")
MEMBER_ROLES = ("ncp", "viewer")
# Principals that are audiences rather than users (never stored, never given on a command line).
AUDIENCES = ("public", "wco")
DISCLOSURE_LEVELS = ("public", "wco", "restricted")
RANK = {level: i for i, level in enumerate(DISCLOSURE_LEVELS)}
# The widest disclosure level of OTHER members' validated values each role may see.
SEES = {"public": 0, "working_body": 0, "viewer": 0, "admin": 0, "wco": 1, "ncp": 1,
        "peer_reviewer": 1, "secretariat": 2}
VALIDATED_STATES = ("validated", "published")
STATES = ("draft", "submitted", "review_requested", "in_review", "changes_requested",
          "resubmitted", "validated", "published")
EDITABLE = ("draft", "changes_requested")


@dataclass(frozen=True)
class Principal:
    """An authenticated user (or an audience): user name, role, member, assigned submissions.

    `assigned`: the submissions a peer reviewer is assigned to, as (cycle year, member) pairs.
    """

    username: str
    role: str
    member: str | None = None
    assigned: frozenset[tuple[int, str]] = field(default_factory=frozenset)

    @property
    def label(self) -> str:
        if self.role in AUDIENCES:
            return self.role
        return f"{self.username} ({self.role}{', ' + self.member if self.member else ''})"

    @property
    def sees_all(self) -> bool:
        return self.role == "secretariat"

    @property
    def audience(self) -> str:
        """The disclosure level of other members' values this principal receives."""
        return DISCLOSURE_LEVELS[SEES[self.role]]

    def owns(self, member: str) -> bool:
        return self.role in MEMBER_ROLES and self.member == member

    def reviews(self, year: int, member: str) -> bool:
        return self.role == "peer_reviewer" and (int(year), member) in self.assigned


ANONYMOUS = Principal("", "public")


def audience(level: str) -> Principal:
    """The principal standing for a whole audience (`public` or `wco`), for release audits."""
    if level not in AUDIENCES:
        raise PmmError(_("audience {value!r}: expected public or wco").format(value=level))
    return ANONYMOUS if level == "public" else Principal("", "wco")


# ---------------------------------------------------------------- values


def visible(who: Principal, rows: pd.DataFrame, cycle: int | None = None) -> np.ndarray:
    """Boolean mask: which rows' individual values `who` may see.

    `rows` needs `member` and `disclosure` (public, wco, restricted); `validated` (bool, default
    True) and `cycle` (default the `cycle` argument) are used when present. Vectorised over rows.
    """
    n = len(rows)
    if who.sees_all:
        return np.ones(n, dtype=bool)
    missing = [c for c in ("member", "disclosure") if c not in rows.columns]
    if missing:
        raise PmmError(_("disclosure check: rows lack column(s) {columns}").format(
            columns=", ".join(missing)))
    disclosure = rows["disclosure"].astype(object).to_numpy()
    known = np.isin(disclosure, DISCLOSURE_LEVELS)
    if not known.all():
        bad = sorted({str(d) for d in disclosure[~known]})
        raise PmmError(_("disclosure {values}: expected one of {expected}").format(
            values=", ".join(bad), expected=", ".join(DISCLOSURE_LEVELS)))
    level = np.vectorize(RANK.__getitem__, otypes=[int])(disclosure) if n else np.zeros(0, int)
    validated = (rows["validated"].to_numpy(bool) if "validated" in rows.columns
                 else np.ones(n, dtype=bool))
    members = rows["member"].astype(str).to_numpy()
    mask = validated & (level <= SEES[who.role])
    if who.role in MEMBER_ROLES:
        mask |= members == who.member
    if who.role == "peer_reviewer" and who.assigned:
        if "cycle" in rows.columns:
            cycles = rows["cycle"].astype(int).to_numpy()
        elif cycle is not None:
            cycles = np.full(n, int(cycle))
        else:
            raise PmmError(_("disclosure check for a peer reviewer: rows need a cycle"))
        keys = pd.MultiIndex.from_arrays([cycles, members])
        mask |= keys.isin(pd.MultiIndex.from_tuples(sorted(who.assigned)))
    return mask


def most_restrictive(levels: Iterable[str]) -> str:
    """The most restrictive of disclosure levels (public for none)."""
    ranks = [RANK[level] for level in levels]
    return DISCLOSURE_LEVELS[max(ranks)] if ranks else "public"


# ---------------------------------------------------------------- actions


@dataclass(frozen=True)
class Rule:
    """One action: the roles that may take it, on whose submission, in which states.

    `scope`: `any` (not tied to a submission, or any member's), `own` (the principal's own
    member), `assigned` (a submission the peer reviewer is assigned to), `reader` (anyone who may
    read the submission in full). `from_states`: the states it may start from (empty: any state);
    `to_state`: the workflow state it leads to (None: the state does not change). `records`: the
    audit-trail action it writes.
    """

    action: str
    roles: tuple[str, ...]
    scope: str = "any"
    from_states: tuple[str, ...] = ()
    to_state: str | None = None
    records: str = ""


_AFTER_REQUEST = ("review_requested", "in_review", "changes_requested", "resubmitted",
                  "validated", "published")
# The workflow, and every other action on member data, as one table. The CLI and the web list a
# user's actions from it; the services ask `require` before they act.
WORKFLOW: tuple[Rule, ...] = (
    Rule("edit", ("ncp",), "own", EDITABLE, records="item.set"),
    Rule("explain", ("ncp",), "own", EDITABLE, records="explanation.set"),
    Rule("add_evidence", ("ncp",), "own", EDITABLE, records="evidence.add"),
    Rule("submit", ("ncp",), "own", ("draft",), "submitted", "workflow.submit"),
    Rule("request_review", ("ncp",), "own", ("submitted",), "review_requested",
         "workflow.request_review"),
    Rule("resubmit", ("ncp",), "own", ("changes_requested",), "resubmitted",
         "workflow.resubmit"),
    Rule("assign_reviewer", ("secretariat",), "any", _AFTER_REQUEST, records="review.assign"),
    Rule("start_review", ("peer_reviewer",), "assigned", ("review_requested", "resubmitted"),
         "in_review", "workflow.start_review"),
    Rule("add_finding", ("peer_reviewer",), "assigned", ("in_review",), records="review.finding"),
    Rule("request_changes", ("peer_reviewer",), "assigned", ("in_review",), "changes_requested",
         "workflow.request_changes"),
    Rule("complete_review", ("peer_reviewer",), "assigned", ("in_review",),
         records="review.complete"),
    Rule("validate", ("secretariat",), "any", ("submitted", "resubmitted", "in_review"),
         "validated", "workflow.validate"),
    Rule("publish", ("secretariat",), "any", ("validated",), "published", "workflow.publish"),
    Rule("reopen", ("secretariat",), "any",
         tuple(s for s in STATES if s not in EDITABLE), "draft", "workflow.reopen"),
    Rule("comment", ("ncp", "viewer", "peer_reviewer", "secretariat"), "reader",
         records="comment.add"),
    Rule("read_submission", ("ncp", "viewer", "peer_reviewer", "secretariat"), "reader"),
    Rule("whatif", ("ncp", "viewer", "peer_reviewer", "secretariat"), "reader"),
)
# Actions not tied to a submission.
GLOBAL: tuple[Rule, ...] = (
    Rule("start_submission", ("ncp",), "own", records="submission.start"),
    Rule("manage_cycles", ("secretariat",), records="cycle.create"),
    Rule("manage_users", ("admin",), records="user.add"),
    Rule("secretariat_views", ("secretariat",)),
    Rule("manage_releases", ("secretariat",), records="release.create"),
    Rule("read_audit", ("secretariat", "admin", "ncp", "viewer", "peer_reviewer")),
    # framework versions in the making (issue 12, parts 5 and 6)
    Rule("propose_kpi", ("working_body",), records="proposal.submit"),
    Rule("manage_frameworks", ("secretariat",), records="framework.draft"),
)
RULES = {rule.action: rule for rule in (*WORKFLOW, *GLOBAL)}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def may_read_submission(who: Principal, year: int, member: str) -> bool:
    """Whether `who` may read this member's submission in full (data, evidence, comments)."""
    return who.sees_all or who.owns(member) or who.reviews(year, member)


def decide(who: Principal, action: str, *, member: str | None = None, year: int | None = None,
           state: str | None = None) -> Decision:
    """May `who` take `action` (on `member`'s submission to cycle `year`, now in `state`)?"""
    rule = RULES.get(action)
    if rule is None:
        raise ValueError(f"unknown action {action!r}")
    label = action_label(action)
    if who.role not in rule.roles:
        return Decision(False, _("{user} may not {action}: this needs the role {roles}.").format(
            user=who.label, action=label,
            roles=_(" or ").join(role_label(r) for r in rule.roles)))
    if rule.scope == "own" and member is not None and not who.owns(member):
        return Decision(False, _("{user} may not {action} for {member}: only {own}'s own data."
                                 ).format(user=who.label, action=label, member=member,
                                          own=who.member))
    if rule.scope == "assigned" and member is not None and (
            year is None or not who.reviews(year, member)):
        return Decision(False, _("{user} is not assigned to review {member}'s submission.")
                        .format(user=who.label, member=member))
    if rule.scope == "reader" and member is not None and (
            year is None or not may_read_submission(who, year, member)):
        return Decision(False, _("{user} may not read {member}'s submission.").format(
            user=who.label, member=member))
    if state is not None and rule.from_states and state not in rule.from_states:
        return Decision(False, _("{member}'s submission is {state}: {action} needs it to be "
                                 "{allowed}.").format(
            member=member or "", state=state_label(state), action=label,
            allowed=_(" or ").join(state_label(s) for s in rule.from_states)))
    return Decision(True)


def require(who: Principal, action: str, *, member: str | None = None, year: int | None = None,
            state: str | None = None) -> None:
    """Raise `PermissionDenied` unless `decide` allows the action (role and member) and, when a
    state is given, `PmmError` if the workflow does not allow it from that state."""
    verdict = decide(who, action, member=member, year=year)
    if not verdict:
        raise PermissionDenied(verdict.reason)
    if state is not None:
        verdict = decide(who, action, member=member, year=year, state=state)
        if not verdict:
            raise PmmError(verdict.reason)


def actions_now(who: Principal, year: int, member: str, state: str) -> list[str]:
    """The workflow actions `who` may take on this submission now (for menus and buttons)."""
    return [rule.action for rule in WORKFLOW
            if decide(who, rule.action, member=member, year=year, state=state)]


def may_read_audit(who: Principal, entry_member: str | None, entry_cycle: int | None,
                   entity: str) -> bool:
    """Audit entries: the Secretariat reads all; the administrator the user entries; a member's
    users the entries about their member; a peer reviewer those of its assigned submissions."""
    if who.sees_all:
        return True
    if who.role == "admin":
        return entity == "user"
    if entry_member is None:
        return False
    if who.owns(entry_member):
        return True
    return entry_cycle is not None and who.reviews(entry_cycle, entry_member)


def action_label(action: str) -> str:
    labels = {
        "edit": _("change data"), "explain": _("explain a warning"),
        "add_evidence": _("attach evidence"), "submit": _("submit"),
        "request_review": _("request a peer review"), "resubmit": _("resubmit"),
        "assign_reviewer": _("assign a peer reviewer"), "start_review": _("start a peer review"),
        "add_finding": _("record a review finding"), "request_changes": _("request changes"),
        "complete_review": _("complete a peer review"), "validate": _("validate a submission"),
        "publish": _("publish a submission"), "reopen": _("reopen a submission"),
        "comment": _("comment"), "read_submission": _("read a submission"),
        "whatif": _("run a what-if"), "start_submission": _("start a submission"),
        "manage_cycles": _("create, open or close a cycle"), "manage_users": _("manage users"),
        "secretariat_views": _("use the Secretariat's views"),
        "manage_releases": _("create or withdraw a release"),
        "read_audit": _("read the audit trail"),
        "propose_kpi": _("propose a KPI"),
        "manage_frameworks": _("manage framework drafts and KPI proposals"),
    }
    return labels[action]


def role_label(role: str) -> str:
    labels = {"secretariat": _("Secretariat"), "ncp": _("National Contact Point"),
              "viewer": _("member viewer"), "peer_reviewer": _("peer reviewer"),
              "working_body": _("working-body member"), "admin": _("administrator"),
              "public": _("public"), "wco": _("WCO level")}
    return labels[role]


def state_label(state: str) -> str:
    labels = {"draft": _("draft"), "submitted": _("submitted"),
              "review_requested": _("review requested"), "in_review": _("in review"),
              "changes_requested": _("changes requested"), "resubmitted": _("resubmitted"),
              "validated": _("validated"), "published": _("published")}
    return labels.get(state, state)
