"""`pmm demo`: the seeded history is consistent with the public first-cycle facts, holds every
workflow state, and `pmm audit` shows it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pmm.access import STATES
from pmm.assessment import cycle_tables
from pmm.cli import run
from pmm.store.engine import transaction
from pmm.store.models import Explanation, User


@pytest.mark.slow
def test_demo_matches_the_first_cycle_facts(demo_db: str) -> None:
    first, second = cycle_tables(2022, demo_db), cycle_tables(2024, demo_db)
    assert len(first.submissions) == 62
    assert len(second.submissions) > 62
    assert set(second.submissions.member) != set(first.submissions.member)
    v = first.values[(first.values.year == 2022) & (first.values.breakdown == "")]
    wide = v.pivot_table(index="member", columns="data_item", values="value")
    rate = 100 * wide["declarations_electronic"] / wide["declarations"]
    assert 97.0 <= rate.mean() <= 99.0
    assert (wide["declarations_electronic"] <= wide["declarations"]).all()
    k = first.kpis
    assert k[(k.kpi == "TF.3.1") & (k.status == "reported")].member.nunique() == 24
    na = k[k.status == "not_applicable"]
    assert len(na) > 0 and (na.note.str.len() > 10).all()
    assert (k.status == "not_available").any()


@pytest.mark.slow
def test_demo_holds_every_workflow_state_users_and_explanations(demo_db: str) -> None:
    states = set(cycle_tables(2022, demo_db).submissions.state) | set(
        cycle_tables(2024, demo_db).submissions.state)
    assert states == set(STATES)
    with transaction(demo_db) as session:
        roles = {u.role for u in session.query(User)}
        assert roles == {"admin", "ncp", "viewer", "peer_reviewer", "secretariat", "working_body"}
        assert session.query(Explanation).count() > 10
    values = cycle_tables(2024, demo_db).values
    counts = values[values.data_item == "declarations"].pivot_table(
        index=["member", "year"], columns="breakdown", values="value")
    full = counts.dropna()
    assert np.allclose(full[""], full[["flow=EX", "flow=IM", "flow=TR"]].sum(axis=1))


@pytest.mark.slow
def test_audit_shows_the_seeded_history(demo_db: str, capsys) -> None:
    t = cycle_tables(2024, demo_db).submissions
    member = t[t.state == "in_review"].member.iloc[0]
    capsys.readouterr()
    assert run(["audit", "--cycle", "2024", "--member", member, "--database-url",
                demo_db, "--as", "secretariat"]) == 0
    out = capsys.readouterr().out
    for action in ("submission.create", "value.set", "workflow.submit",
                   "workflow.request_review", "review.assign", "workflow.start_review",
                   "review.finding"):
        assert action in out
    assert f"ncp-{member.lower()}" in out and "secretariat" in out


@pytest.mark.slow
def test_demo_is_deterministic_and_refuses_a_used_database(demo_db: str, tmp_path: Path,
                                                           capsys) -> None:
    again = f"sqlite:///{tmp_path / 'again.db'}"
    assert run(["demo", "--database-url", again]) == 0
    for year in (2022, 2024):
        a, b = cycle_tables(year, demo_db), cycle_tables(year, again)
        assert a.values.equals(b.values) and a.kpis.equals(b.kpis)
    capsys.readouterr()
    assert run(["demo", "--database-url", again]) != 0
    assert "already holds data" in capsys.readouterr().err
