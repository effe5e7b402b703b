"""An NCP's pages: data entry per outcome, conflicts, Excel round trip, evidence, workflow."""

from __future__ import annotations

import html
import io
import re

from openpyxl import load_workbook

from tests.web.conftest import YEAR, page_csrf

BEL = f"/cycles/{YEAR}/members/BEL"
FIELD = f"v:declarations:{YEAR}:"


def form_of(html: str) -> dict[str, str]:
    """The fields of the entry form as a browser would send them unchanged."""
    fields = dict(re.findall(r'<input type="(?:hidden|text)"[^>]*?name="([^"]+)" value="([^"]*)"',
                             html))
    fields.update(re.findall(r'<input type="text" inputmode="decimal" id="[^"]+" name="([^"]+)" '
                             r'value="([^"]*)"', html))
    for name, body in re.findall(r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', html,
                                 re.S):
        chosen = re.search(r'<option value="([^"]+)" selected', body)
        if chosen:
            fields[name] = chosen.group(1)
    return fields


def test_entry_invalid_then_out_of_bounds_then_valid(platform) -> None:
    client = platform.client("ncp-bel")
    page = client.get(BEL + "/outcomes/TF.1")
    assert page.status_code == 200
    assert 'name="version" value="0"' in page.text  # not started yet
    form = form_of(page.text)
    form[FIELD] = "twelve"
    bad = client.post(BEL + "/outcomes/TF.1", data=form)
    assert bad.status_code == 422
    assert "'twelve' is not a whole number" in html.unescape(bad.text)
    assert 'aria-invalid="true"' in bad.text and 'value="twelve"' in bad.text
    form[FIELD] = "-5"
    bounds = client.post(BEL + "/outcomes/TF.1", data=form)
    assert bounds.status_code == 422
    # the service's message sits next to the field it is about
    error = re.search(r'<span class="field-error" id="(f\d+)-err"[^>]*>([^<]+)<', bounds.text)
    assert error and "-5" in error.group(2)
    assert f'id="{error.group(1)}" name="{FIELD}"' in bounds.text
    form[FIELD] = "1200"
    good = client.post(BEL + "/outcomes/TF.1", data=form, follow_redirects=False)
    assert good.status_code == 303
    after = client.get(good.headers["location"])
    assert "1 change(s) saved." in after.text
    assert f'name="{FIELD}" value="1200"' in after.text
    assert 'name="version" value="1"' not in after.text  # started, then saved


def test_stale_form_is_refused_and_shows_what_changed(platform) -> None:
    mine, theirs = platform.client("ncp-bel"), platform.client("ncp-bel")
    first = form_of(mine.get(BEL + "/outcomes/TF.1").text)
    first[FIELD] = "100"
    assert mine.post(BEL + "/outcomes/TF.1", data=first).status_code == 200
    stale = form_of(mine.get(BEL + "/outcomes/TF.1").text)
    other = form_of(theirs.get(BEL + "/outcomes/TF.1").text)
    other[FIELD] = "150"
    assert theirs.post(BEL + "/outcomes/TF.1", data=other).status_code == 200
    stale[f"v:declarations:{YEAR}:flow=IM"] = "40"
    refused = mine.post(BEL + "/outcomes/TF.1", data=stale)
    assert refused.status_code == 409
    table = refused.text.split('id="changed"')[1].split("</table>")[0]
    assert "declarations" in table and "100" in table and "150" in table
    assert 'value="40"' in refused.text  # the user's entry is kept
    again = mine.post(BEL + "/outcomes/TF.1", data=form_of(refused.text))
    assert again.status_code == 200 and "1 change(s) saved." in again.text


def test_not_applicable_needs_a_reason_to_submit_and_disclosure_is_kept(platform) -> None:
    client = platform.client("ncp-bel")
    form = form_of(client.get(BEL + "/outcomes/TF.1").text)
    form["status:TF.1.2"] = "not_applicable"
    form["note:TF.1.2"] = "No electronic payment system"
    form["disclosure:TF.1.1"] = "restricted"
    saved = client.post(BEL + "/outcomes/TF.1", data=form)
    assert saved.status_code == 200
    again = form_of(saved.text)
    assert again["status:TF.1.2"] == "not_applicable"
    assert again["disclosure:TF.1.1"] == "restricted"
    home = client.get(BEL)
    assert "What is left before submitting" in home.text
    assert "TF.1" in home.text


def test_template_download_and_upload_round_trip(platform) -> None:
    client = platform.client("ncp-bel")
    download = client.get(BEL + "/template.xlsx")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    book = load_workbook(io.BytesIO(download.content))
    assert book.sheetnames
    token = page_csrf(client, BEL)
    wrong = client.post(BEL + "/import", data={"csrf_token": token},
                        files={"file": ("notes.txt", b"hello", "text/plain")})
    assert wrong.status_code == 422
    assert "expected an Excel workbook (.xlsx) or a CSV file (.csv)" in wrong.text
    csv = ("kpi,data_item,year,breakdown,value,status,disclosure,note\n"
           f",declarations,{YEAR},,abc,reported,,\n")
    bad = client.post(BEL + "/import", data={"csrf_token": token},
                      files={"file": ("bel.csv", csv.encode(), "text/csv")})
    assert bad.status_code == 422
    assert "Nothing was imported" in bad.text and "bel.csv:2" in bad.text
    csv = ("kpi,data_item,year,breakdown,value,status,disclosure,note\n"
           f",declarations,{YEAR},,5000,reported,,\n")
    good = client.post(BEL + "/import", data={"csrf_token": token},
                       files={"file": ("bel.csv", csv.encode(), "text/csv")})
    assert good.status_code == 200 and "bel.csv: 1 change(s) imported." in good.text
    # the workbook made before that import is now stale: refused, nothing imported
    stale = client.post(BEL + "/import", data={"csrf_token": page_csrf(client, BEL)},
                        files={"file": ("pmm.xlsx", download.content, "application/x")})
    assert stale.status_code == 409
    assert "Conflict" in stale.text


