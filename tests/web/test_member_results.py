"""A member's results page and the public results page over HTTP, on SQLite and PostgreSQL.

The platform (tests/web/results_fixture.py) has seven validated members in two released cycles;
Italy keeps one KPI value restricted (`SECRET`) and one at WCO level (`WCO_ONLY`).
"""

from __future__ import annotations

import csv
import html
import io
import math
import re

import numpy as np
import pytest
from pypdf import PdfReader
from sqlalchemy import delete

from pmm.access import ANONYMOUS
from pmm.analysis import api
from pmm.analysis import release as rel_mod
from pmm.analysis.support import load_support
from pmm.publish.source import member_name
from pmm.store.engine import transaction
from pmm.store.models import Fragment
from pmm.store.users import principal_for
from pmm.web import charts, results_view
from pmm.web.auth import LANG_COOKIE
from pmm.web.pages_results import DOWNLOADS
from pmm.web.results_view import number
from tests.web import results_fixture
from tests.web.conftest import Platform
from tests.web.results_fixture import SECRET, WCO_ONLY

small = results_fixture.small  # the fixture: seven members, two released cycles

PAGE = "/results/2024/members/{member}"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def _numbers(text: str) -> np.ndarray:
    """Every number in a text (thousands separators and French decimal commas read too)."""
    text = re.sub(r"(?<=\d)[\u202f\u00a0,](?=\d{3}\b)", "", text)
    text = re.sub(r"(?<=\d),(?=\d)", ".", text)
    return np.array([float(x) for x in NUMBER.findall(text)], dtype=float)


def _holds(text: str, secret: float) -> bool:
    """Whether a text shows `secret` (to the 0.01 of a page, the 0.1 of a report)."""
    found = _numbers(text)
    return bool(len(found)) and bool(np.any(np.abs(found - secret) < 0.01))


def _cell(page: str, kpi: str) -> list[str]:
    """The cells of a KPI's rows in the member page's KPI table (text, in order)."""
    body = re.search(rf'<tbody id="kpi-{re.escape(kpi)}">(.*?)</tbody>', page, re.S)
    assert body, f"no rows for {kpi}"
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", body.group(1), re.S)]


def test_an_ncp_reads_its_results_as_the_analysis_api_computes_them(small: Platform) -> None:
    ncp = small.client("ncp-fra")
    answer = ncp.get(PAGE.format(member="FRA"))
    assert answer.status_code == 200, answer.text[-800:]
    page = answer.text
    assert "Results of France, cycle 2024" in page and "Europe" in page
    assert "High income" in page and "Release 1 of" in page
    with transaction(small.url) as session:
        who = principal_for(session, "ncp-fra")
        scores = api.scores(session, who, 2024, member="FRA")
        bench = api.benchmarks(session, who, 2024, by="region", levels=("kpi",))
        trends = api.trends(session, who, 2024, member="FRA")
        # the shipped catalogue names the WCO framework's tools: unchecked here, as on the page
        gaps = api.member_gaps(session, who, 2024, "FRA", catalogue=load_support())
    kpis = scores[scores["level"] == "kpi"]
    assert len(kpis) == 7
    for r in kpis.itertuples():
        cells = _cell(page, r.code)
        assert cells[1] == number(r.value) and cells[2] == number(r.score), (r.code, cells)
        region = bench[(bench["kpi"] == r.code) & (bench["grouping"] == "region")
                       & (bench["group"] == "EUR")].iloc[0]
        # KPI, value, score, then the region's row: name, n, q1, median, q3, mean, position
        assert cells[3:10] == ["Europe", str(int(region.n)), number(region.q1),
                               number(region["median"]), number(region.q3),
                               number(region["mean"]), number(region.position)], (r.code, cells)
        assert cells[10] == region.reason
    assert "All members" in _cell(page, "e_decl")
    for r in scores[scores["level"] == "dimension"].itertuples():
        assert re.search(rf"<th scope=\"row\">[^<]*</th><td class=\"num\">"
                         rf"{re.escape(number(r.score))}</td>", page), r.code
    # trends against 2022 and the capacity-building plan, as the API has them
    assert "Change of France from cycle 2022 to cycle 2024" in page
    for r in trends[trends["level"] == "kpi"].itertuples():
        assert f"{r.code} — " in page and number(r.change) in page
    section = page[page.index('id="gaps"'):]
    ranked = re.findall(r'<td class="num">(\d+)</td><th scope="row">([\w.]+) — ', section)
    assert [(int(a), b) for a, b in ranked] == list(zip(gaps["rank"], gaps["kpi"],
                                                         strict=True))
    # charts: the reports' specifications as inline SVG, each with its table
    figures = re.findall(r'<figure class="chart">(.*?)</figure>', page, re.S)
    assert len(figures) == 3
    for figure in figures:
        assert "<svg" in figure and 'role="img" aria-label="' in figure
        table = re.search(r'href="#(\w+)"', figure).group(1)
        assert f'<table id="{table}">' in page
    assert "<script" not in page.split("</head>")[1]  # no chart library, no inline script
    # the same figures as CSV
    answer = ncp.get(PAGE.format(member="FRA") + "/values.csv")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == (
        'attachment; filename="pmm-2024-r1-FRA-values.csv"')
    rows = {(r["level"], r["code"]): r for r in csv.DictReader(io.StringIO(answer.text))}
    for r in kpis.itertuples():
        row = rows[("kpi", r.code)]
        got = float(row["value"]) if row["value"] else math.nan
        assert (math.isnan(got) and math.isnan(r.value)) or got == pytest.approx(r.value)
    assert rows[("kpi", "e_decl")]["region_group"] == "Europe"
    assert f'href="{PAGE.format(member="FRA")}/profile.pdf"' in page


