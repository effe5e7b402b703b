"""The results in the JSON API: releases, statistics by peer group and a member's scores, each
as the caller may see them (the demo's releases; no hidden value reaches the public)."""

from __future__ import annotations

import numpy as np
import pytest

from pmm.access import ANONYMOUS
from pmm.analysis import api as analysis
from pmm.store.engine import reading
from pmm.store.users import principal_for
from pmm.web.settings import Settings
from tests.publish.test_publish import _leaks, db, secrets  # noqa: F401
from tests.web.conftest import Platform

API = "/api/v1/cycles/2024"


@pytest.fixture(scope="module")
def site(db: str) -> Platform:  # noqa: F811
    return Platform(db, Settings(db, secret_key="s" * 40))


def test_the_public_reads_releases_and_statistics_without_a_hidden_value(
        site: Platform, db: str, secrets: dict) -> None:  # noqa: F811
    client = site.client()
    releases = client.get(API + "/releases")
    assert releases.status_code == 200
    assert [r["number"] for r in releases.json()] == [1]
    assert releases.json()[0]["withdrawn_at"] is None
    first = client.get(API + "/statistics", params={"by": "income", "limit": 50})
    assert first.status_code == 200, first.text[:300]
    body = first.json()
    with reading(db) as session:
        expected = analysis.benchmarks(session, ANONYMOUS, 2024, by="income")
    assert body["page"]["total"] == len(expected) and len(body["items"]) == 50
    assert {i["grouping"] for i in body["items"]} <= {"income", "global"}
    everything = client.get(API + "/statistics", params={"by": "income", "limit": 1000}).json()
    numbers = np.array([i[k] for i in everything["items"] for k in ("mean", "median", "q1", "q3")
                        if i[k] is not None], float)
    assert len(numbers) > 100 and not len(_leaks(numbers, secrets))
    assert any(i["suppressed"] and i["reason"] for i in everything["items"])
    one = client.get(API + "/statistics", params={"kpi": "TF.1.1", "by": "global"}).json()
    assert {i["kpi"] for i in one["items"]} == {"TF.1.1"}
    assert client.get(API + "/statistics", params={"by": "planet"}).status_code == 422
    unknown = client.get(API + "/statistics", params={"kpi": "XX.9"})
    assert unknown.status_code == 422 and "XX.9" in unknown.json()["error"]["messages"][0]
    assert client.get(API + "/statistics", params={"kpi": "<b>"}).status_code == 422
    assert client.get("/api/v1/cycles/2031/statistics").status_code == 404


def test_a_member_reads_its_own_scores_and_no_other(
        site: Platform, db: str, secrets: dict) -> None:  # noqa: F811
    member = sorted(set(secrets["shown"]["member"]))[0]
    other = sorted(set(secrets["hidden"]["member"]) - {member})[0]
    ncp = site.client(f"ncp-{member.lower()}")
    answer = ncp.get(f"{API}/members/{member}/scores")
    assert answer.status_code == 200, answer.text[:300]
    with reading(db) as session:
        expected = analysis.scores(session, principal_for(session, f"ncp-{member.lower()}"),
                                   2024, member=member)
    got = answer.json()["items"]
    assert len(got) == len(expected) and {r["level"] for r in got} >= {"kpi", "dimension"}
    assert [(r["level"], r["code"]) for r in got] == list(zip(expected["level"],
                                                              expected["code"], strict=True))
    refused = ncp.get(f"{API}/members/{other}/scores")
    assert refused.status_code == 403 and refused.json()["error"]["kind"] == "forbidden"
    assert site.client().get(f"{API}/members/{member}/scores").status_code == 401
