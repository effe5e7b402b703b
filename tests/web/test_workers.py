"""Several `pmm serve` workers behind one database behave as one: a session, its CSRF token
and a withdrawal made anywhere count everywhere at once (`Platform.new_app()` stands for another
worker process: its own application, signer and caches; the caches are per process, so each app
here sees them warm from the other's reads, which is the hard case)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pmm.web.settings import Settings
from tests.analysis.test_release import cycle, pmm  # noqa: F401
from tests.web.conftest import Platform, page_csrf
from tests.web.test_accounts import login


def test_a_session_and_its_csrf_token_work_on_every_worker(platform: Platform) -> None:
    first = platform.client()
    assert login(first, "ncp-alb").status_code == 303
    second = platform.client(worker=True)
    second.cookies.set("pmm_session", first.cookies.get("pmm_session"))
    assert second.get("/home").status_code == 200
    token = page_csrf(first, "/home")  # a form served by one worker, sent to the other
    made = second.post("/account/tokens", data={"name": "from worker 2", "csrf_token": token})
    assert made.status_code == 200 and "from worker 2" in first.get("/account").text
    assert second.post("/logout", data={"csrf_token": token}).status_code in (200, 303)
    assert first.get("/home", follow_redirects=False).status_code == 303  # signed out there too


def _release_shown(client, year: int = 2024) -> int | None:  # type: ignore[no-untyped-def]
    page = client.get(f"/results/{year}")
    if page.status_code == 404:
        return None
    assert page.status_code == 200, page.text[:300]
    return int(re.search(r"Release (\d+) of", page.text).group(1))


def test_a_withdrawal_is_seen_at_once_by_every_worker(cycle: str, capsys,  # noqa: F811
                                                      tmp_path: Path) -> None:
    site = Platform(cycle, Settings(cycle, secret_key="k" * 40))
    first, second = site.client(), site.client(worker=True)
    for number in (1, 2):
        code, _out, err = pmm(capsys, "release", "create", "--cycle", "2024", "--as", "sec")
        assert code == 0, err
        # both workers read (and keep) the new release
        assert _release_shown(first) == _release_shown(second) == number
    code, _out, err = pmm(capsys, "release", "withdraw", "--cycle", "2024", "2", "--reason",
                          "a wrong value", "--as", "sec")
    assert code == 0, err
    assert _release_shown(first) == _release_shown(second) == 1
    code, _out, err = pmm(capsys, "release", "withdraw", "--cycle", "2024", "1", "--reason",
                          "also wrong", "--as", "sec")
    assert code == 0, err
    assert _release_shown(first) is None and _release_shown(second) is None


@pytest.mark.parametrize("worker", [False, True])
def test_throttled_sign_in_is_said_next_to_the_form(platform: Platform, worker: bool) -> None:
    failing = platform.client()
    from pmm.web import auth

    for _ in range(auth.MAX_FAILURES_USER):
        login(failing, "viewer-bel", "wrong-password")
    answer = login(platform.client(worker=worker), "viewer-bel")
    assert answer.status_code == 429 and answer.headers["retry-after"] == "900"
    text = answer.text
    assert 'id="login-error"' in text and "Too many failed sign-ins" in text
    assert '<form method="post" action="/login">' in text and 'value="viewer-bel"' in text