def test_evidence_is_served_as_an_attachment_and_active_content_refused(platform) -> None:
    client = platform.client("ncp-bel")
    token = page_csrf(client, BEL)
    refused = client.post(BEL + "/evidence", data={"csrf_token": token, "kpi": "TF.1.1"},
                          files={"file": ("x.html", b"<script>alert(1)</script>", "text/html")})
    assert refused.status_code == 422
    done = client.post(BEL + "/evidence", data={"csrf_token": token, "kpi": "TF.1.1",
                                                "next": "https://evil.example/"},
                       files={"file": ("law.txt", b"Customs law, article 5", "text/plain")},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith(BEL)
    link = re.search(rf'href="({BEL}/evidence/\d+)"', client.get(BEL).text).group(1)
    file = client.get(link)
    assert file.headers["content-disposition"].startswith("attachment;")
    assert file.headers["x-content-type-options"] == "nosniff"
    assert file.content == b"Customs law, article 5"
    assert platform.client("ncp-alb").get(link).status_code == 403
    assert platform.client("sec").get(link).status_code == 200


def test_buttons_come_from_the_policy_and_a_stale_step_is_refused(platform) -> None:
    alb = f"/cycles/{YEAR}/members/ALB"
    ncp = platform.client("ncp-alb").get(alb).text
    assert "Start a peer review" not in ncp and "/review/start" not in ncp
    reviewer = platform.client("reviewer1")
    page = reviewer.get(alb).text
    assert f'action="{alb}/review/start"' in page
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    token = page_csrf(reviewer, alb)
    stale = reviewer.post(alb + "/review/start", data={"csrf_token": token,
                                                       "version": str(int(version) - 1)})
    assert stale.status_code == 409
    started = reviewer.post(alb + "/review/start", data={"csrf_token": token,
                                                         "version": version})
    assert started.status_code == 200 and "The peer review started." in started.text
    assert f'action="{alb}/review/request-changes"' in started.text
    assert platform.client("reviewer2").get(alb).status_code == 403


def test_a_message_about_a_value_of_another_outcome_names_it_plainly(platform) -> None:
    client = platform.client("ncp-bel")
    tf4 = form_of(client.get(BEL + "/outcomes/TF.4").text)
    tf4[f"v:prearrival_lodgements:{YEAR}:"] = "500"
    assert client.post(BEL + "/outcomes/TF.4", data=tf4).status_code == 200
    tf1 = form_of(client.get(BEL + "/outcomes/TF.1").text)
    tf1[FIELD] = "100"  # the whole now below a part entered on another page
    refused = client.post(BEL + "/outcomes/TF.1", data=tf1)
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "prearrival_lodgements" in text and "v:prearrival" not in text


def test_findings_and_replies_are_one_thread_per_kpi(platform) -> None:
    alb = f"/cycles/{YEAR}/members/ALB"
    reviewer = platform.client("reviewer1")
    page = reviewer.get(alb).text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    token = page_csrf(reviewer, alb)
    reviewer.post(alb + "/review/start", data={"csrf_token": token, "version": version})
    found = reviewer.post(alb + "/review/findings", data={
        "csrf_token": token, "kpi": "TF.1.1", "text": "Why is <b>TF.1.1</b> not applicable?"})
    assert found.status_code == 200
    ncp = platform.client("ncp-alb")
    home = ncp.get(alb).text
    assert 'name="kpi" value="TF.1.1"' in home  # a reply form in the KPI's thread
    replied = ncp.post(alb + "/comments", data={"csrf_token": page_csrf(ncp, alb),
                                                "kpi": "TF.1.1", "text": "No such activity."})
    ncp.post(alb + "/comments", data={"csrf_token": page_csrf(ncp, alb), "kpi": "",
                                      "text": "General remark."})
    assert replied.status_code == 200
    text = reviewer.get(alb).text
    sections = re.findall(r'<section class="thread".*?</section>', text, re.S)
    heads = [re.search(r"<h3[^>]*>(.*?)</h3>", s).group(1) for s in sections]
    assert heads[0] == "The submission as a whole" and heads[1].startswith("TF.1.1 — ")
    thread = sections[1]
    assert thread.index("Why is &lt;b&gt;TF.1.1&lt;/b&gt;") < thread.index("No such activity.")
    assert "finding, round 1" in thread and "General remark." in sections[0]
    french = ncp.get(alb, params={"lang": "fr"}).text
    assert "La soumission dans son ensemble" in french and "Répondre" in french
