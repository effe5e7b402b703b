"""What reading costs the database: an API read writes nothing but a token's last use, at most
once a minute; the owner's account page shows that use; and the per-process caches of the
submission pages follow a save made through another worker at once."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event, select

from pmm.assessment import workflow
from pmm.assessment.submissions import get_submission
from pmm.store.engine import get_engine, reading, transaction
from pmm.store.models import ApiToken
from pmm.store.users import principal_for
from pmm.web import auth
from tests.web.conftest import YEAR, Platform
from tests.web.test_api import bearer

SUB = f"/api/v1/cycles/{YEAR}/members/ALB"


class Writes:
    """The statements that write, or take SQLite's write lock, on the URL's engines."""

    def __init__(self, url: str) -> None:
        self.seen: list[str] = []
        self.engines = {id(e): e for e in (get_engine(url), get_engine(url, reads_only=True))}
        for engine in self.engines.values():
            event.listen(engine, "before_cursor_execute", self._note)

    def _note(self, _conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        head = statement.lstrip().upper()
        if head.startswith(("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE")):
            self.seen.append(head.split("\n")[0][:60])

    def close(self) -> None:
        for engine in self.engines.values():
            event.remove(engine, "before_cursor_execute", self._note)


def last_used(url: str) -> dt.datetime | None:
    with reading(url) as session:
        return session.scalar(select(ApiToken.last_used_at).where(
            ApiToken.username == "ncp-alb"))


def test_a_burst_of_api_reads_records_the_token_use_once(platform: Platform,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    headers = bearer(platform, "ncp-alb")
    clients = [platform.client(), platform.client(worker=True)]  # two workers
    assert clients[0].get("/api/v1/me", headers=headers).status_code == 200  # recorded...
    first = last_used(platform.url)
    assert first is not None
    writes = Writes(platform.url)
    try:
        for n in range(20):  # ...and the next ones within a minute write nothing
            client = clients[n % 2]
            for path in (SUB, SUB + "/values", "/api/v1/me"):
                assert client.get(path, headers=headers).status_code == 200
        assert writes.seen == []
        assert last_used(platform.url) == first
        # a minute later, a burst of reads records the use once (the later ones see it fresh)
        later = dt.datetime.now(dt.UTC) + auth.LAST_USE_INTERVAL + dt.timedelta(seconds=1)
        monkeypatch.setattr(auth, "utcnow", lambda: later)
        for n in range(10):
            assert clients[n % 2].get(SUB, headers=headers).status_code == 200
        updates = [w for w in writes.seen if not w.startswith("BEGIN")]
        assert len(updates) == 1 and "API_TOKENS" in updates[0], writes.seen
        assert len(writes.seen) <= 2  # and on SQLite the one write transaction it needs
    finally:
        writes.close()
    assert last_used(platform.url) == later
    page = platform.client("ncp-alb").get("/account")
    assert page.status_code == 200
    assert later.strftime("%Y-%m-%d %H:%M") in page.text


def test_the_token_use_is_recorded_once_when_workers_race(platform: Platform) -> None:
    """Two workers that both read a stale last use write it once: the condition is in the
    UPDATE, so the second finds the row already fresh."""
    bearer(platform, "ncp-alb")
    with transaction(platform.url) as session:
        token = session.scalar(select(ApiToken).where(ApiToken.username == "ncp-alb"))
        assert auth.token_use_due(token)
        now = auth.utcnow()
        assert auth.note_token_use(session, token.id, now) is True
    with transaction(platform.url) as session:
        assert auth.note_token_use(session, token.id, now + dt.timedelta(seconds=30)) is False
    assert last_used(platform.url) == now


def report_now(url: str, member: str, username: str) -> dict[str, list[str]]:
    """The report as the services compute it now (no cache)."""
    with transaction(url) as session:
        sub = get_submission(session, YEAR, member)
        found = workflow.report(session, sub, principal_for(session, username))
        return {"errors": [str(i) for i in found.errors],
                "warnings": [str(i) for i in found.warnings]}


def test_a_save_through_one_worker_is_seen_by_another_at_once(platform: Platform) -> None:
    """The submission pages keep their validation report per process under the cycle's data
    digest: another worker, warm from earlier reads, shows the new draft at once."""
    headers = bearer(platform, "ncp-bel")
    one, two = platform.client("ncp-bel"), platform.client(worker=True)
    two.cookies = one.cookies
    api = f"/api/v1/cycles/{YEAR}/members/BEL"
    pages = [f"/cycles/{YEAR}/members/BEL", f"/cycles/{YEAR}/members/BEL/outcomes/TF.1"]
    assert one.post(api + "/values", headers=headers, json={"values": [
        {"data_item": "declarations", "year": YEAR, "value": 1000.0}]}).status_code == 200
    for _round in range(3):
        assert two.get(pages[1]).status_code == 200  # warm: the other worker reads first
        before = two.get(api, headers=headers).json()
        # report the value that the first error says is missing
        missing = before["errors"][0]
        assert missing in two.get(pages[0]).text.replace("&#39;", "'")  # what is left to do
        item, year = re.match(r"(\w+)\[(\d+)\]", missing).groups()  # type: ignore[union-attr]
        saved = one.post(api + "/values", headers=headers, json={
            "values": [{"data_item": item, "year": int(year), "value": 100.0}]})
        assert saved.status_code == 200, saved.text
        after = two.get(api, headers=headers).json()
        assert after["version"] == saved.json()["version"] != before["version"]
        assert missing not in after["errors"]
        shown = {"errors": after["errors"], "warnings": after["warnings"]}
        assert shown == report_now(platform.url, "BEL", "ncp-bel")
        assert missing not in two.get(pages[0]).text.replace("&#39;", "'")
