"""Accessibility in Debian's Chromium: axe-core (the engine behind most accessibility audits)
over the main pages of each kind of user, and a form used with the keyboard alone.

Any violation axe rates moderate, serious or critical fails the test, named with the elements it
found; minor ones are listed in the artifacts (test-artifacts/browser/accessibility.json).
"""

from __future__ import annotations

import json

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from pmm.analysis import release as rel_mod
from pmm.assessment.demo import PASSWORD as DEMO_PASSWORD
from pmm.store.engine import transaction
from pmm.store.users import principal_for
from tests.web.conftest import PASSWORD, YEAR
from tests.web.test_browser import (  # noqa: F401
    ARTIFACTS,
    browser_type_launch_args,
    released_server,
    sign_in,
)

pytestmark = pytest.mark.browser
AXE = Axe()
PUBLIC = ["/", "/framework", "/framework/wco-pmm-v1", "/framework/wco-pmm-v1/outcomes/TF.1",
          "/framework/wco-pmm-v1/kpis/TF.1.1", "/results", "/login", "/login?lang=fr"]
SIGNED_IN = {
    "ncp-bel": ["/home", "/account", f"/cycles/{YEAR}/members/BEL",
                f"/cycles/{YEAR}/members/BEL/outcomes/TF.1"],
    "reviewer1": ["/home", f"/cycles/{YEAR}/members/ALB"],
    "sec": ["/secretariat", f"/secretariat/cycles/{YEAR}", "/secretariat/frameworks",
            "/secretariat/releases", f"/secretariat/cycles/{YEAR}/releases",
            f"/secretariat/cycles/{YEAR}/reviews", "/secretariat/proposals",
            "/secretariat/drafts"],
    "wb": ["/proposals", "/proposals/new"],
}


def _page(browser: Browser, base: str, username: str | None = None,
          password: str = PASSWORD) -> Page:
    # axe is injected as a script: the context lets it past the site's CSP (no inline script)
    if username:
        return sign_in(browser, base, username, password, bypass_csp=True)
    return browser.new_context(base_url=base, bypass_csp=True).new_page()


def _audit(page: Page, path: str | None, found: dict[str, list], name: str = "") -> None:
    if path:
        page.goto(path)
    result = AXE.run(page).response
    found[name or str(path)] = [{"rule": v["id"], "impact": v["impact"], "help": v["help"],
                                 "where": [n["target"] for n in v["nodes"]][:5]}
                                for v in result["violations"]]


def test_the_main_pages_have_no_accessibility_violation(live_server, browser: Browser
                                                        ) -> None:
    found: dict[str, list] = {}
    page = _page(browser, live_server.url)
    for path in PUBLIC:
        _audit(page, path, found)
    for username, paths in SIGNED_IN.items():
        page = _page(browser, live_server.url, username)
        for path in paths:
            _audit(page, path, found)
    # a form showing its errors is audited too (errors must be announced and tied to fields)
    page = _page(browser, live_server.url, "ncp-bel")
    page.goto(f"/cycles/{YEAR}/members/BEL/outcomes/TF.1")
    page.get_by_label(f"Goods declarations lodged — {YEAR}", exact=True).fill("many")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field-error").first).to_be_visible()
    _audit(page, None, found, "outcome form with an error")
    page = _page(browser, live_server.url, "wb")
    page.goto("/proposals/new")
    page.get_by_role("button", name="Submit the proposal").click()
    expect(page.locator(".field-error").first).to_be_visible()
    _audit(page, None, found, "KPI proposal form with errors")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "accessibility.json").write_text(json.dumps(found, indent=1))
    failing = {path: [v for v in issues if v["impact"] != "minor"]
               for path, issues in found.items()}
    failing = {path: issues for path, issues in failing.items() if issues}
    assert not failing, json.dumps(failing, indent=1)


def test_the_release_and_secretariat_view_pages_have_no_accessibility_violation(
        demo_server, browser: Browser) -> None:
    with transaction(demo_server.database_url) as session:
        if rel_mod.latest(session, 2022) is None:
            rel_mod.create(session, principal_for(session, "secretariat"), 2022)
    found: dict[str, list] = {}
    page = _page(browser, demo_server.url, "secretariat", DEMO_PASSWORD)
    releases = "/secretariat/cycles/2022/releases"
    for path in ("/secretariat/releases", releases, f"{releases}/1",
                 f"{releases}/1?audience=wco&level=outcome", f"{releases}/compare?a=1&b=1",
                 f"{releases}/1/withdraw", "/secretariat/cycles/2022/demand",
                 "/secretariat/cycles/2022/demand?by=income", "/secretariat/cycles/2022/coverage",
                 "/secretariat/cycles/2024/reviews", "/results/2022"):
        _audit(page, path, found)
        assert not page.title().startswith("Error"), path  # the page itself was audited
    # the forms showing their errors
    page.goto("/secretariat/releases")
    page.get_by_label("Minimum group size (members behind a group statistic)").fill("none")
    page.get_by_role("button", name="Save the configuration").click()
    expect(page.locator(".field-error").first).to_be_visible()
    _audit(page, None, found, "configuration with an error")
    page.goto(f"{releases}/1/withdraw")
    page.locator("#reason").evaluate("e => e.removeAttribute('required')")
    page.get_by_role("button", name="Withdraw release 1").click()
    expect(page.locator("#reason-err")).to_be_visible()
    _audit(page, None, found, "withdrawal without a reason")
    with transaction(demo_server.database_url) as session:
        assert rel_mod.latest(session, 2022).number == 1  # nothing was withdrawn
    failing = {path: [v for v in issues if v["impact"] != "minor"]
               for path, issues in found.items()}
    failing = {path: issues for path, issues in failing.items() if issues}
    assert not failing, json.dumps(failing, indent=1)


def test_signing_in_and_saving_a_value_with_the_keyboard_alone(live_server,
                                                                browser: Browser) -> None:
    page = browser.new_context(base_url=live_server.url).new_page()
    page.goto("/login")
    page.keyboard.press("Tab")  # the first stop is the skip link
    expect(page.locator(":focus")).to_have_class("skip")
    page.get_by_label("User name").focus()
    page.keyboard.type("ncp-bel")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_attribute("type", "password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    page.goto(f"/cycles/{YEAR}/members/BEL/outcomes/TF.1")
    field = page.get_by_label(f"Goods declarations lodged — {YEAR}", exact=True)
    field.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("not a number")
    page.keyboard.press("Enter")  # submits the form
    error = page.locator(".field-error").first
    expect(error).to_be_visible()
    field = page.get_by_label(f"Goods declarations lodged — {YEAR}", exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    described = field.get_attribute("aria-describedby") or ""
    assert described and page.locator(f"#{described.split()[0]}").count() == 1


def test_the_results_pages_have_no_accessibility_violation(released_server,  # noqa: F811
                                                           browser: Browser) -> None:
    """The public results page and a member's results page (charts, row-grouped tables)."""
    found: dict[str, list] = {}
    page = _page(browser, released_server.url)
    for path in ("/results/2024", "/results/2024?by=income", "/results/2024?lang=fr"):
        _audit(page, path, found)
    page = _page(browser, released_server.url, "ncp-fra")
    for path in ("/home", "/results/2024/members/FRA", "/results/2024/members/FRA?lang=fr"):
        _audit(page, path, found)
    failing = {path: [v for v in issues if v["impact"] != "minor"]
               for path, issues in found.items()}
    failing = {path: issues for path, issues in failing.items() if issues}
    assert not failing, json.dumps(failing, indent=1)