def test_results_are_linked_from_home_submission_and_public_page(small: Platform) -> None:
    ncp = small.client("ncp-fra")
    target = f'href="{PAGE.format(member="FRA")}"'
    assert target in ncp.get("/home").text
    assert target in ncp.get("/cycles/2024/members/FRA").text
    assert target in ncp.get("/results/2024").text
    assert target not in small.client("ncp-deu").get("/results/2024").text
    # the Secretariat may read every member's results: each public value links to them
    assert target in small.client("sec").get("/results/2024").text


def test_who_may_read_a_members_results(small: Platform) -> None:
    path = PAGE.format(member="FRA")
    for user in ("ncp-deu", "wb"):
        client = small.client(user)
        for suffix in ("", "/values.csv", "/profile.pdf"):
            assert client.get(path + suffix).status_code == 403, (user, suffix)
    public = small.client().get(path, follow_redirects=False)
    assert public.status_code == 303 and public.headers["location"].startswith("/login")
    assert small.client("viewer-fra").get(path).status_code == 200
    sec = small.client("sec").get(path)
    assert sec.status_code == 200 and "Secretariat&#39;s working figures" in sec.text
    assert small.client("sec").get("/results/2024/members/ZZZ").status_code == 404
    assert small.client("sec").get("/results/2031/members/FRA").status_code == 404


