"""The JSON API: tokens, the same policy and services as the pages, paging, and a property test
of the whole OpenAPI document with Schemathesis (no server error, no undocumented status)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from pmm.store.engine import transaction
from pmm.store.users import principal_for
from pmm.web import auth
from tests.web.conftest import YEAR

API = f"/api/v1/cycles/{YEAR}/members"


def bearer(platform, username: str) -> dict[str, str]:
    with transaction(platform.url) as session:
        principal_for(session, username)
        _token, clear = auth.create_token(session, username, "tests")
    return {"Authorization": f"Bearer {clear}"}


def test_save_values_then_stale_write_is_a_conflict(platform) -> None:
    client = platform.client()
    headers = bearer(platform, "ncp-bel")
    body = {"values": [{"data_item": "declarations", "year": YEAR, "value": 900.0}],
            "kpis": [{"kpi": "TF.1.1", "disclosure": "restricted"}]}
    saved = client.post(f"{API}/BEL/values", json=body, headers=headers)
    assert saved.status_code == 200, saved.text
    version = saved.json()["version"]
    again = client.post(f"{API}/BEL/values", headers=headers, json={
        "expected_version": version - 1,
        "values": [{"data_item": "declarations", "year": YEAR, "value": 901.0}]})
    assert again.status_code == 409 and again.json()["error"]["kind"] == "conflict"
    values = client.get(f"{API}/BEL/values", headers=headers, params={"limit": 1}).json()
    assert values["page"] == {"offset": 0, "limit": 1, "total": 1}
    assert values["items"][0]["value"] == 900.0
    state = client.get(f"{API}/BEL", headers=headers).json()
    assert state["state"] == "draft" and "submit" in state["actions"]
    assert {"kpi": "TF.1.1", "status": "reported", "disclosure": "restricted",
            "note": ""} in state["kpis"]


def test_invalid_values_are_422_with_the_services_messages(platform) -> None:
    client = platform.client()
    headers = bearer(platform, "ncp-bel")
    bad = client.post(f"{API}/BEL/values", headers=headers, json={
        "values": [{"data_item": "declarations", "year": YEAR, "value": -3.0}]})
    assert bad.status_code == 422
    assert any("declarations" in line for line in bad.json()["error"]["messages"])
    lax = client.post(f"{API}/BEL/values", headers=headers, json={
        "values": [{"data_item": "declarations", "year": YEAR, "value": "12"}]})
    assert lax.status_code == 422  # strict models: a string is not a number


def test_policy_applies_to_tokens_too(platform) -> None:
    client = platform.client()
    other = bearer(platform, "ncp-alb")
    assert client.post(f"{API}/BEL/values", headers=other, json={}).status_code == 403
    assert client.get(f"{API}/BEL", headers=bearer(platform, "wb")).status_code == 403
    listed = client.get(f"/api/v1/cycles/{YEAR}/submissions",
                        headers=bearer(platform, "reviewer1")).json()
    assert [row["member"] for row in listed["items"]] == ["ALB"]
    everyone = client.get(f"/api/v1/cycles/{YEAR}/submissions",
                          headers=bearer(platform, "sec")).json()
    assert everyone["page"]["total"] == 1
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic x"}).status_code == 401


def test_import_a_file_with_a_token_and_submit(platform, tmp_path) -> None:
    client = platform.client()
    headers = bearer(platform, "ncp-bel")
    from pmm.framework.loader import load

    rows = ["kpi,data_item,year,breakdown,value,status,disclosure,note"]
    rows += [f"{k.code},,,,,not_applicable,public,Not applicable here"
             for k in load("wco-pmm-v1").kpis]
    sent = client.post(f"{API}/BEL/import", headers=headers,
                       files={"file": ("bel.csv", "\n".join(rows).encode(), "text/csv")})
    assert sent.status_code == 200, sent.text
    bad = client.post(f"{API}/BEL/import", headers=headers,
                      files={"file": ("bel.csv", b"kpi,data_item\nTF.1.1,x\n", "text/csv")})
    assert bad.status_code == 422
    assert all(line.startswith("bel.csv") for line in bad.json()["error"]["messages"])
    version = sent.json()["version"]
    done = client.post(f"{API}/BEL/submit", headers=headers,
                       json={"expected_version": version})
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "submitted"


def test_openapi_documents_the_error_statuses(platform) -> None:
    doc = platform.client().get("/api/v1/openapi.json").json()
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            for status in ("401", "403", "404", "409", "422", "429"):
                assert status in op["responses"], f"{method} {path} lacks {status}"


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_undocumented_status(platform) -> None:
    """Every operation, with generated inputs, as an NCP (so reads and writes are reached)."""
    token = bearer(platform, "ncp-bel")
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", platform.app())
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=token)

        try:
            check()
        except Exception as exc:  # report every operation's failure at once
            failures.append(f"{operation.method.upper()} {operation.path}:\n{exc}")
    assert not failures, "\n\n".join(failures)
