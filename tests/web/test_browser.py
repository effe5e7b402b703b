"""End to end in Debian's Chromium (Playwright): the NCP, the reviewer, the Secretariat, French.

Runs in `make test` (which installs Chromium when it is missing); deselect locally with
`-m "not browser"`. Screenshots are kept in test-artifacts/ (not in git).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect

from pmm.analysis import release as rel_mod
from pmm.assessment.demo import PASSWORD as DEMO_PASSWORD
from pmm.publish import source, tables
from pmm.store.engine import transaction
from pmm.store.users import principal_for
from tests.web.conftest import PASSWORD, YEAR

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not CHROMIUM.exists():
        pytest.fail("Debian's Chromium is missing: `make test` installs it "
                    "(apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM),
            "args": ["--no-sandbox"]}


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(browser: Browser, base: str, username: str, password: str = PASSWORD,
            **context: object) -> Page:
    """A new browser context (with `context`'s options) signed in as `username`."""
    page = browser.new_context(base_url=base, accept_downloads=True, **context).new_page()
    page.goto("/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    return page


def test_ncp_reviewer_and_secretariat_in_the_browser(live_server, browser: Browser,
                                                     tmp_path) -> None:
    base = live_server.url
    home = f"/cycles/{YEAR}/members/BEL"
    ncp = sign_in(browser, base, "ncp-bel")
    ncp.goto(home + "/outcomes/TF.1")
    field = ncp.get_by_label(f"Goods declarations lodged — {YEAR}", exact=True)
    field.fill("a lot")
    ncp.get_by_role("button", name="Save").click()
    expect(ncp.locator(".field-error").first).to_contain_text("'a lot' is not a whole number")
    expect(field).to_have_attribute("aria-invalid", "true")
    shot(ncp, "01-invalid-value")
    field = ncp.get_by_label(f"Goods declarations lodged — {YEAR}", exact=True)
    field.fill("15000")
    ncp.get_by_role("button", name="Save").click()
    expect(ncp.get_by_role("status")).to_contain_text("change(s) saved")
    expect(ncp.get_by_label(f"Goods declarations lodged — {YEAR}", exact=True)
           ).to_have_value("15000")
    shot(ncp, "02-saved")

    # the Excel template: download it, fill it in (every KPI not applicable, with a reason)
    ncp.goto(home)
    with ncp.expect_download() as download:
        ncp.get_by_role("link", name="Download the Excel template").click()
    book_path = tmp_path / "template.xlsx"
    download.value.save_as(book_path)
    book = load_workbook(book_path)
    for sheet in book.worksheets:
        for row in range(1, sheet.max_row + 1):
            if sheet[f"A{row}"].value == "kpi":
                sheet[f"G{row}"] = "not_applicable"
                sheet[f"I{row}"] = "Not applicable in this administration"
    book.save(book_path)
    ncp.get_by_label("Upload a filled template").set_input_files(str(book_path))
    ncp.get_by_role("button", name="Import").click()
    expect(ncp.get_by_role("status")).to_contain_text("change(s) imported")
    shot(ncp, "03-imported")
    ncp.get_by_role("button", name="Submit").click()
    expect(ncp.locator("#state")).to_contain_text("submitted")
    ncp.get_by_role("button", name="Request a peer review").click()
    expect(ncp.locator("#state")).to_contain_text("review requested")
    shot(ncp, "04-review-requested")

    secretariat = sign_in(browser, base, "sec")
    secretariat.goto(home)
    secretariat.get_by_label("Peer reviewer").select_option("reviewer2")
    secretariat.get_by_role("button", name="Assign a peer reviewer").click()
    expect(secretariat.get_by_role("status")).to_contain_text("assigned")

    reviewer = sign_in(browser, base, "reviewer2")
    expect(reviewer.get_by_role("link", name="BEL")).to_be_visible()
    reviewer.goto(home)
    reviewer.get_by_role("button", name="Start a peer review").click()
    reviewer.get_by_label("Finding").fill("The number of declarations needs a source.")
    reviewer.get_by_role("button", name="Record the finding").click()
    reviewer.locator("#in-request_changes").fill("Please attach the source of TF.1.")
    reviewer.get_by_role("button", name="Request changes").click()
    expect(reviewer.locator("#state")).to_contain_text("changes requested")
    shot(reviewer, "05-changes-requested")

    ncp.goto(home)
    expect(ncp.get_by_text("The number of declarations needs a source.")).to_be_visible()
    ncp.get_by_role("button", name="Resubmit").click()
    expect(ncp.locator("#state")).to_contain_text("resubmitted")

    reviewer.goto(home)
    reviewer.get_by_role("button", name="Start a peer review").click()
    reviewer.get_by_role("button", name="Complete a peer review").click()
    expect(reviewer.get_by_role("status")).to_contain_text("completed")
    secretariat.goto(home)
    secretariat.get_by_role("button", name="Validate a submission").click()
    expect(secretariat.locator("#state")).to_contain_text("validated")
    shot(secretariat, "06-validated")
    # once validated, the NCP's form is read-only
    ncp.goto(home + "/outcomes/TF.1")
    expect(ncp.get_by_role("button", name="Save")).to_have_count(0)


def test_a_french_page(live_server, browser: Browser) -> None:
    page = browser.new_context(base_url=live_server.url).new_page()
    page.goto("/framework/wco-pmm-v1")
    page.get_by_role("link", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("link", name="Se connecter")).to_be_visible()
    expect(page.get_by_role("heading", level=2).first).to_have_text(
        re.compile("Facilitation des échanges"))
    shot(page, "07-french-framework")
    page.goto("/login")
    page.get_by_label("Nom d'utilisateur").fill("ncp-bel")
    page.get_by_label("Mot de passe").fill("wrong-password")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_contain_text("Le nom d'utilisateur ou le mot de passe")
    shot(page, "08-french-login")


def test_pages_work_without_javascript(live_server, browser: Browser) -> None:
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("User name").fill("ncp-alb")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    page.goto(f"/cycles/{YEAR}/members/ALB")
    page.get_by_label("Your comment").fill("Sent without JavaScript")
    page.get_by_role("button", name="Add the comment").click()
    expect(page.get_by_text("Sent without JavaScript")).to_be_visible()
    shot(page, "09-no-javascript")


@pytest.fixture(scope="module")
def released_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """`pmm serve` over the small platform with releases (tests/web/results_fixture.py)."""
    from tests.web.conftest import serve
    from tests.web.results_fixture import build

    folder = tmp_path_factory.mktemp("released")
    yield from serve(folder / "pmm.db", lambda url: build(url, folder))


def test_an_ncp_opens_its_results(released_server, browser: Browser) -> None:
    page = sign_in(browser, released_server.url, "ncp-fra")
    page.get_by_role("link", name="Results of FRA, cycle 2024").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Results of France, cycle 2024")
    chart = page.get_by_role("img", name=re.compile(r"^Dimension scores \(bars\)"))
    expect(chart).to_be_visible()
    expect(chart.locator("svg")).to_have_count(1)
    expect(page.get_by_role("table", name=re.compile("KPI values of France"))).to_be_visible()
    shot(page, "10-ncp-results")
    page.get_by_role("link", name="Français").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Résultats de France, cycle 2024")
    shot(page, "11-ncp-results-french")


# ---------------------------------------------------------------- releases and the public


def test_the_secretariat_creates_a_release(demo_server, browser: Browser) -> None:
    page = sign_in(browser, demo_server.url, "secretariat", DEMO_PASSWORD)
    page.get_by_role("link", name="Secretariat", exact=True).first.click()
    page.get_by_role("link", name="Releases and the disclosure-control configuration").click()
    page.get_by_role("link", name="Cycle 2022").click()
    expect(page.get_by_text("No release of this cycle yet.")).to_be_visible()
    expect(page.get_by_text("The audit takes time")).to_be_visible()
    shot(page, "20-release-to-create")
    page.get_by_role("button", name="Create release 1").click()
    expect(page.locator("p.notice")).to_contain_text(
        re.compile(r"Release 1 of cycle 2022 was created in \d+ s: 10 validated members"),
        timeout=180_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Release 1 of cycle 2022")
    expect(page.locator("#rule-min-n")).to_have_text("3")
    expect(page.locator("#withheld-table")).to_contain_text("fewer than 3 members reported")
    shot(page, "21-release-created")
    page.get_by_role("link", name="Cycle 2022").click()
    expect(page.locator("#releases")).to_contain_text("secretariat")


def _cell(value: float) -> str:
    """A number as the results page writes it (two decimals at most)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def test_the_public_page_shows_the_released_aggregate_and_no_restricted_value(
        demo_server, browser: Browser, tmp_path: Path) -> None:
    with transaction(demo_server.database_url) as session:
        rel = rel_mod.latest(session, 2022) or rel_mod.create(
            session, principal_for(session, "secretariat"), 2022)
        obs, _groups = rel_mod.snapshot(rel)
        public = rel_mod.statistics(session, rel, "public")
    head = obs[(obs["level"] == "kpi") & (obs["variant"] == "") & (obs["breakdown"] == "")
               & (obs["status"] == "ok") & obs["validated"].astype(bool)]
    shown = obs[(obs["disclosure"] == "public") & (obs["status"] == "ok")]  # any level
    allowed = {_cell(v) for v in np.concatenate([
        shown["value"].to_numpy(float), public[["mean", "median", "q1", "q3", "n"]]
        .to_numpy(float).ravel()]) if np.isfinite(v)}
    # the members' restricted values (a value of a member is restricted when its NCP says so)
    restricted = head[head["disclosure"] == "restricted"]
    secret = {_cell(v) for v in restricted["value"]} - allowed
    assert len(secret) > 20
    # a released aggregate that includes a restricted value: the global mean of its KPI
    total = public[(public["grouping"] == "global") & (public["group"] == "all")
                   & (public["level"] == "kpi") & (public["variant"] == "")
                   & (public["breakdown"] == "") & public["mean"].notna()]
    total = total[total["code"].isin(restricted["code"])]
    assert len(total)
    kpi, mean = total.iloc[0]["code"], float(total.iloc[0]["mean"])
    # the check below would see a leak: the Secretariat's own export holds these values
    with transaction(demo_server.database_url) as session:
        view = source.read(session, principal_for(session, "secretariat"), 2022)
        values, _stats = tables.write_csv(view, tmp_path / "secretariat")
    inside = pd.read_csv(values).select_dtypes("number").to_numpy(float).ravel()
    assert secret & {_cell(v) for v in inside if np.isfinite(v)}

    page = browser.new_context(base_url=demo_server.url, accept_downloads=True).new_page()
    page.goto("/results")
    page.get_by_role("link", name=re.compile("Cycle 2022")).click()
    page.get_by_label("Group by").select_option("global")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(f"h2[id='{kpi}'] + table")).to_contain_text(_cell(mean))
    shot(page, "22-public-results-no-restricted-value")
    cells = page.locator("td").all_inner_texts()
    assert not secret & set(cells), sorted(secret & set(cells))[:5]
    # the open-data files say no more
    for link in ("CSV (values-csv)", "CSV (statistics-csv)"):
        with page.expect_download() as download:
            page.get_by_role("link", name=link).click()
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        frame = pd.read_csv(io.StringIO(path.read_text(encoding="utf-8")))
        numbers = frame.select_dtypes("number").to_numpy(float).ravel()
        written = {_cell(v) for v in numbers if np.isfinite(v)}
        assert not secret & written, (link, sorted(secret & written)[:5])
        if link.endswith("(statistics-csv)"):
            assert np.isclose(numbers, mean).any()
