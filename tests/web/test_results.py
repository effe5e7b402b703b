"""The public results page and downloads of the demo release, and a member's own profile.

Nothing the public gets may hold a value it may not see: every number is compared with the
release's restricted and WCO-level values, as tests/publish does for the command line.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from pmm.publish import sdmx as psdmx
from pmm.web.auth import LANG_COOKIE
from pmm.web.pages_results import DOWNLOADS
from pmm.web.settings import Settings
from tests.publish.test_publish import _leaks, _numbers, db, secrets  # noqa: F401
from tests.web.conftest import Platform


@pytest.fixture(scope="module")
def site(db: str) -> Platform:  # noqa: F811
    return Platform(db, Settings(db, secret_key="s" * 40))


def _rounded_leaks(numbers: np.ndarray, secrets: dict, digits: int = 2) -> set[float]:  # noqa: F811
    """Page numbers (rounded to `digits`) equal to a rounded secret and to no rounded allowed
    value."""
    secret = {round(float(v), digits) for v in secrets["secret"]}
    allowed = {round(float(v), digits) for v in secrets["allowed"]}
    return {round(float(v), digits) for v in numbers} & (secret - allowed)


def test_results_page_shows_the_public_statistics_and_no_hidden_value(
        site: Platform, secrets: dict) -> None:  # noqa: F811
    client = site.client()
    index = client.get("/results")
    assert index.status_code == 200 and 'href="/results/2024"' in index.text
    assert 'href="/results"' in client.get("/").text  # linked from the public home
    assert 'href="/results"' in client.get("/framework").text
    for by in ("region", "income", "global"):
        page = client.get(f"/results/2024?by={by}")
        assert page.status_code == 200, page.text[:500]
        cells = re.findall(r"<t[dh][^>]*>([^<]*)</t[dh]>", page.text)
        numbers = _numbers(" ".join(cells))
        assert len(numbers) > 50
        assert not _rounded_leaks(numbers, secrets), (by, sorted(_rounded_leaks(numbers,
                                                                                 secrets))[:5])
    assert "secondary suppression" in page.text or "withheld" in page.text
    assert "ES.1.1" in page.text
    french = site.client()
    french.cookies.set(LANG_COOKIE, "fr")
    text = french.get("/results/2024").text
    assert "Résultats du cycle 2024" in text and "Médiane" in text and "Groupe de revenu" in text
    bad = client.get("/results/2024?by=planet")
    assert bad.status_code == 404 and "planet" in bad.text
    assert client.get("/results/2031").status_code == 404


def test_public_downloads_are_attachments_and_hold_no_hidden_value(
        site: Platform, secrets: dict, tmp_path: Path) -> None:  # noqa: F811
    client = site.client()
    for name in DOWNLOADS:
        answer = client.get(f"/results/2024/download/{name}")
        assert answer.status_code == 200, answer.text[:300]
        disposition = answer.headers["content-disposition"]
        assert disposition.startswith("attachment; filename=\"pmm-2024-r1")
        path = tmp_path / re.search(r'filename="([^"]+)"', disposition).group(1)
        path.write_bytes(answer.content)
        if name == "xlsx":
            wb = load_workbook(io.BytesIO(answer.content))
            cells = [c for ws in wb for row in ws.iter_rows(values_only=True) for c in row]
            numbers = np.array([float(c) for c in cells if isinstance(c, (int, float))])
        elif name.startswith("sdmx"):
            assert path.name.endswith("-public.csv" if name == "sdmx-csv" else "-public.xml")
            frame = psdmx.read(path).data[0].data
            numbers = pd.to_numeric(frame["OBS_VALUE"], errors="coerce").to_numpy(float)
        else:
            frame = pd.read_csv(path)
            numbers = frame.select_dtypes("number").to_numpy(float).ravel()
        numbers = numbers[np.isfinite(numbers)]
        assert len(numbers) > 100
        assert not len(_leaks(numbers, secrets)), (name, _leaks(numbers, secrets)[:5])
    assert client.get("/results/2024/download/secrets.zip").status_code == 404


def test_an_ncp_downloads_its_own_profile_and_no_other(
        site: Platform, secrets: dict) -> None:  # noqa: F811
    member = sorted(set(secrets["shown"]["member"]))[0]
    other = sorted(set(secrets["shown"]["member"]) - {member})[0]
    own = site.client(f"ncp-{member.lower()}")
    page = own.get("/results/2024")
    assert f'/results/2024/members/{member}/profile.pdf' in page.text
    answer = own.get(f"/results/2024/members/{member}/profile.pdf")
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="pmm-2024-{member}-profile.pdf"')
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(answer.content)).pages)
    assert member in text or "2024" in text
    assert own.get(f"/results/2024/members/{other}/profile.pdf").status_code == 403
    public = site.client().get(f"/results/2024/members/{member}/profile.pdf",
                               follow_redirects=False)
    assert public.status_code == 303 and "/login" in public.headers["location"]


def test_an_ncp_reads_its_results_page_on_the_demo(site: Platform) -> None:
    """The WCO framework's member page: scores, peers, trends since 2022, the plan with the
    support catalogue, charts; the public page links no member page for the public."""
    from pmm.analysis import release as rel_mod
    from pmm.store.engine import transaction

    with transaction(site.url) as session:
        now, _g = rel_mod.snapshot(rel_mod.latest(session, 2024))
        before, _g = rel_mod.snapshot(rel_mod.latest(session, 2022))
    member = sorted(set(now["member"]) & set(before["member"]))[0]
    client = site.client(f"ncp-{member.lower()}")
    page = client.get(f"/results/2024/members/{member}")
    assert page.status_code == 200, page.text[-800:]
    text = page.text
    for part in ("Trade Facilitation and Economic Competitiveness",
                 "from cycle 2022 to cycle 2024", "The support named in the plan",
                 '<tbody id="kpi-TF.1.1">'):
        assert part in text, part
    assert len(re.findall(r'<figure class="chart">', text)) == 3
    assert re.search(r'<dt id="support-[\w-]+">', text)  # the catalogue's entries, described
    assert f'href="/results/2024/members/{member}"' in client.get("/results/2024").text
    assert "/results/2024/members/" not in site.client().get("/results/2024").text
