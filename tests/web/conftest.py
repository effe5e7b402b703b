"""A small platform on SQLite and PostgreSQL: one open cycle, users of every role, two members.

ALB has submitted (every KPI marked not applicable, with a reason) and asked for a peer review;
reviewer1 is assigned to it. BEL has not started. Clients sign in through real sessions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from pmm.assessment import review, workflow
from pmm.assessment.cycles import create_cycle, set_state
from pmm.assessment.submissions import KpiChange, apply_changes, start_submission
from pmm.framework.loader import load
from pmm.store.engine import transaction
from pmm.store.users import add_user, hash_password, principal_for
from pmm.web import auth
from pmm.web.app import create_app
from pmm.web.settings import Settings

# Browser assertions wait up to 20 s (Playwright's default is 5 s): on a loaded two-core machine a
# page that saves and redirects can take longer, and a wait that ends early is a flaky failure.
expect.set_options(timeout=20_000)

PASSWORD = "correct-horse-7"
YEAR = 2025
USERS = {  # username: (role, member)
    "sec": ("secretariat", None), "ncp-alb": ("ncp", "ALB"), "ncp-bel": ("ncp", "BEL"),
    "viewer-alb": ("viewer", "ALB"), "viewer-bel": ("viewer", "BEL"),
    "reviewer1": ("peer_reviewer", None), "reviewer2": ("peer_reviewer", None),
    "wb": ("working_body", None),
}


def seed(url: str) -> None:
    today = dt.date.today()
    pw = hash_password(PASSWORD)
    with transaction(url) as session:
        for name, (role, member) in USERS.items():
            add_user(session, name, role, member=member, password_hash=pw, actor="test")
        sec = principal_for(session, "sec")
        create_cycle(session, sec, YEAR, "wco-pmm-v1", max(today, dt.date(YEAR + 1, 1, 1)),
                     max(today, dt.date(YEAR + 1, 1, 1)) + dt.timedelta(days=365))
        set_state(session, sec, YEAR, "open")
    fw = load("wco-pmm-v1")
    with transaction(url) as session:
        ncp = principal_for(session, "ncp-alb")
        sub = start_submission(session, ncp, YEAR, "ALB")
        apply_changes(session, ncp, sub, [], [
            KpiChange(k.code, "not_applicable", None, "No such activity in this test")
            for k in fw.kpis])
        workflow.submit(session, ncp, sub)
        workflow.request_peer_review(session, ncp, sub)
        review.assign(session, principal_for(session, "sec"), sub, "reviewer1")


@dataclass
class Platform:
    url: str
    settings: Settings
    _app: object = None

    def app(self):  # type: ignore[no-untyped-def]
        """The application (one per test; `new_app` stands for another worker)."""
        if self._app is None:
            self._app = create_app(self.settings)
        return self._app

    def new_app(self):  # type: ignore[no-untyped-def]
        return create_app(self.settings)

    def client(self, username: str | None = None, *, worker: bool = False) -> TestClient:
        """A browser: anonymous, or signed in as `username` with a fresh session."""
        app = self.new_app() if worker else self.app()
        client = TestClient(app, base_url="http://testserver")
        if username:
            with transaction(self.url) as session:
                token = auth.open_session(session, username, 1)
            client.cookies.set(auth.SESSION_COOKIE, app.state.signer.sign(token))
        return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def page_csrf(client: TestClient, path: str = "/") -> str:
    return csrf_of(client.get(path).text)


@pytest.fixture
def platform(database_url: str) -> Iterator[Platform]:
    seed(database_url)
    yield Platform(database_url, Settings(database_url))


@dataclass
class LiveServer:
    url: str
    database_url: str


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(path: Path, seeding) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """`pmm serve` on 127.0.0.1 and a random port, over a SQLite database at `path` that
    `seeding(url)` fills once it is upgraded."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    from pmm.store.engine import dispose
    from pmm.store.migrate import upgrade

    url = f"sqlite:///{path}"
    upgrade(url)
    seeding(url)
    dispose(url)
    port = _free_port()
    log = (path.parent / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "pmm", "serve", "--port", str(port), "--database-url", url],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PMM_LANG": "en"})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError((path.parent / "server.log").read_text()) from None
                time.sleep(0.1)
        else:
            raise RuntimeError("pmm serve did not answer within 30 s")
        yield LiveServer(base, url)
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`pmm serve` over a seeded SQLite database (`seed`)."""
    yield from serve(tmp_path_factory.mktemp("live") / "pmm.db", seed)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`pmm serve` over a small demo (`pmm.assessment.demo`, password `demo.PASSWORD`): cycle
    2022 with ten validated members of every disclosure level and no release yet."""
    from pmm.assessment.demo import seed_demo

    yield from serve(tmp_path_factory.mktemp("demo-live") / "pmm.db", lambda url: seed_demo(
        url, participants_2022=10, participants_2024=12))
