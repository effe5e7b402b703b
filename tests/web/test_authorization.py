"""Every route × every role × own/other member, generated from the one permission table.

The expected answer comes from the policy (`pmm.web.permissions.check`, i.e. `pmm.access`):
refused → 401 (or a redirect to sign-in for a page) for the public, 403 for a signed-in user;
allowed → anything but 401/403 (the route then runs and may say 404/409/422 about the input).
"""

from __future__ import annotations

import pytest

from pmm.access import ANONYMOUS
from pmm.store.engine import transaction
from pmm.store.users import principal_for
from pmm.web.app import create_app, served
from pmm.web.permissions import ROUTES, check, permission
from pmm.web.settings import Settings
from tests.web.conftest import YEAR, page_csrf

# (label, user, member in the path): the member's own users, another member's, and the rest
WHO = [("public", None, "ALB"), ("ncp own", "ncp-alb", "ALB"), ("ncp other", "ncp-bel", "ALB"),
       ("viewer own", "viewer-alb", "ALB"), ("viewer other", "viewer-bel", "ALB"),
       ("reviewer assigned", "reviewer1", "ALB"), ("reviewer other", "reviewer2", "ALB"),
       ("secretariat", "sec", "ALB"), ("working body", "wb", "ALB")]
PARAMS = {"year": str(YEAR), "outcome": "TF.1", "evidence_id": "999999",
          "token_id": "999999", "fw": "wco-pmm-v1", "code": "TF.1", "lang": "fr",
          "name": "xlsx", "proposal_id": "999999", "draft_id": "wco-pmm-v1",
          "number": "1"}


def test_the_table_and_the_application_have_the_same_routes(sqlite_template) -> None:
    app = create_app(Settings(f"sqlite:///{sqlite_template}", secret_key="x" * 40))
    assert served(app) == set(ROUTES)
    assert permission("HEAD", "/") == "public"
    assert permission("GET", "/not/declared") is None


def _path(template: str, member: str) -> str:
    path = template
    for key, value in {**PARAMS, "member": member}.items():
        path = path.replace("{" + key + "}", value)
    assert "{" not in path, path
    return path


@pytest.mark.parametrize("who", WHO, ids=[w[0] for w in WHO])
def test_every_route_answers_as_the_policy_says(platform, who) -> None:
    label, username, member = who
    with transaction(platform.url) as session:
        principal = principal_for(session, username) if username else ANONYMOUS
    problems = []
    for (method, template), needed in sorted(ROUTES.items()):
        client = platform.client(username)  # a fresh session: /logout must not end the next
        token = page_csrf(client, "/")
        path = _path(template, member)
        params = {"member": member, "year": str(YEAR)}
        allowed = bool(check(principal, needed, params))
        if method == "GET":
            answer = client.get(path, follow_redirects=False)
        else:
            answer = client.request(method, path, data={"csrf_token": token},
                                    headers={"X-CSRF-Token": token}, follow_redirects=False)
        status = answer.status_code
        if allowed:
            ok = status not in (401, 403) and not (
                status == 303 and answer.headers.get("location", "").startswith("/login"))
        elif principal.role == "public":
            ok = status == 401 or (status == 303 and answer.headers["location"].startswith(
                "/login"))
        else:
            ok = status == 403
        if not ok:
            problems.append(f"{method} {path} ({needed}) as {label}: {status}, expected "
                            f"{'allowed' if allowed else 'refused'}")
        assert status != 500, f"{method} {path} as {label}: server error\n{answer.text[-800:]}"
    assert not problems, "\n".join(problems)
