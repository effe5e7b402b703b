"""The one access policy, checked against the services that enforce it.

Generated from `pmm.access.WORKFLOW`: every action × every kind of principal (each role; a
member's users for their own member and for another; a peer reviewer assigned or not) × every
workflow state is tried on a real submission in that state, through the assessment services, on
SQLite and PostgreSQL, each attempt in a transaction that is rolled back. The service must refuse
with `PermissionDenied` exactly when the policy refuses the role or member, refuse without a
permission error when the workflow state rules the action out, and act otherwise. The value rule
(`visible`) is checked against the table of docs/secretariat-guide.md, written out here apart
from the code.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from pmm import access
from pmm.access import WORKFLOW, Principal, decide, visible
from pmm.assessment import review, workflow
from pmm.assessment.evidence import add_evidence, list_evidence
from pmm.assessment.submissions import (
    ItemChange,
    apply_changes,
    comment,
    explain,
    get_submission,
    readable_submission,
    start_submission,
)
from pmm.cli import run
from pmm.errors import PermissionDenied, PmmError
from pmm.store.audit import trail
from pmm.store.engine import transaction
from pmm.store.users import add_user, hash_password, principal_for
from tests.assessment.conftest import COMPLETE, prepare, write_csv

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# One submission per workflow state (in review twice: with the round open, and completed).
STATES = {"draft": "FRA", "submitted": "DEU", "review_requested": "ITA",
          "in_review_open": "ESP", "in_review_done": "PRT", "changes_requested": "BEL",
          "resubmitted": "NLD", "validated": "AUT", "published": "POL"}
# Refusals that are neither the role nor the state: the services' own preconditions.
PRECONDITIONS = {
    ("validate", "in_review_open"): "still in progress",
    ("add_finding", "in_review_done"): "no peer review is in progress",
    ("request_changes", "in_review_done"): "no peer review is in progress",
    ("complete_review", "in_review_done"): "no peer review is in progress",
}
WARNING_DATA = {**COMPLETE, ("declarations", 2023, ""): "100"}  # ×10 in a year: a warning


def _username(who_key: str, member: str) -> str:
    """The user standing for a kind of principal on `member`'s submission."""
    other = "fra" if member != "FRA" else "deu"
    return {"secretariat": "sec", "ncp own": f"ncp-{member.lower()}", "ncp other": f"ncp-{other}",
            "viewer own": f"view-{member.lower()}", "viewer other": f"view-{other}",
            "reviewer assigned": "rev", "reviewer not assigned": "rev2",
            "working body": "wb", "administrator": "admin"}[who_key]


def _calls(year: int) -> dict[str, Callable[[Session, Principal, object], object]]:
    """One call of the service behind each action of the workflow table."""
    return {
        "edit": lambda s, who, sub: apply_changes(
            s, who, sub, [ItemChange("aeo_count", year, "", 111)]),
        "explain": lambda s, who, sub: explain(
            s, who, sub, _warning(s, sub), "Customs reform in 2024"),
        "add_evidence": lambda s, who, sub: add_evidence(s, who, sub, "scan.png", PNG),
        "submit": lambda s, who, sub: workflow.submit(s, who, sub),
        "request_review": lambda s, who, sub: workflow.request_peer_review(s, who, sub),
        "resubmit": lambda s, who, sub: workflow.resubmit(s, who, sub),
        "assign_reviewer": lambda s, who, sub: review.assign(s, who, sub, "rev2"),
        "start_review": lambda s, who, sub: review.start(s, who, sub),
        "add_finding": lambda s, who, sub: review.add_finding(s, who, sub, "Checked."),
        "request_changes": lambda s, who, sub: review.request_changes(s, who, sub, "Source?"),
        "complete_review": lambda s, who, sub: review.complete(s, who, sub, "Fine."),
        "validate": lambda s, who, sub: workflow.validate(s, who, sub),
        "publish": lambda s, who, sub: workflow.publish(s, who, sub),
        "reopen": lambda s, who, sub: workflow.reopen(s, who, sub, "Revised figures."),
        "comment": lambda s, who, sub: comment(s, who, sub, "A question."),
        "read_submission": lambda s, who, sub: (readable_submission(s, who, year, sub.member),
                                                list_evidence(s, who, sub)),
    }


def _warning(session: Session, sub) -> str:  # type: ignore[no-untyped-def]
    found = workflow.report(session, sub, principal_for(session, "sec"))
    return found.warnings[0].id


class _Undo(Exception):
    """Raised to roll an attempt back."""


def _attempt(url: str, member: str, username: str, call: Callable
             ) -> tuple[Principal, PmmError | None]:
    """Call the service as `username` in a transaction that is always rolled back."""
    who = None
    try:
        with transaction(url) as session:
            who = principal_for(session, username)
            call(session, who, get_submission(session, 2024, member))
            raise _Undo
    except _Undo:
        return who, None
    except PmmError as exc:
        assert who is not None
        return who, exc


