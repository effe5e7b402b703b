"""KPI proposals and framework drafts through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from pmm.assessment import frameworks, proposals
from pmm.assessment.cycles import create_cycle, framework_of
from pmm.errors import NotFound, PermissionDenied, PmmError
from pmm.framework.drafting import check_upload, to_yaml
from pmm.framework.loader import load, load_text
from pmm.store.engine import transaction
from pmm.store.models import AuditEntry, FrameworkDraft, KpiProposal
from pmm.store.users import add_user, principal_for
from tests.assessment.conftest import seed_users

BASE = "wco-pmm-v1"
GOOD = {  # a KPI for the Revised Kyoto Convention: import declarations lodged electronically
    "tool": "RKC", "outcome": "TF.1", "code": "TF.1.9",
    "name_en": "Rate of electronic import declarations",
    "name_fr": "Taux de déclarations d'importation électroniques",
    "definition_en": "Share of the import declarations lodged electronically in year T.",
    "definition_fr": "Part des déclarations d'importation déposées par voie électronique.",
    "formula": "100 * declarations_electronic{flow=IM} / declarations{flow=IM}",
    "unit": "percent", "direction": "higher", "disclosure": "public",
    "scoring_method": "goalposts", "scoring_low": "0", "scoring_high": "100",
    "sdg_targets": ["17.10"], "breakdowns": [],
}
WHY = "The RKC's General Annex asks for electronic lodgement; imports are where it lags."


@pytest.fixture
def url(database_url: str) -> str:
    seed_users(database_url)
    with transaction(database_url) as session:
        add_user(session, "wb2", "working_body", password_hash="x")
    return database_url


def who(session, name):  # type: ignore[no-untyped-def]
    return principal_for(session, name)


def count(url: str, model) -> int:  # type: ignore[no-untyped-def]
    with transaction(url) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_proposal_with_a_criteria_error_is_refused_naming_the_field_and_nothing_is_stored(
        url: str) -> None:
    bad = {**GOOD, "formula": "100 * declarations_paperless / declarations", "sdg_targets": []}
    audit_before = count(url, AuditEntry)
    with pytest.raises(proposals.ProposalRefused) as caught, transaction(url) as session:
        proposals.propose(session, who(session, "wb"), BASE, bad, WHY)
    errors = caught.value.check.errors
    assert errors["formula"] == ["formula uses 'declarations_paperless', which is not a data "
                                 "item"]
    assert errors["sdg_targets"] == ["is linked to no SDG target; expected at least one"]
    assert "formula: formula uses 'declarations_paperless', which is not a data item" \
        in caught.value.lines
    assert count(url, KpiProposal) == 0 and count(url, AuditEntry) == audit_before


def test_an_existing_code_and_a_missing_rationale_are_refused(url: str) -> None:
    with pytest.raises(proposals.ProposalRefused) as caught, transaction(url) as session:
        proposals.propose(session, who(session, "wb"), BASE, {**GOOD, "code": "TF.1.1"}, " ")
    errors = caught.value.check.errors
    assert errors["code"] == ["KPI TF.1.1 exists already in framework wco-pmm-v1; expected a "
                              "new code"]
    assert errors["rationale"][0].startswith("expected why the KPI is needed")
    assert count(url, KpiProposal) == 0


def test_a_valid_proposal_is_stored_with_its_warnings_and_seen_by_its_author_only(
        url: str) -> None:
    with transaction(url) as session:
        proposal, result = proposals.propose(session, who(session, "wb"), BASE, GOOD, WHY)
        pid = proposal.id
    assert result.warnings == {"data_source_en": [
        "has no data source; expected where the administration finds the figures"]}
    with transaction(url) as session:
        mine = proposals.list_proposals(session, who(session, "wb"))
        assert [(p.id, p.kpi_code, p.tool, p.working_body, p.status) for p in mine] == [
            (pid, "TF.1.9", "RKC", "RKC-MC", "submitted")]
        kpi = proposals.proposed_kpi(mine[0])
        assert kpi.data_items == ["declarations", "declarations_electronic"]
        assert kpi.years == "T" and kpi.tools == ["RKC"]
        assert kpi.provenance.rationale == WHY
        assert proposals.list_proposals(session, who(session, "wb2")) == []
        with pytest.raises(NotFound):
            proposals.get_proposal(session, who(session, "wb2"), pid)
        assert len(proposals.list_proposals(session, who(session, "sec"))) == 1
        with pytest.raises(PermissionDenied):
            proposals.list_proposals(session, who(session, "ncp-fra"))
        with pytest.raises(PermissionDenied):
            proposals.propose(session, who(session, "sec"), BASE, GOOD, WHY)
        trail = session.scalars(select(AuditEntry).where(AuditEntry.entity == "proposal")).all()
        assert [(e.actor, e.action, e.key, e.new) for e in trail] == [
            ("wb", "proposal.submit", str(pid), "TF.1.9")]


def _proposal(url: str, fields: dict | None = None) -> int:
    with transaction(url) as session:
        return proposals.propose(session, who(session, "wb"), BASE, fields or GOOD, WHY)[0].id


def test_accepted_into_a_new_draft_the_draft_has_the_kpi_and_the_diff_shows_it(url: str) -> None:
    pid = _proposal(url)
    with transaction(url) as session:
        draft = proposals.accept(session, who(session, "sec"), pid, new_draft="wco-pmm-v1.1",
                                 base=BASE)
        assert draft.framework_id == "wco-pmm-v1.1" and draft.state == "draft"
    with transaction(url) as session:
        sec = who(session, "sec")
        fw = frameworks.framework_of_draft(frameworks.get_draft(session, sec, "wco-pmm-v1.1"))
        assert fw.kpi("TF.1.9").name.fr == GOOD["name_fr"]
        assert fw.framework.parent == BASE and fw.framework.status == "draft"
        changes = frameworks.draft_diff(session, sec, "wco-pmm-v1.1")
        assert [(c.kind, c.code, c.change) for c in changes.changes] == [
            ("kpi", "TF.1.9", "added")]
        proposal = proposals.get_proposal(session, who(session, "wb"), pid)
        assert proposal.status == "accepted" and proposals.draft_of(session, proposal) == \
            "wco-pmm-v1.1"
        with pytest.raises(PmmError, match="already accepted"):
            proposals.reject(session, sec, pid, "changed my mind")


def test_a_second_kpi_goes_into_the_existing_draft_and_a_clash_changes_nothing(url: str) -> None:
    first = _proposal(url)
    second = _proposal(url, {**GOOD, "code": "TF.1.10", "formula":
                             "100 * declarations_electronic{flow=EX} / declarations{flow=EX}"})
    clash = _proposal(url)  # the same code as the first
    with transaction(url) as session:
        proposals.accept(session, who(session, "sec"), first, new_draft="v1-next", base=BASE)
    with transaction(url) as session:
        proposals.accept(session, who(session, "sec"), second, draft="v1-next")
    drafts_before = count(url, FrameworkDraft)
    with pytest.raises(PmmError, match=r"has a KPI TF\.1\.9 already"), \
            transaction(url) as session:
        proposals.accept(session, who(session, "sec"), clash, draft="v1-next")
    # into a new draft from the old version it fits; a refusal there leaves no draft behind
    with pytest.raises(PmmError, match="version id 'wco-pmm-v1' is taken"), \
            transaction(url) as session:
        proposals.accept(session, who(session, "sec"), clash, new_draft=BASE)
    assert count(url, FrameworkDraft) == drafts_before
    with transaction(url) as session:
        sec = who(session, "sec")
        fw = frameworks.framework_of_draft(frameworks.get_draft(session, sec, "v1-next"))
        assert {"TF.1.9", "TF.1.10"} <= {k.code for k in fw.kpis}
        assert proposals.get_proposal(session, sec, clash).status == "submitted"


def test_rejecting_needs_a_reason_which_the_author_reads(url: str) -> None:
    pid = _proposal(url)
    with pytest.raises(PmmError, match="needs a reason"), transaction(url) as session:
        proposals.reject(session, who(session, "sec"), pid, "  ")
    with transaction(url) as session:
        proposals.reject(session, who(session, "sec"), pid, "TF.1.1 covers it by flow.")
    with transaction(url) as session:
        proposal = proposals.get_proposal(session, who(session, "wb"), pid)
        assert (proposal.status, proposal.reason, proposal.decided_by) == (
            "rejected", "TF.1.1 covers it by flow.", "sec")
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "proposal.reject")).one()
        assert (entry.old, entry.new, entry.reason) == ("submitted", "rejected",
                                                       "TF.1.1 covers it by flow.")


def _upload_text(new_id: str = "wco-pmm-v2", parent: str = BASE) -> str:
    text = to_yaml(load(BASE))
    return text.replace("  id: wco-pmm-v1\n", f"  id: {new_id}\n", 1).replace(
        "  parent: null\n", f"  parent: {parent}\n", 1)


def test_an_invalid_upload_gives_line_numbered_findings_and_stores_nothing(url: str) -> None:
    text = _upload_text().replace("formula: 100 * declarations_electronic / declarations",
                                  "formula: 100 * declarations_electronic / declarationz", 1)
    rows = list(enumerate(text.splitlines(), 1))
    line = next(i for i, row in rows if "declarationz" in row)
    items = next(i for i, row in rows if i > line and row.strip().startswith("data_items:"))
    with transaction(url) as session:
        result, draft = frameworks.upload(session, who(session, "sec"), "v2.yaml",
                                          text.encode())
    assert draft is None and not result.ok
    assert [str(f) for f in result.errors] == [
        f"v2.yaml:{line}: error: KPI TF.1.1: formula uses 'declarationz', which is not a data "
        "item",
        f"v2.yaml:{items}: error: KPI TF.1.1: formula uses declarationz, not listed in "
        "data_items",
        f"v2.yaml:{items}: error: KPI TF.1.1: lists declarations, not used by the formula"]
    with transaction(url) as session:
        result, draft = frameworks.upload(session, who(session, "sec"), "v2.yaml",
                                          b"framework:\n  id: [\n")
    assert draft is None and result.problems[0].startswith("v2.yaml:3: not valid YAML")
    with transaction(url) as session:
        result, draft = frameworks.upload(session, who(session, "sec"), "v1.yaml",
                                          _upload_text(BASE, "").encode())
    assert draft is None and result.problems == [
        "v1.yaml: framework id 'wco-pmm-v1' is taken; a new version needs a new id (e.g. "
        "wco-pmm-v1.1)",
        "v1.yaml: framework.parent '': expected the version this one revises, one of "
        "wco-pmm-v1"]
    with transaction(url) as session:
        result, draft = frameworks.upload(session, who(session, "sec"), "big.yaml",
                                          b" " * (frameworks.MAX_UPLOAD + 1))
    assert draft is None and "at most" in result.problems[0]
    assert count(url, FrameworkDraft) == 0


def test_a_valid_upload_is_a_draft_adopted_then_a_cycle_is_created_on_it(url: str) -> None:
    with transaction(url) as session:
        result, draft = frameworks.upload(session, who(session, "sec"), "v2.yaml",
                                          _upload_text().encode())
        assert result.ok and draft is not None and draft.base_id == BASE
    opens = dt.date(2026, 1, 1)
    with pytest.raises(PmmError, match="draft not yet adopted"), transaction(url) as session:
        create_cycle(session, who(session, "sec"), 2025, "wco-pmm-v2", opens,
                     opens + dt.timedelta(days=90))
    with pytest.raises(PmmError, match="draft: the Secretariat adopts it"), \
            transaction(url) as session:
        proposals.propose(session, who(session, "wb"), "wco-pmm-v2", GOOD, WHY)
    with transaction(url) as session:
        frameworks.adopt(session, who(session, "sec"), "wco-pmm-v2", expected_version=1)
    with pytest.raises(PmmError, match="never changes"), transaction(url) as session:
        frameworks.adopt(session, who(session, "sec"), "wco-pmm-v2")
    with transaction(url) as session:
        cycle = create_cycle(session, who(session, "sec"), 2025, "wco-pmm-v2", opens,
                             opens + dt.timedelta(days=90))
        fw = framework_of(cycle)
        assert cycle.framework_id == "wco-pmm-v2" and fw.framework.status == "endorsed"
        assert len(fw.kpis) == len(load(BASE).kpis)
        assert "wco-pmm-v2" in frameworks.versions(session)
        # a proposal can now be checked against the adopted version
        proposals.propose(session, who(session, "wb"), "wco-pmm-v2", GOOD, WHY)


def test_a_draft_with_errors_cannot_be_adopted(url: str) -> None:
    pid = _proposal(url)
    with transaction(url) as session:
        proposals.accept(session, who(session, "sec"), pid, new_draft="v1-x", base=BASE)
    with transaction(url) as session:  # break the draft behind the services' back
        draft = session.scalar(select(FrameworkDraft))
        fw = frameworks.framework_of_draft(draft)
        broken = fw.model_copy(update={"tools": [t for t in fw.tools if t.code != "RKC"]})
        draft.document = broken.model_dump_json()
    with pytest.raises(PmmError, match="does not pass the KPI criteria") as caught, \
            transaction(url) as session:
        frameworks.adopt(session, who(session, "sec"), "v1-x")
    assert any("tool 'RKC' does not exist" in line for line in caught.value.lines)
    with transaction(url) as session:
        assert session.scalar(select(FrameworkDraft)).state == "draft"


def test_the_yaml_of_a_version_reads_back_as_the_same_version() -> None:
    fw = load(BASE)
    again, _locations = load_text("again.yaml", to_yaml(fw))
    assert again == fw


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400).map(str.encode),
                 st.lists(st.sampled_from(["framework:", "  id: x", "kpis:", "- code: A",
                                           "  formula: a +", "&a [1]", "*a", "[", "{", ":",
                                           "  - ", "\t", "'", "parent: ~", "!!python/object:x"]),
                          max_size=30).map(lambda rows: "\n".join(rows).encode())))
def test_any_uploaded_bytes_give_messages_never_a_crash(data: bytes) -> None:
    result = check_upload("fuzz.yaml", data)
    assert result.framework is not None or result.problems
    assert all(line.startswith("fuzz.yaml") for line in result.problems)
