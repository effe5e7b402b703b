"""The Secretariat's release pages, demand, coverage, review assignments and the reports on the
web, over HTTP on SQLite and PostgreSQL, on a small demo (`pmm.assessment.demo`: cycle 2022 with
ten validated members of every disclosure level, cycle 2024 in progress)."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from pmm.access import ANONYMOUS
from pmm.analysis import api
from pmm.analysis import release as rel_mod
from pmm.analysis.sdc import Rules
from pmm.analysis.support import load_support
from pmm.assessment import workflow
from pmm.assessment.cycles import framework_of, get_cycle
from pmm.assessment.demo import seed_demo
from pmm.assessment.submissions import find_submission
from pmm.members import INCOME_GROUPS
from pmm.publish import reports
from pmm.store.audit import trail
from pmm.store.engine import transaction
from pmm.store.models import Submission
from pmm.store.users import principal_for
from pmm.web.pages_reports import REPORT_CSP, clear_cache
from pmm.web.settings import Settings
from tests.web.conftest import Platform, csrf_of, page_csrf

YEAR = 2022
RELEASES = f"/secretariat/cycles/{YEAR}/releases"


@pytest.fixture
def demo(database_url: str) -> Platform:
    seed_demo(database_url, participants_2022=10, participants_2024=12)
    clear_cache()  # another test's database had release ids of its own
    return Platform(database_url, Settings(database_url, secret_key="d" * 40))


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.text)


def _members(url: str, year: int, states: tuple[str, ...]) -> list[str]:
    with transaction(url) as session:
        cycle = get_cycle(session, year)
        return sorted(m for m, s in session.execute(
            Submission.__table__.select().with_only_columns(Submission.member, Submission.state)
            .where(Submission.cycle_id == cycle.id)).all() if s in states)


def test_releases_are_created_shown_compared_and_withdrawn_through_the_pages(demo) -> None:
    sec = demo.client("secretariat")
    overview = sec.get("/secretariat/releases")
    assert overview.status_code == 200 and f'href="{RELEASES}"' in overview.text
    assert 'href="/secretariat/releases"' in sec.get("/secretariat").text
    page = sec.get(RELEASES)
    assert "No release of this cycle yet." in page.text and "Create release 1" in page.text
    assert "The audit takes time" in page.text  # the page says the form is slow
    token = csrf_of(page.text)

    # refused: without the form's CSRF token, and for every role but the Secretariat
    assert sec.post(RELEASES, data={}).status_code == 403
    member = _members(demo.url, YEAR, ("validated", "published"))[0]
    for user in (f"ncp-{member.lower()}", "reviewer1", "wb-pmmpt", f"viewer-{member.lower()}"):
        client = demo.client(user)
        own = page_csrf(client, "/")
        assert client.post(RELEASES, data={"csrf_token": own}).status_code in (403, 401), user
        assert client.get(RELEASES).status_code == 403, user
        assert client.post("/secretariat/releases/config", data={
            "csrf_token": own, "min_n": "1", "dominance": "0", "protection": "0"}
        ).status_code == 403, user
    anonymous = demo.client().get("/secretariat/releases", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    with transaction(demo.url) as session:
        assert rel_mod.releases(session, YEAR) == []
        assert rel_mod.current_rules(session) == Rules()

    # create release 1: the page shows the result of the audit
    made = sec.post(RELEASES, data={"csrf_token": token})
    assert made.status_code == 200, made.text[-800:]
    assert made.url.path == f"{RELEASES}/1"
    with transaction(demo.url) as session:
        rel = rel_mod.get(session, YEAR, 1)
        counts = rel_mod.counts(session, rel)
        stats = rel_mod.statistics(session, rel)
    text = _text(made)
    assert re.search(rf"Release 1 of cycle {YEAR} was created in \d+ s: 10 validated members; "
                     rf"public: {counts['public_released']} statistics released, "
                     rf"{counts['public_withheld']} withheld", text), text[:3000]
    assert 'id="rule-min-n">3<' in text and "created" not in text.split("<main")[0]
    # what was withheld from the public, per KPI and group, and why
    head = stats[(stats["audience"] == "public") & (stats["level"] == "kpi") & (stats["n"] > 0)
                 & (stats["variant"] == "") & (stats["breakdown"] == "")]
    partial = (head["withheld"] != "") & ~head["withheld"].str.contains("/", regex=False)
    withheld = head[head["mean"].isna() | partial]
    assert len(withheld) > 10
    assert f"{len(withheld)} group statistics of KPI values withheld from the public" in text
    assert "fewer than 3 members reported" in text
    wco = _text(sec.get(f"{RELEASES}/1", params={"audience": "wco", "level": "outcome"}))
    assert "withheld from WCO level" in wco
    assert sec.get(f"{RELEASES}/1", params={"audience": "everyone"}).status_code == 422

    # the disclosure-control configuration: refused with a message next to each bad field
    bad = sec.post("/secretariat/releases/config", data={
        "csrf_token": token, "min_n": "0", "dominance": "lots", "protection": "7.5"})
    assert bad.status_code == 422
    text = _text(bad)
    assert "'0': expected a whole number of at least 1" in text
    assert "'lots': expected a percentage from 0 to 100" in text
    assert 'id="min_n" name="min_n" value="0" required aria-invalid="true"' in text
    assert 'name="protection" value="7.5"' in text  # the input is kept
    with transaction(demo.url) as session:
        assert rel_mod.current_rules(session) == Rules()
    saved = sec.post("/secretariat/releases/config", data={
        "csrf_token": token, "min_n": "4", "dominance": "12,5", "protection": "2"})
    assert "minimum group size 4, dominance p = 12.5, protection 2%" in _text(saved)
    with transaction(demo.url) as session:
        assert rel_mod.current_rules(session) == Rules(4, 12.5, 2.0)
        assert [e.new for e in trail(session, principal_for(session, "secretariat"))
                if e.action == "release.config" and e.field == "min_n"] == ["4"]

    second = sec.post(RELEASES, data={"csrf_token": token})
    assert "Release 2 of cycle 2022 was created" in _text(second)
    assert 'id="rule-min-n">4<' in second.text

    # compare: what a stricter minimum group size withheld, on the page and as CSV
    with transaction(demo.url) as session:
        changes = rel_mod.diff(session, YEAR, 1, 2)
    compare = sec.get(f"{RELEASES}/compare", params={"a": 1, "b": 2})
    assert compare.status_code == 200
    assert "now withheld" in compare.text and len(changes) > 0
    download = sec.get(f"{RELEASES}/compare", params={"a": 1, "b": 2, "format": "csv"})
    assert download.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == len(changes) and rows[0].keys() >= {"audience", "code", "change"}
    assert sec.get(f"{RELEASES}/compare", params={"a": 1, "b": 9}).status_code == 404

    # withdraw release 2: a confirmation step, a reason required, nothing changed without one
    confirm = sec.get(f"{RELEASES}/2/withdraw")
    assert "readers get release 1 of this cycle instead" in _text(confirm)
    for reason in ("", "   "):
        refused = sec.post(f"{RELEASES}/2/withdraw", data={"csrf_token": token,
                                                           "reason": reason})
        assert refused.status_code == 422
        assert "Say why the release is withdrawn" in _text(refused)
        assert 'name="reason" rows="3" required aria-invalid="true"' in refused.text
    assert sec.post(f"{RELEASES}/2/withdraw", data={"reason": "no token"}).status_code == 403
    ncp = demo.client(f"ncp-{member.lower()}")
    assert ncp.post(f"{RELEASES}/2/withdraw", data={
        "csrf_token": page_csrf(ncp, "/"), "reason": "not mine"}).status_code == 403
    with transaction(demo.url) as session:
        assert rel_mod.get(session, YEAR, 2).withdrawn_at is None
        assert rel_mod.latest(session, YEAR).number == 2
    done = sec.post(f"{RELEASES}/2/withdraw", data={
        "csrf_token": token, "reason": "A member corrected its figures"})
    text = _text(done)
    assert "Release 2 of cycle 2022 was withdrawn." in text
    assert re.search(r"withdrawn on [\d-]+ [\d:]+ UTC by secretariat: A member corrected its "
                     r"figures", text)
    with transaction(demo.url) as session:
        assert rel_mod.latest(session, YEAR).number == 1
    again = sec.post(f"{RELEASES}/2/withdraw", data={"csrf_token": token, "reason": "twice"})
    assert again.status_code == 422 and "already withdrawn" in _text(again)
    # in French
    french = _text(sec.get(RELEASES, params={"lang": "fr"}))
    assert "Publications du cycle 2022" in french and "retirée le" in french
    assert "Configuration du contrôle de la divulgation" in _text(
        sec.get("/secretariat/releases", params={"lang": "fr"}))


def test_reports_on_the_web(demo) -> None:
    with transaction(demo.url) as session:
        rel_mod.create(session, principal_for(session, "secretariat"), YEAR)
    public = demo.client()
    page = public.get(f"/results/{YEAR}/report")
    assert page.status_code == 200 and page.headers["content-security-policy"] == REPORT_CSP
    with transaction(demo.url) as session:
        expected = reports.global_report(session, ANONYMOUS, YEAR, lang="en")
    made = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
    # the page is the public's report, as `pmm report global --public` makes it
    assert made.sub("", page.text) == made.sub("", expected)
    assert "Prepared for the public" in page.text or "public" in page.text
    regional = public.get(f"/results/{YEAR}/report", params={"region": "eur"})
    assert regional.status_code == 200 and "Europe" in regional.text
    bad = public.get(f"/results/{YEAR}/report", params={"region": "ATLANTIS"})
    assert bad.status_code == 422 and "expected one of" in _text(bad)
    pdf = public.get(f"/results/{YEAR}/report.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"
    assert pdf.headers["content-disposition"] == \
        f'attachment; filename="pmm-{YEAR}-release-1-global.pdf"'
    assert public.get(f"/results/{YEAR}/report.pdf").content == pdf.content  # cached
    french = public.get(f"/results/{YEAR}/report?lang=fr")
    assert '<html lang="fr">' in french.text
    assert public.get("/results/2024/report").status_code == 404  # no release of 2024 yet
    # the Secretariat reads any release's report with the WCO-level statistics
    sec = demo.client("secretariat")
    own = sec.get(f"{RELEASES}/1/report")
    assert own.status_code == 200 and "secretariat" in own.text and own.text != page.text
    assert sec.get(f"{RELEASES}/1/report.pdf").content[:5] == b"%PDF-"
    member = _members(demo.url, YEAR, ("validated", "published"))[0]
    ncp = demo.client(f"ncp-{member.lower()}")
    assert ncp.get(f"{RELEASES}/1/report").status_code == 403
    assert ncp.get(f"/results/{YEAR}/report").status_code == 200
    assert 'href="/results/2022/report.pdf"' in public.get(f"/results/{YEAR}").text


def test_demand_coverage_and_review_assignments(demo) -> None:
    sec = demo.client("secretariat")
    with transaction(demo.url) as session:
        who = principal_for(session, "secretariat")
        table, _gaps = api.demand(session, who, YEAR)
        cover = api.coverage(session, who, YEAR)
        fw = framework_of(get_cycle(session, YEAR))
    names = {s.code: s.name.en for s in load_support(fw=fw)}
    page = sec.get(f"/secretariat/cycles/{YEAR}/demand")
    assert page.status_code == 200
    text = _text(page)
    top = table.iloc[0]
    assert top["gaps"] > 0 and names[top["top_support"]] in text  # the catalogue's names
    assert f"{top['priority']:.2f}" in text
    by_income = _text(sec.get(f"/secretariat/cycles/{YEAR}/demand", params={"by": "income"}))
    assert any(g.en in by_income for g in INCOME_GROUPS.values())
    assert sec.get(f"/secretariat/cycles/{YEAR}/demand", params={"by": "sea"}
                   ).status_code == 422
    coverage = _text(sec.get(f"/secretariat/cycles/{YEAR}/coverage"))
    for row in cover.head(5).itertuples():
        assert re.search(rf"{re.escape(row.kpi)} [^<]*</td><td class=\"num\">{row.members}</td>"
                         rf"<td class=\"num\">{row.reported}</td>", coverage), row.kpi
    # review assignments: a member asks, the Secretariat assigns from the page
    asking = _members(demo.url, 2024, ("submitted",))[0]
    with transaction(demo.url) as session:
        ncp = principal_for(session, f"ncp-{asking.lower()}")
        workflow.request_peer_review(session, ncp, find_submission(
            session, get_cycle(session, 2024), asking))
    reviews = sec.get("/secretariat/cycles/2024/reviews")
    assert reviews.status_code == 200 and "of which 1 without a reviewer" in reviews.text
    assigned = sec.post(f"/cycles/2024/members/{asking}/assign", data={
        "csrf_token": csrf_of(reviews.text), "reviewer": "reviewer2",
        "version": re.search(r'name="version" value="(\d+)"', reviews.text).group(1),
        "next": "/secretariat/cycles/2024/reviews"})
    assert assigned.url.path == "/secretariat/cycles/2024/reviews"
    assert "The peer reviewer was assigned." in assigned.text
    assert "reviewer2" in assigned.text and "of which 0 without a reviewer" in assigned.text
    elsewhere = sec.post(f"/cycles/2024/members/{asking}/assign", data={
        "csrf_token": csrf_of(reviews.text), "reviewer": "reviewer3",
        "version": re.search(r'name="version" value="(\d+)"', assigned.text).group(1),
        "next": "https://evil.example/"}, follow_redirects=False)
    assert elsewhere.headers["location"].startswith(f"/cycles/2024/members/{asking}")
    # the review report, for who may read the submission
    report = sec.get(f"/cycles/2024/members/{asking}/review-report")
    assert report.status_code == 200 and asking in report.text
    assert report.headers["content-security-policy"] == REPORT_CSP
    pdf = sec.get(f"/cycles/2024/members/{asking}/review-report.pdf")
    assert pdf.content[:5] == b"%PDF-" and "attachment" in pdf.headers["content-disposition"]
    assert demo.client(f"ncp-{asking.lower()}").get(
        f"/cycles/2024/members/{asking}/review-report").status_code == 200
    other = _members(demo.url, 2024, ("draft",))[0]
    assert demo.client(f"ncp-{other.lower()}").get(
        f"/cycles/2024/members/{asking}/review-report").status_code == 403
    # refused to anyone but the Secretariat
    member = demo.client(f"ncp-{asking.lower()}")
    for path in ("demand", "coverage", "reviews"):
        assert member.get(f"/secretariat/cycles/{YEAR}/{path}").status_code == 403
    assert member.get("/secretariat/cycles/2024/reviews").status_code == 403