def test_no_restricted_value_of_another_member_reaches_anyone_else(small: Platform) -> None:
    """An attacker's view: Italy's restricted value must be nowhere but in Italy's own pages
    (and the Secretariat's), its WCO-level value nowhere public."""
    with transaction(small.url) as session:
        rel = rel_mod.latest(session, 2024)
        obs, _groups = rel_mod.snapshot(rel)
        shown = {a: rel_mod.statistics(session, rel, a) for a in ("public", "wco")}
    mine = obs[(obs["member"] == "ITA") & (obs["code"] == "e_decl")]
    assert mine["value"].iloc[0] == pytest.approx(SECRET)
    assert mine["disclosure"].iloc[0] == "restricted"
    # the test means something only if no value anyone may see equals the secrets
    others = obs[(obs["member"] != "ITA") & (obs["status"] == "ok")]["value"].astype(float)
    stats = np.concatenate([s[["mean", "median", "q1", "q3"]].to_numpy(float).ravel()
                            for s in shown.values()])
    for secret in (SECRET, WCO_ONLY):
        assert not np.any(np.abs(others.to_numpy() - secret) < 0.01)
        assert not np.any(np.abs(stats[np.isfinite(stats)] - secret) < 0.01)
    # the owner sees it: the search below would find it
    own = small.client("ncp-ita").get(PAGE.format(member="ITA")).text
    assert _holds(own, SECRET) and _holds(own, WCO_ONLY)

    public = small.client()
    texts = {}
    for by in ("region", "income", "global"):
        for query in ("", "&release=1"):
            texts[f"public /results/2024?by={by}{query}"] = public.get(
                f"/results/2024?by={by}{query}").text
    texts["public /results"] = public.get("/results").text
    for name in DOWNLOADS:
        answer = public.get(f"/results/2024/download/{name}")
        assert answer.status_code == 200
        texts[f"public download {name}"] = _file_text(answer.content, name)
    deu = small.client("ncp-deu")
    for path in ("/home", "/results/2024", PAGE.format(member="DEU"),
                 PAGE.format(member="DEU") + "/values.csv", "/cycles/2024/members/DEU",
                 PAGE.format(member="ITA"), PAGE.format(member="ITA") + "/values.csv"):
        texts[f"ncp-deu {path}"] = deu.get(path).text
    pdf = deu.get(PAGE.format(member="DEU") + "/profile.pdf")
    assert pdf.status_code == 200
    texts["ncp-deu profile.pdf"] = "\n".join(
        p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.content)).pages)
    leaks = [where for where, text in texts.items() if _holds(text, SECRET)]
    assert not leaks, f"Italy's restricted value {SECRET} in: {leaks}"
    public_leaks = [where for where, text in texts.items()
                    if where.startswith("public") and _holds(text, WCO_ONLY)]
    assert not public_leaks, f"Italy's WCO-level value {WCO_ONLY} in: {public_leaks}"
    # and the public values shown are exactly the public ones
    page = texts["public /results/2024?by=region"]
    assert "Italy" not in page.split('id="e_decl"')[1].split("<h2")[0]
    assert "France" in page.split('id="e_decl"')[1].split("<h2")[0]


def _file_text(content: bytes, name: str) -> str:
    if name != "xlsx":
        return content.decode("utf-8")
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content))
    return "\n".join(str(c) for ws in book for row in ws.iter_rows(values_only=True)
                     for c in row if c is not None)


def test_public_page_names_groups_and_shows_public_values(small: Platform) -> None:
    client = small.client()
    page = client.get("/results/2024?by=income").text
    assert "High income" in page and ">high<" not in page
    # participation by income group: the reports' chart, inline, and its table
    assert '<table id="participation">' in page and "7 members in all" in page
    assert re.search(r'<figure class="chart">\s*<div role="img" aria-label="Members in this '
                     r'release by income group[^"]*"><svg aria-hidden="true"', page)
    assert re.search(r'<th scope="row">High income</th><td class="num">7</td>', page)
    assert "All members, each region counting once" in page
    with transaction(small.url) as session:
        bench = api.benchmarks(session, ANONYMOUS, 2024, by="income")
        rel = rel_mod.latest(session, 2024)
        obs, _g = rel_mod.snapshot(rel)
    # the statistics are the analysis API's, for the public
    row = bench[(bench["kpi"] == "aeo_variation") & (bench["group"] == "high")].iloc[0]
    section = page.split('id="aeo_variation"')[1].split("<h2")[0]
    assert re.search(rf'<th scope="row">High income</th><td class="num">{int(row.n)}</td>'
                     rf'<td class="num">{re.escape(number(row["mean"]))}</td>', section)
    # every public value of e_decl, with the member's name; nothing else
    public = obs[(obs["code"] == "e_decl") & (obs["disclosure"] == "public")
                 & (obs["level"] == "kpi") & (obs["variant"] == "") & (obs["breakdown"] == "")]
    section = page.split('id="e_decl"')[1].split("<h2")[0]
    listed = re.findall(r'<th scope="row">([^<]+)</th><td class="num">([^<]+)</td>',
                        section.split("<details")[1])
    assert sorted(listed) == sorted((html.escape(member_name(m, "en")), number(v))
                                    for m, v in zip(public["member"], public["value"],
                                                    strict=True))
    assert len(listed) == 6
    french = small.client()
    french.cookies.set(LANG_COOKIE, "fr")
    text = french.get("/results/2024?by=income").text
    assert "Revenu élevé" in text and "Tous les membres" in text and "Allemagne" in text


