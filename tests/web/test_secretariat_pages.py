"""The Secretariat's pages: cycles (create, open, close), participation, framework differences."""

from __future__ import annotations

import html
import re

from tests.web.conftest import YEAR, page_csrf


def test_create_open_and_close_a_cycle(platform) -> None:
    client = platform.client("sec")
    token = page_csrf(client, "/secretariat")
    bad = client.post("/secretariat/cycles", data={
        "csrf_token": token, "year": "2030", "framework": "wco-pmm-v1",
        "opens_on": "2030-03-01", "closes_on": "2030-02-01"})
    assert bad.status_code == 422
    assert "closing date 2030-02-01 is before the opening date 2030-03-01" in bad.text
    made = client.post("/secretariat/cycles", data={
        "csrf_token": token, "year": "2030", "framework": "wco-pmm-v1",
        "opens_on": "2031-01-15", "closes_on": "2031-06-30"})
    assert made.status_code == 200 and "Cycle 2030 was created (planned)." in made.text
    version = re.search(r'action="/secretariat/cycles/2030/state">\s*<input type="hidden" '
                        r'name="csrf_token" value="[^"]+"><input type="hidden" name="version" '
                        r'value="(\d+)"', made.text).group(1)
    opened = client.post("/secretariat/cycles/2030/state", data={
        "csrf_token": token, "state": "open", "version": version})
    assert "Cycle 2030 is now open." in opened.text
    stale = client.post("/secretariat/cycles/2030/state", data={
        "csrf_token": token, "state": "closed", "version": version})
    assert stale.status_code == 409
    assert platform.client("ncp-alb").post("/secretariat/cycles", data={
        "csrf_token": token}).status_code == 403


def test_cycle_participation_and_framework_diff(platform) -> None:
    client = platform.client("sec")
    page = client.get(f"/secretariat/cycles/{YEAR}").text
    assert "Europe" in page and "ALB" in page and "review requested" in page
    diff = client.get("/secretariat/frameworks", params={"old": "wco-pmm-v1",
                                                         "new": f"cycle:{YEAR}"})
    assert diff.status_code == 200 and "No difference." in diff.text
    missing = client.get("/secretariat/frameworks", params={"old": "v0", "new": "v1"})
    assert missing.status_code == 404
    assert "no framework version 'v0'" in html.unescape(missing.text)
