"""The public site, the language switch, security headers, redirects, limits, the error shape."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from pmm.framework.loader import load
from pmm.web.app import CSP, create_app
from tests.web.conftest import YEAR, page_csrf

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "pmm" / "web" / "templates"
PO = Path(__file__).resolve().parents[2] / "src" / "pmm" / "locale" / "fr" / "web.po"
MESSAGE = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)""")


def test_every_template_message_has_a_french_translation() -> None:
    with PO.open("rb") as fh:
        catalogue = {str(m.id): str(m.string) for m in read_po(fh) if m.id}
    missing = [f"{path.name}: {a or b!r}" for path in sorted(TEMPLATES.rglob("*.html"))
               for a, b in MESSAGE.findall(path.read_text()) if not catalogue.get(a or b)]
    assert not missing, "no French in web.po for:\n" + "\n".join(missing)


def test_framework_browser_from_dimensions_to_kpis_sdgs_and_tools(platform) -> None:
    fw = load("wco-pmm-v1")
    client = platform.client()
    index = client.get("/framework/wco-pmm-v1").text
    for dimension in fw.dimensions:
        assert dimension.name.en in index
    outcome = fw.outcomes[0]
    page = client.get(f"/framework/wco-pmm-v1/outcomes/{outcome.code}").text
    for kpi in fw.kpis_of_outcome(outcome.code):
        assert f"/framework/wco-pmm-v1/kpis/{kpi.code}" in page
    for target in outcome.sdg_targets:
        assert target in page
    kpi = fw.kpis_of_outcome(outcome.code)[0]
    page = client.get(f"/framework/wco-pmm-v1/kpis/{kpi.code}").text
    assert kpi.formula.split("(")[0] in page and fw.data_item(kpi.data_items[0]).name.en in page
    assert client.get("/framework/wco-pmm-v1/kpis/NOPE").status_code == 404
    assert client.get("/framework/no-such-fw").status_code == 404


def test_french_everywhere_by_switch_and_by_browser_preference(platform) -> None:
    fw = load("wco-pmm-v1")
    client = platform.client()
    switched = client.get("/language/fr?next=/framework/wco-pmm-v1", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/framework/wco-pmm-v1"
    page = client.get("/framework/wco-pmm-v1").text
    assert '<html lang="fr">' in page and fw.dimensions[0].name.fr in page
    assert "Se connecter" in page and "English" in page
    assert "Mécanisme de mesure de la performance" in client.get("/").text
    assert "Il n'y a pas de page" in client.get("/nowhere").text.replace("&#39;", "'")
    other = platform.client()
    assert '<html lang="fr">' in other.get("/", headers={"Accept-Language": "fr-FR"}).text
    assert '<html lang="en">' in other.get("/").text


def test_security_headers_on_pages_api_and_errors(platform) -> None:
    client = platform.client()
    for path in ("/", "/api/v1/me", "/nowhere", "/static/pmm.css"):
        headers = client.get(path, follow_redirects=False).headers
        assert headers["content-security-policy"] == CSP, path
        assert "frame-ancestors 'none'" in CSP and "script-src 'self'" in CSP
        assert "unsafe-inline" not in CSP
        assert headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in headers  # plain HTTP: no HSTS
    secure = TestClient(create_app(replace(platform.settings, secure=True)),
                        base_url="https://testserver")
    assert "max-age" in secure.get("/").headers["strict-transport-security"]


def test_no_inline_script_in_any_page(platform) -> None:
    client = platform.client("ncp-bel")
    for path in ("/", "/framework/wco-pmm-v1", "/home", "/account", "/login",
                 f"/cycles/{YEAR}/members/BEL", f"/cycles/{YEAR}/members/BEL/outcomes/TF.1"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"<[^>]+\son[a-z]+=", html), path  # no inline handlers


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "/\\evil.example", "javascript:alert(1)",
                                    "http:/evil.example"])
def test_no_open_redirect(platform, target: str) -> None:
    client = platform.client()
    switch = client.get("/language/en", params={"next": target}, follow_redirects=False)
    assert switch.headers["location"] == "/"
    token = page_csrf(client, "/login")
    login = client.post("/login", data={"username": "ncp-alb", "password": "correct-horse-7",
                                        "csrf_token": token, "next": target},
                        follow_redirects=False)
    assert login.headers["location"] == "/home"
    form = client.get("/login", params={"next": target}).text
    assert 'name="next" value="/home"' in form


def test_upload_size_limit(platform) -> None:
    small = TestClient(create_app(replace(platform.settings, max_upload=1000)))
    client = platform.client("ncp-bel")
    small.cookies = client.cookies
    token = page_csrf(client, f"/cycles/{YEAR}/members/BEL")
    answer = small.post(f"/cycles/{YEAR}/members/BEL/evidence",
                        data={"csrf_token": token, "kpi": "TF.1.1"},
                        files={"file": ("big.txt", b"x" * 5000, "text/plain")})
    assert answer.status_code == 413
    assert answer.json()["error"]["kind"] == "too_large"


def test_one_error_shape_for_pages_and_api(platform) -> None:
    client = platform.client("ncp-bel")
    page = client.get(f"/cycles/{YEAR}/members/ALB")
    assert page.status_code == 403 and 'role="alert"' in page.text
    api = client.get(f"/api/v1/cycles/{YEAR}/members/ALB")
    assert api.status_code == 403
    body = api.json()["error"]
    assert body["kind"] == "forbidden" and body["status"] == 403
    assert any("ALB" in line for line in body["messages"])
    missing = client.get("/api/v1/cycles/1999/members/BEL")
    assert missing.status_code == 404 and missing.json()["error"]["kind"] == "not_found"
    assert client.get("/api/v1/nowhere").json()["error"]["kind"] == "not_found"
    assert client.delete("/").status_code == 405


def test_huge_numbers_in_addresses_and_forms_are_invalid_not_a_crash(platform) -> None:
    """Found by Schemathesis: an unbounded year reached SQLite as an integer overflow (500)."""
    huge = "99999999999999999999"
    client = platform.client("sec")
    api = client.get(f"/api/v1/cycles/{huge}/submissions")
    assert api.status_code == 422 and api.json()["error"]["kind"] == "invalid"
    assert client.get(f"/cycles/{huge}/members/ALB").status_code == 422
    assert client.get(f"/cycles/{YEAR}/members/ALB/evidence/{huge}").status_code == 422
    token = page_csrf(client, f"/cycles/{YEAR}/members/ALB")
    step = client.post(f"/cycles/{YEAR}/members/ALB/validate",
                       data={"csrf_token": token, "version": huge})
    assert step.status_code == 422
    ncp = platform.client("ncp-alb")
    body = ncp.post(f"/api/v1/cycles/{YEAR}/members/ALB/submit",
                    json={"expected_version": int(huge)},
                    headers={"X-CSRF-Token": page_csrf(ncp, "/home")})
    assert body.status_code == 422
