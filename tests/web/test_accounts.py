"""Signing in and out, throttling, CSRF, password change, API tokens (HTTP, in-process)."""

from __future__ import annotations

from sqlalchemy import select

from pmm.store.engine import transaction
from pmm.store.models import ApiToken
from pmm.web import auth
from tests.web.conftest import PASSWORD, page_csrf


def login(client, username: str, password: str = PASSWORD, next: str = "/home"):  # type: ignore[no-untyped-def]
    token = page_csrf(client, "/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token, "next": next},
                       follow_redirects=False)


def test_login_sets_a_hardened_cookie_and_logout_ends_the_session(platform) -> None:
    client = platform.client()
    answer = login(client, "ncp-alb")
    assert answer.status_code == 303 and answer.headers["location"] == "/home"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert client.get("/home").status_code == 200
    stolen = client.cookies.get(auth.SESSION_COOKIE)
    client.post("/logout", data={"csrf_token": page_csrf(client, "/home")})
    other = platform.client()
    other.cookies.set(auth.SESSION_COOKIE, stolen)
    assert other.get("/home", follow_redirects=False).status_code == 303  # ended everywhere


def test_secure_setting_marks_cookies_secure_and_sends_hsts(platform) -> None:
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from pmm.web.app import create_app

    client = TestClient(create_app(replace(platform.settings, secure=True)),
                        base_url="https://testserver")
    answer = login(client, "ncp-alb")
    assert "Secure" in answer.headers["set-cookie"]
    assert "max-age=" in answer.headers["strict-transport-security"]


def test_wrong_password_then_throttled_per_user(platform) -> None:
    client = platform.client()
    for _ in range(auth.MAX_FAILURES_USER):
        answer = login(client, "ncp-alb", "wrong-password")
        assert answer.status_code == 401
        assert "The user name or the password is wrong." in answer.text
    answer = login(client, "ncp-alb")  # even the right password waits now
    assert answer.status_code == 429
    assert "Too many failed sign-ins" in answer.text
    assert login(client, "ncp-bel").status_code == 303  # another user is not affected


def test_throttling_is_shared_by_every_worker(platform) -> None:
    first, second = platform.client(), platform.client(worker=True)  # two workers, one database
    for _ in range(auth.MAX_FAILURES_USER):
        login(first, "viewer-alb", "wrong-password")
    assert login(second, "viewer-alb").status_code == 429


def test_post_without_csrf_token_is_refused(platform) -> None:
    client = platform.client("ncp-alb")
    answer = client.post("/account/tokens", data={"name": "x"})
    assert answer.status_code == 403
    assert "did not come from this site" in answer.text
    other = platform.client("ncp-bel")  # a token of another session does not work either
    answer = client.post("/account/tokens", data={"name": "x",
                                                  "csrf_token": page_csrf(other, "/home")})
    assert answer.status_code == 403
    ok = client.post("/account/tokens", data={"name": "x",
                                              "csrf_token": page_csrf(client, "/home")})
    assert ok.status_code == 200
    header = client.post("/account/tokens", data={"name": "y"},
                         headers={"X-CSRF-Token": page_csrf(client, "/home")})
    assert header.status_code == 200  # htmx sends it as a header


def test_login_form_itself_needs_the_csrf_token(platform) -> None:
    client = platform.client()
    answer = client.post("/login", data={"username": "ncp-alb", "password": PASSWORD})
    assert answer.status_code == 403


def test_password_change_signs_out_other_browsers(platform) -> None:
    here, there = platform.client(), platform.client()
    login(here, "ncp-bel")
    login(there, "ncp-bel")
    token = page_csrf(here, "/account")
    bad = here.post("/account/password", data={"current": "nope-nope", "new": "abcdefgh1",
                                               "confirm": "abcdefgh2", "csrf_token": token})
    assert bad.status_code == 422
    assert "The current password is wrong." in bad.text
    assert "differ" in bad.text
    good = here.post("/account/password", data={"current": PASSWORD, "new": "new-password-9",
                                                 "confirm": "new-password-9",
                                                 "csrf_token": token}, follow_redirects=False)
    assert good.status_code == 303
    assert here.get("/home").status_code == 200
    assert there.get("/home", follow_redirects=False).status_code == 303
    assert login(platform.client(), "ncp-bel", "new-password-9").status_code == 303


def test_api_token_is_hashed_at_rest_used_as_bearer_and_revoked_by_its_owner(platform) -> None:
    client = platform.client("ncp-alb")
    page = client.post("/account/tokens", data={"name": "national system",
                                                "csrf_token": page_csrf(client, "/account")})
    clear = page.text.split('id="new-token">')[1].split("<")[0]
    assert clear.startswith("pmm_")
    with transaction(platform.url) as session:
        stored = session.scalars(select(ApiToken)).all()
    assert [t.token_hash for t in stored] == [auth.digest(clear)]
    assert clear not in {t.token_hash for t in stored}
    api = platform.client()
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {clear}"})
    assert me.json() == {"username": "ncp-alb", "role": "ncp", "member": "ALB"}
    # another user cannot revoke it; its owner can
    thief = platform.client("ncp-bel")
    answer = thief.post(f"/account/tokens/{stored[0].id}/revoke",
                        data={"csrf_token": page_csrf(thief, "/account")})
    assert answer.status_code == 404
    client.post(f"/account/tokens/{stored[0].id}/revoke",
                data={"csrf_token": page_csrf(client, "/account")})
    gone = api.get("/api/v1/me", headers={"Authorization": f"Bearer {clear}"})
    assert gone.status_code == 401
    assert gone.json()["error"]["kind"] == "unauthenticated"


def test_forged_session_cookie_is_anonymous(platform) -> None:
    client = platform.client()
    client.cookies.set(auth.SESSION_COOKIE, "forged.value")
    assert client.get("/home", follow_redirects=False).status_code == 303
