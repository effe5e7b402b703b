"""The workflow: who may do what, in which state; submitted data is never overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmm.cli import run
from tests.assessment.conftest import COMPLETE, write_csv

C = ["--cycle", "2024", "--member", "FRA"]


def do(*args: str, who: str) -> int:
    return run([*args, *C, "--as", who])


def fill(tmp_path: Path, values: dict | None = None, kpis: list[str] | None = None) -> None:
    path = write_csv(tmp_path / "fill.csv", COMPLETE if values is None else values, kpis)
    assert do("submission", "import", str(path), who="ncp-fra") == 0


def state(capsys) -> str:
    capsys.readouterr()
    assert run(["submission", "show", *C, "--as", "sec"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    return first.split(": ", 1)[1].split(" (")[0]


def test_submitting_with_a_needed_t_minus_1_missing_is_refused(db: str, tmp_path: Path,
                                                              capsys) -> None:
    values = {k: v for k, v in COMPLETE.items() if k != ("aeo_count", 2023, "")}
    fill(tmp_path, values)
    capsys.readouterr()
    assert do("submission", "submit", who="ncp-fra") != 0
    err = capsys.readouterr().err
    assert "aeo_variation needs aeo_count[2023] for T-1 (T-1 = 2023), which is missing" in err
    assert state(capsys) == "draft"
    # marking the KPI not available (or reporting T-1) lifts the block
    assert do("submission", "kpi", "aeo_variation", "--status", "not_available",
              who="ncp-fra") == 0
    assert do("submission", "submit", who="ncp-fra") == 0
    assert state(capsys) == "submitted"


def test_drafts_may_be_incomplete_but_submission_needs_everything(db: str, tmp_path: Path,
                                                                  capsys) -> None:
    fill(tmp_path, {("declarations", 2024, ""): "1000"})
    capsys.readouterr()
    assert do("submission", "submit", who="ncp-fra") != 0
    err = capsys.readouterr().err
    assert "e_decl needs declarations_electronic[2024] (T), which is missing" in err
    assert "ecommerce_share needs ecommerce_shipments[2024]{flow=*} (T) for at least one flow" \
        in err
    assert do("submission", "kpi", "release_time", "--status", "not_applicable",
              who="ncp-fra") == 0
    capsys.readouterr()
    assert do("submission", "submit", who="ncp-fra") != 0
    assert "release_time is marked not applicable without a reason" in capsys.readouterr().err


def test_full_workflow_with_peer_review_and_revisions(db: str, tmp_path: Path, capsys) -> None:
    fill(tmp_path)
    assert do("submission", "submit", "--request-review", who="ncp-fra") == 0
    assert state(capsys) == "review_requested"
    # submitted data cannot be edited
    assert do("submission", "set", "release_time_mean_h", "9", who="ncp-fra") != 0
    assert "can be edited only as a draft" in capsys.readouterr().err
    assert do("review", "start", who="rev") == 4  # not assigned yet
    assert do("review", "assign", "--reviewer", "rev", who="sec") == 0
    assert do("review", "start", who="rev") == 0
    assert do("review", "finding", "Release time lacks a source", "--kpi", "release_time",
              who="rev") == 0
    assert do("review", "request-changes", "--reason", "Document release time", who="rev") == 0
    assert state(capsys) == "changes_requested"
    assert do("submission", "set", "release_time_mean_h", "14", "--note", "TRS 2024",
              who="ncp-fra") == 0
    assert do("submission", "resubmit", who="ncp-fra") == 0
    assert do("submission", "validate", who="sec") == 0
    assert do("submission", "publish", who="sec") == 0
    assert state(capsys) == "published"
    # revision 1 (submitted) still holds 12.5; revision 2 holds 14
    from pmm.assessment.submissions import current_values, get_submission
    from pmm.store.engine import transaction

    with transaction() as session:
        sub = get_submission(session, 2024, "FRA")
        assert sub.revision == 2 and sub.sealed_revision == 2
        old = current_values(session, sub, revision=1)
        new = current_values(session, sub)
    pick = lambda f: f[f.data_item == "release_time_mean_h"]["value"].tolist()  # noqa: E731
    assert pick(old) == [12.5] and pick(new) == [14.0]
    capsys.readouterr()
    assert run(["audit", "--cycle", "2024", "--member", "FRA", "--as", "sec"]) == 0
    trail = capsys.readouterr().out
    for expected in ("workflow.submit", "workflow.request_review", "review.assign",
                     "workflow.start_review", "review.finding", "workflow.request_changes",
                     "release_time_mean_h[2024] value: 12.5 → 14", "workflow.resubmit",
                     "workflow.validate", "workflow.publish"):
        assert expected in trail, expected
    assert "submitted → review_requested" in trail


def test_reopen_by_secretariat_needs_a_reason_and_starts_a_new_revision(
        db: str, tmp_path: Path, capsys) -> None:
    fill(tmp_path)
    assert do("submission", "submit", who="ncp-fra") == 0
    assert do("submission", "validate", who="sec") == 0
    assert do("submission", "reopen", "--reason", " ", who="sec") != 0
    assert do("submission", "reopen", "--reason", "Revenue figure revised", who="sec") == 0
    assert state(capsys) == "draft"
    capsys.readouterr()
    assert run(["submission", "show", *C, "--as", "sec"]) == 0
    assert "revision 2" in capsys.readouterr().out
    capsys.readouterr()
    run(["audit", "--cycle", "2024", "--member", "FRA", "--as", "sec"])
    assert "(Revenue figure revised)" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "who"), [
    (("submission", "submit"), "ncp-deu"),          # NCP of another member
    (("submission", "submit"), "view-fra"),         # a viewer cannot submit
    (("submission", "submit"), "sec"),              # nor the Secretariat on a member's behalf
    (("submission", "validate"), "ncp-fra"),        # members cannot validate themselves
    (("submission", "publish"), "rev"),
    (("submission", "reopen", "--reason", "x"), "wb"),
    (("submission", "set", "release_time_mean_h", "3"), "ncp-deu"),
    (("review", "assign", "--reviewer", "rev"), "ncp-fra"),
])
def test_transitions_check_the_actor_role(db: str, tmp_path: Path, capsys, args: tuple,
                                          who: str) -> None:
    fill(tmp_path)
    if args[1] in ("validate", "publish", "reopen"):
        assert do("submission", "submit", who="ncp-fra") == 0
    before = state(capsys)
    capsys.readouterr()
    assert do(*args, who=who) == 4
    assert "may not" in capsys.readouterr().err
    assert state(capsys) == before


def test_state_rules_and_unknown_actor(db: str, tmp_path: Path, capsys) -> None:
    fill(tmp_path)
    assert do("submission", "validate", who="sec") != 0  # still a draft
    assert "validate a submission needs it to be submitted" in capsys.readouterr().err
    assert do("submission", "submit", who="nobody") != 0
    assert "no user 'nobody'" in capsys.readouterr().err
    assert run(["submission", "submit", *C]) != 0
    assert "--as USER" in capsys.readouterr().err


def test_warnings_need_an_explanation_before_submitting(db: str, tmp_path: Path,
                                                       capsys) -> None:
    values = dict(COMPLETE)
    values[("aeo_count", 2023, "")] = "40"  # 40 → 110: +175%
    fill(tmp_path, values)
    capsys.readouterr()
    assert do("submission", "submit", who="ncp-fra") != 0
    err = capsys.readouterr().err
    assert "warning year_on_year:aeo_count[2024] needs an explanation" in err
    assert do("submission", "explain", "year_on_year:aeo_count[2024]",
              "New AEO programme phase", who="ncp-fra") == 0
    capsys.readouterr()
    assert run(["submission", "check", *C, "--as", "sec"]) == 0
    out = capsys.readouterr().out
    assert "explained: New AEO programme phase" in out
    assert "TF: 100%" in out
    assert do("submission", "submit", who="ncp-fra") == 0


def test_closed_cycle_refuses_changes(db: str, tmp_path: Path, capsys) -> None:
    fill(tmp_path)
    assert run(["cycle", "close", "2024", "--as", "sec"]) == 0
    capsys.readouterr()
    assert do("submission", "set", "release_time_mean_h", "3", who="ncp-fra") != 0
    assert "cycle 2024 is closed" in capsys.readouterr().err
    assert run(["cycle", "open", "2024", "--as", "sec"]) != 0  # re-opening needs a reason
    assert run(["cycle", "open", "2024", "--as", "sec", "--reason", "extension"]) == 0


@pytest.mark.parametrize("part", ["flow=IM", "flow=TR"])
def test_a_part_pushing_its_breakdown_above_the_total_is_refused(db: str, tmp_path: Path, capsys,
                                                                 part: str) -> None:
    """Whichever part is changed (not only the first one read), nothing is saved."""
    fill(tmp_path)
    capsys.readouterr()
    assert do("submission", "set", "declarations", "1000", "--breakdown", part,
              who="ncp-fra") != 0
    assert "the flow breakdown of declarations[2024] adds up to" in capsys.readouterr().err
    assert run(["submission", "export", *C, "--as", "sec"]) == 0
    rows = capsys.readouterr().out
    assert f",declarations,2024,{part},{COMPLETE[('declarations', 2024, part)]}," in rows


def test_a_refusal_names_the_state_in_the_readers_language(db: str, tmp_path: Path,
                                                           capsys) -> None:
    """The state was printed as its code (« est validated ») inside a French sentence."""
    fill(tmp_path)
    assert do("submission", "submit", who="ncp-fra") == 0
    assert do("submission", "validate", who="sec") == 0
    capsys.readouterr()
    assert run(["--lang", "fr", "submission", "set", "release_time_mean_h", "9", *C,
                "--as", "ncp-fra"]) == 2
    err = capsys.readouterr().err
    assert "La soumission de FRA au cycle 2024 est validée :" in err and "validated" not in err
