"""KPI proposals and framework drafts on the web: a working-body member proposes and follows;
the Secretariat accepts or rejects, uploads a version, sees its validation, adopts it and
creates a cycle on it. Through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re

from pmm.framework.drafting import to_yaml
from pmm.framework.loader import load, load_text
from pmm.framework.model import Framework
from pmm.store.engine import transaction
from pmm.store.users import add_user, hash_password
from tests.web.conftest import PASSWORD, page_csrf

GOOD = {
    "framework": "wco-pmm-v1", "tool": "RKC", "outcome": "TF.1", "code": "TF.1.9",
    "name_en": "Rate of electronic import declarations",
    "name_fr": "Taux de déclarations d'importation électroniques",
    "definition_en": "Share of the import declarations lodged electronically in year T.",
    "definition_fr": "Part des déclarations d'importation déposées par voie électronique.",
    "formula": "100 * declarations_electronic{flow=IM} / declarations{flow=IM}",
    "unit": "percent", "direction": "higher", "disclosure": "public",
    "scoring_method": "goalposts", "scoring_low": "0", "scoring_high": "100",
    "sdg_targets": ["17.10"], "rationale": "Electronic lodgement lags for imports.",
}


def text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.text)


def field_error(page: str, name: str) -> str:
    found = re.search(rf'<span class="field-error" id="{name}-err" role="alert">([^<]*)</span>',
                      page)
    assert found, f"no error next to {name}"
    return found.group(1)


def propose(client, **changes):  # type: ignore[no-untyped-def]
    token = page_csrf(client, "/proposals/new")
    return client.post("/proposals", data={**GOOD, **changes, "csrf_token": token})


def test_the_form_is_generated_from_the_framework(platform) -> None:
    page = text(platform.client("wb").get("/proposals/new"))
    fw = load("wco-pmm-v1")
    assert all(f'<option value="{t.code}"' in page for t in fw.tools)
    assert all(f'<option value="{o.code}"' in page for o in fw.outcomes)
    assert all(f'value="{b.key}"' in page for b in fw.breakdowns)
    assert all(f'<option value="{t.code}"' in page for t in fw.sdg_targets)
    assert all(f"<code>{d.code}</code>" in page for d in fw.data_items)
    assert '<option value="percentage_points"' in page and '<optgroup label="TF' in page
    french = text(platform.client("wb").get("/proposals/new?lang=fr"))
    assert "Proposer un indicateur" in french and "plus élevé est meilleur" in french


def test_a_refused_proposal_shows_the_criteria_next_to_the_fields_and_stores_nothing(
        platform) -> None:
    client = platform.client("wb")
    answer = propose(client, formula="100 * declarations_paperless / declarations",
                     sdg_targets=[], scoring_high="-5")
    assert answer.status_code == 422
    page = text(answer)
    assert "nothing was stored" in page
    assert field_error(page, "formula") == \
        "formula uses 'declarations_paperless', which is not a data item"
    assert field_error(page, "scoring_high") == \
        "the high goalpost -5.0 must be above the low one 0.0"
    assert 'value="100 * declarations_paperless / declarations"' in page  # entries kept
    assert "No KPI proposal here." in text(client.get("/proposals"))


def test_a_proposal_followed_by_its_author_accepted_into_a_draft_whose_diff_shows_it(
        platform) -> None:
    with transaction(platform.url) as session:
        add_user(session, "wb2", "working_body", password_hash=hash_password(PASSWORD))
    author = platform.client("wb")
    made = propose(author)
    assert made.status_code == 200, made.text
    page = text(made)
    assert "Your KPI proposal 1 was submitted to the Secretariat." in page
    assert "has no data source" in page  # the criteria's warning, kept with it
    assert "submitted" in text(author.get("/proposals"))
    assert platform.client("wb2").get("/proposals/1").status_code == 404
    assert "No KPI proposal here." in text(platform.client("wb2").get("/proposals"))

    sec = platform.client("sec")
    queue = text(sec.get("/secretariat/proposals"))
    assert "TF.1.9" in queue and ">wb<" in queue
    detail = text(sec.get("/secretariat/proposals/1"))
    version = re.search(r'name="version" value="(\d+)"', detail).group(1)
    token = page_csrf(sec, "/secretariat/proposals/1")
    accepted = sec.post("/secretariat/proposals/1/accept", data={
        "csrf_token": token, "version": version, "new_draft": "wco-pmm-v1.1",
        "base": "wco-pmm-v1"})
    page = text(accepted)
    assert accepted.status_code == 200 and \
        "KPI proposal 1 was accepted into draft wco-pmm-v1.1." in page
    diff = re.search(r'<table id="diff">.*?</table>', page, re.S).group(0)
    assert re.findall(r"<tr><td>(\w+)</td><td>([\w.]+)</td><td>(\w+)</td>", diff) == [
        ("kpi", "TF.1.9", "added")]
    mine = text(author.get("/proposals/1"))
    assert "accepted — into draft wco-pmm-v1.1" in mine
    yaml = sec.get("/secretariat/drafts/wco-pmm-v1.1/framework.yaml")
    assert yaml.headers["content-disposition"] == 'attachment; filename="wco-pmm-v1.1.yaml"'
    assert load_text("d.yaml", yaml.text)[0].kpi("TF.1.9").tools == ["RKC"]
    again = sec.post("/secretariat/proposals/1/accept", data={
        "csrf_token": token, "version": version, "draft": "wco-pmm-v1.1"})
    assert again.status_code == 409  # the stale form: someone decided meanwhile


def test_rejecting_needs_a_reason_that_the_author_reads(platform) -> None:
    propose(platform.client("wb"))
    sec = platform.client("sec")
    token = page_csrf(sec, "/secretariat/proposals/1")
    empty = sec.post("/secretariat/proposals/1/reject", data={
        "csrf_token": token, "version": "1", "reason": " "})
    assert empty.status_code == 422
    assert "rejecting a KPI proposal needs a reason" in text(empty)
    done = sec.post("/secretariat/proposals/1/reject", data={
        "csrf_token": token, "version": "1", "reason": "TF.1.1 is computed by flow already."})
    assert "KPI proposal 1 was rejected." in text(done)
    mine = text(platform.client("wb").get("/proposals/1"))
    assert "The Secretariat's reason: TF.1.1 is computed by flow already." in mine


def _version_text(new_id: str, fw: Framework | None = None) -> str:
    fw = fw or load("wco-pmm-v1")
    return to_yaml(fw).replace("  id: wco-pmm-v1\n", f"  id: {new_id}\n", 1) \
        .replace("  parent: null\n", "  parent: wco-pmm-v1\n", 1)


def test_an_invalid_upload_shows_line_numbered_findings_and_stores_nothing(platform) -> None:
    sec = platform.client("sec")
    token = page_csrf(sec, "/secretariat/drafts")
    fw = load("wco-pmm-v1")
    kpis = [k.model_copy(update={"sdg_targets": []}) if k.code == "TF.1.1" else k
            for k in fw.kpis]
    bad = _version_text("wco-pmm-v2", fw.model_copy(update={"kpis": kpis}))
    rows = bad.splitlines()
    start = rows.index("- code: TF.1.1")
    line = rows.index("  sdg_targets: []", start) + 1
    answer = sec.post("/secretariat/drafts/upload", data={"csrf_token": token},
                      files={"file": ("v2.yaml", bad.encode(), "application/yaml")})
    assert answer.status_code == 422
    page = text(answer)
    assert "This file does not pass; nothing was stored." in page
    rows = re.findall(r"<tr><td>([^<]*)</td><td>(\w+)</td><td>([^<]*)</td><td>([^<]*)</td>",
                      page)
    assert any(where == f"v2.yaml:{line}" and severity == "error" and item == "KPI TF.1.1"
               and message == "is linked to no SDG target; expected at least one"
               for where, severity, item, message in rows), rows
    broken = sec.post("/secretariat/drafts/upload", data={"csrf_token": token},
                      files={"file": ("v2.yaml", b"framework:\n  id: x\n kpis: [", "x")})
    assert broken.status_code == 422 and "v2.yaml:3: not valid YAML" in text(broken)
    wrong = sec.post("/secretariat/drafts/upload", data={"csrf_token": token},
                     files={"file": ("v2.xlsx", b"PK", "x")})
    assert "v2.xlsx: expected a YAML file (.yaml or .yml)" in text(wrong)
    assert "No framework draft yet." in text(sec.get("/secretariat/drafts"))


def test_upload_adopt_and_create_a_cycle_on_the_adopted_version(platform) -> None:
    sec = platform.client("sec")
    token = page_csrf(sec, "/secretariat/drafts")
    made = sec.post("/secretariat/drafts/upload", data={"csrf_token": token},
                    files={"file": ("v2.yaml", _version_text("wco-pmm-v2").encode(), "x")})
    page = text(made)
    assert "passes the KPI criteria" in page and "is now draft wco-pmm-v2" in page
    assert "No difference." in page
    cycles = text(sec.get("/secretariat"))
    assert '<option>wco-pmm-v2</option>' not in cycles  # not adopted: no cycle on it yet
    version = re.search(r'action="/secretariat/drafts/wco-pmm-v2/adopt">\s*<input type="hidden"'
                        r' name="csrf_token" value="[^"]+"><input type="hidden" name="version" '
                        r'value="(\d+)"', page).group(1)
    adopted = sec.post("/secretariat/drafts/wco-pmm-v2/adopt", data={
        "csrf_token": token, "version": version})
    assert "Framework wco-pmm-v2 is adopted" in text(adopted)
    assert '<option>wco-pmm-v2</option>' in text(sec.get("/secretariat"))
    created = sec.post("/secretariat/cycles", data={
        "csrf_token": token, "year": "2030", "framework": "wco-pmm-v2",
        "opens_on": "2031-01-15", "closes_on": "2031-06-30"})
    assert "Cycle 2030 was created (planned)." in text(created)
    assert "<td>wco-pmm-v2</td>" in text(created)
    versions = text(sec.get("/secretariat/frameworks", params={"old": "wco-pmm-v1",
                                                               "new": "wco-pmm-v2"}))
    assert "No difference." in versions
    # a working-body member may now propose against the adopted version
    form = text(platform.client("wb").get("/proposals/new?framework=wco-pmm-v2"))
    assert '<input type="hidden" name="framework" value="wco-pmm-v2">' in form