@pytest.fixture
def states_db(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Cycle 2024 with one submission in every workflow state, users for each member."""
    url = prepare(database_url, monkeypatch)
    pw = hash_password("correct horse battery")
    with transaction(url) as session:
        for member in [*STATES.values(), "SWE"]:
            for role, prefix in (("ncp", "ncp"), ("viewer", "view")):
                name = f"{prefix}-{member.lower()}"
                if name not in ("ncp-fra", "ncp-deu", "view-fra"):
                    add_user(session, name, role, member=member, password_hash=pw)
    csv = write_csv(tmp_path / "data.csv", WARNING_DATA)
    for state, member in STATES.items():
        ncp = f"ncp-{member.lower()}"
        assert run(["submission", "import", str(csv), "--cycle", "2024", "--member", member,
                    "--as", ncp]) == 0
        with transaction(url) as session:
            sub = get_submission(session, 2024, member)
            explain(session, principal_for(session, ncp), sub, _warning(session, sub), "Reform")
        setup = {**_calls(2024),
                 "assign_reviewer": lambda s, who, sub: review.assign(s, who, sub, "rev")}
        for step, who in _path(state):
            with transaction(url) as session:
                sub = get_submission(session, 2024, member)
                setup[step](session, principal_for(session, who), sub)
    with transaction(url) as session:
        got = {m: get_submission(session, 2024, m).state for m in STATES.values()}
    assert got == {m: "in_review" if s.startswith("in_review") else s
                   for s, m in STATES.items()}
    return url


def _path(state: str) -> list[tuple[str, str]]:
    """The steps (action, user) that take a fresh draft to `state`."""
    to_review = [("submit", "ncp"), ("request_review", "ncp"), ("assign_reviewer", "sec"),
                 ("start_review", "rev")]
    paths = {
        "draft": [],
        "submitted": [("submit", "ncp")],
        "review_requested": [("submit", "ncp"), ("request_review", "ncp"),
                             ("assign_reviewer", "sec")],
        "in_review_open": [*to_review, ("add_finding", "rev")],
        "in_review_done": [*to_review, ("complete_review", "rev")],
        "changes_requested": [*to_review, ("request_changes", "rev")],
        "resubmitted": [*to_review, ("request_changes", "rev"), ("resubmit", "ncp")],
        "validated": [*to_review, ("complete_review", "rev"), ("validate", "sec")],
        "published": [*to_review, ("complete_review", "rev"), ("validate", "sec"),
                      ("publish", "sec")],
    }
    member_of = STATES[state]
    return [(step, f"ncp-{member_of.lower()}" if who == "ncp" else who)
            for step, who in paths[state]]


PRINCIPALS = ["secretariat", "ncp own", "ncp other", "viewer own", "viewer other",
              "reviewer assigned", "reviewer not assigned", "working body", "administrator"]


@pytest.mark.slow
def test_every_action_role_member_and_state_follows_the_policy(states_db: str) -> None:
    url = states_db
    calls = _calls(2024)
    assert set(calls) | {"whatif"} == {rule.action for rule in WORKFLOW}  # whatif: analysis
    mismatches = []
    for (fixture, member), who_key, action in itertools.product(
            STATES.items(), PRINCIPALS, sorted(calls)):
        state = "in_review" if fixture.startswith("in_review") else fixture
        who, error = _attempt(url, member, _username(who_key, member), calls[action])
        role_ok = decide(who, action, member=member, year=2024)
        state_ok = decide(who, action, member=member, year=2024, state=state)
        if not role_ok:
            expected = "forbidden"
        elif not state_ok:
            expected = "refused by state"
        elif (action, fixture) in PRECONDITIONS:
            expected = "precondition"
        else:
            expected = "done"
        if error is None:
            got = "done"
        elif isinstance(error, PermissionDenied):
            got = "forbidden"
        elif expected == "precondition" and PRECONDITIONS[(action, fixture)] in str(error):
            got = "precondition"
        else:
            got = "refused by state" if expected == "refused by state" else f"error: {error}"
        if got != expected:
            mismatches.append(f"{action} by {who_key} on {member} ({fixture}): expected "
                              f"{expected}, got {got}")
    assert not mismatches, "\n".join(mismatches)


def test_actions_now_lists_what_a_user_may_do(states_db: str) -> None:
    with transaction(states_db) as session:
        ncp = principal_for(session, "ncp-fra")
        sec = principal_for(session, "sec")
        rev = principal_for(session, "rev")
    assert access.actions_now(ncp, 2024, "FRA", "draft") == [
        "edit", "explain", "add_evidence", "submit", "comment", "read_submission", "whatif"]
    assert access.actions_now(ncp, 2024, "DEU", "draft") == []
    assert "validate" in access.actions_now(sec, 2024, "DEU", "submitted")
    assert access.actions_now(rev, 2024, "ITA", "review_requested") == [
        "start_review", "comment", "read_submission", "whatif"]


def test_starting_a_submission_and_running_cycles(states_db: str) -> None:
    def start(who_key: str, member: str) -> PmmError | None:
        try:
            with transaction(states_db) as session:
                start_submission(session, principal_for(session, who_key), 2024, member)
                raise _Undo
        except _Undo:
            return None
        except PmmError as exc:
            return exc

    assert start("ncp-swe", "SWE") is None
    for outsider in ("ncp-fra", "view-swe", "sec", "rev", "wb", "admin"):
        assert isinstance(start(outsider, "SWE"), PermissionDenied), outsider
    for who in ("ncp-fra", "rev", "wb", "admin"):
        assert run(["cycle", "create", "2030", "--opens", "2031-01-01", "--closes",
                    "2031-06-30", "--as", who]) == 4
    assert run(["cycle", "create", "2030", "--opens", "2031-01-01", "--closes", "2031-06-30",
                "--as", "sec"]) == 0


def test_the_audit_trail_shows_each_user_only_its_share(states_db: str) -> None:
    with transaction(states_db) as session:
        def seen(name: str) -> set:
            return {(r.member, r.entity) for r in trail(session, principal_for(session, name))}

        everything = seen("sec")
        assert {m for m, _e in seen("ncp-fra")} == {"FRA"}
        assert {m for m, _e in seen("view-deu")} == {"DEU"}
        assert {m for m, _e in seen("rev")} == {m for s, m in STATES.items()
                                                 if s not in ("draft", "submitted")}
        assert seen("rev2") == set() and seen("wb") == set()
        assert {e for _m, e in seen("admin")} == {"user"}
        assert seen("ncp-fra") < everything


def test_reads_without_a_user_are_refused_and_say_how(states_db: str, capsys,
                                                      monkeypatch) -> None:
    monkeypatch.delenv("PMM_USER", raising=False)
    for args in (["submission", "show", "--cycle", "2024", "--member", "FRA"],
                 ["submission", "export", "--cycle", "2024", "--member", "FRA"],
                 ["cycle", "show", "2024"], ["audit"]):
        capsys.readouterr()
        assert run(args) == 4, args
        assert "--as USER" in capsys.readouterr().err
    monkeypatch.setenv("PMM_USER", "ncp-fra")
    assert run(["submission", "export", "--cycle", "2024", "--member", "FRA"]) == 0
    assert run(["submission", "export", "--cycle", "2024", "--member", "DEU"]) == 4


def test_an_outlier_warning_ignores_values_the_member_may_not_know(states_db: str,
                                                                   tmp_path: Path) -> None:
    """DEU's draft is huge; FRA's NCP is not compared with it, the Secretariat is."""
    with transaction(states_db) as session:
        deu = get_submission(session, 2024, "DEU")
        fra = get_submission(session, 2024, "FRA")
        ncp_values = workflow.peer_values(session, fra, principal_for(session, "ncp-fra"))
        sec_values = workflow.peer_values(session, fra, principal_for(session, "sec"))
    assert "DEU" in set(sec_values["member"])  # submitted, not validated
    assert deu.state == "submitted" and "DEU" not in set(ncp_values["member"])
    validated = {m for s, m in STATES.items() if s in ("validated", "published")}
    assert set(ncp_values["member"]) <= validated
    # what the NCP is compared with is exactly what it may see of those members' KPIs
    assert len(ncp_values) < len(sec_values)


# ---------------------------------------------------------------- the value rule, written out

# (role, own member?, disclosure, validated?) → may see. docs/secretariat-guide.md has the table.
def _expected(role: str, own: bool, disclosure: str, validated: bool, assigned: bool) -> bool:
    if role == "secretariat":
        return True
    if role in ("ncp", "viewer") and own:
        return True
    if role == "peer_reviewer" and assigned:
        return True
    if not validated:
        return False
    widest = {"ncp": "wco", "peer_reviewer": "wco", "wco": "wco"}.get(role, "public")
    order = ["public", "wco", "restricted"]
    return order.index(disclosure) <= order.index(widest)


@pytest.mark.parametrize("role", [*access.ROLES, "public", "wco"])
def test_every_role_sees_values_by_disclosure_level_as_documented(role: str) -> None:
    member = "KEN" if role in access.MEMBER_ROLES else None
    who = Principal("u", role, member, frozenset({(2024, "BRA")}) if role == "peer_reviewer"
                    else frozenset())
    grid = pd.DataFrame(list(itertools.product(["KEN", "BRA", "CHL"], access.DISCLOSURE_LEVELS,
                                               [True, False])),
                        columns=["member", "disclosure", "validated"])
    mask = visible(who, grid, cycle=2024)
    for row, seen in zip(grid.itertuples(index=False), mask, strict=True):
        assert seen == _expected(role, row.member == member, row.disclosure, row.validated,
                                 role == "peer_reviewer" and row.member == "BRA"), (role, row)