def test_the_member_page_in_french(small: Platform) -> None:
    client = small.client("ncp-fra")
    client.cookies.set(LANG_COOKIE, "fr")
    page = client.get(PAGE.format(member="FRA")).text
    assert '<html lang="fr">' in page
    for text in ("Résultats de France, cycle 2024", "Revenu élevé", "Scores par dimension",
                 "Plan de renforcement des capacités", "Médiane", "Commerce sans papier"):
        assert text in page, text


def test_charts_are_drawn_once_per_specification(small: Platform) -> None:
    client = small.client("ncp-fra")
    assert client.get(PAGE.format(member="FRA")).status_code == 200
    before = charts.cache_info()
    # the same page again is kept whole: nothing is drawn or even looked up
    assert client.get(PAGE.format(member="FRA")).status_code == 200
    assert charts.cache_info() == before
    # the page made again (as in another process or after its inputs changed back, with no
    # worker's rendered fragment left: pmm.web.fragments): the same drawings come from the
    # chart cache
    results_view._PAGES.clear()
    small.app().state.fragments.clear()
    with transaction(small.url) as session:
        session.execute(delete(Fragment))
    assert client.get(PAGE.format(member="FRA")).status_code == 200
    after = charts.cache_info()
    assert after["misses"] == before["misses"] and after["hits"] == before["hits"] + 3


def test_choosing_a_release_and_a_withdrawn_one(small: Platform) -> None:
    """Runs last in the module: it adds a release and withdraws it (a member's page, kept per
    process under its inputs, follows both at once, in this process and another)."""
    client = small.client()
    member, esp = PAGE.format(member="ESP"), small.client("ncp-esp")
    assert "Release 1 of" in esp.get(member).text
    assert "earlier release" not in client.get("/results/2024").text
    assert client.get("/results/2024?release=9").status_code == 404
    assert client.get("/results/2024?release=0").status_code == 422
    assert client.get("/results/2024?release=x").status_code == 422
    with transaction(small.url) as session:
        rel_mod.create(session, principal_for(session, "sec"), 2024)
    page = client.get("/results/2024").text
    assert "Release 2 of" in page and 'name="release"' in page
    first = client.get("/results/2024?release=1")
    assert first.status_code == 200 and "Release 1 of" in first.text
    assert "the latest release of this cycle is release 2" in first.text
    assert "/results/2024/download/xlsx?release=1" in first.text
    assert "Release 2 of" in esp.get(member).text
    assert "Release 2 of" in small.client("ncp-esp", worker=True).get(member).text
    with transaction(small.url) as session:
        rel_mod.withdraw(session, principal_for(session, "sec"), 2024, 2,
                         "a figure of Spain was wrong")
    gone = client.get("/results/2024?release=2")
    assert gone.status_code == 410
    assert "withdrew release 2 of cycle 2024" in gone.text
    assert "a figure of Spain was wrong" in gone.text and 'href="/results/2024"' in gone.text
    assert client.get("/results/2024/download/values-csv?release=2").status_code == 410
    page = client.get("/results/2024").text
    assert "Release 1 of" in page and "release 2 (withdrawn on" in page
    assert "Release 1 of" in esp.get(member).text
    french = small.client()
    french.cookies.set(LANG_COOKIE, "fr")
    assert "retiré" in french.get("/results/2024?release=2").text
