"""Publishing the demo release through the command line: SDMX, Excel, CSV, profiles, reports.

The demo database is built once per test session (`demo_template`) and copied per module. The PDFs
are turned into PNG images under tests/artifacts/publish/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from pmm.access import ANONYMOUS
from pmm.analysis import release as rel_mod
from pmm.cli import run
from pmm.framework.loader import load
from pmm.publish import sdmx as psdmx
from pmm.store.engine import transaction

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "publish"
# report values have decimals (counts and dates do not); KPI codes such as TF.1.1 are not numbers
NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?![\w.])")


def pmm(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def db(demo_db: str) -> str:
    return demo_db


@pytest.fixture(scope="module")
def secrets(db: str) -> dict:
    """The demo release's values that the public may not see, and everything it may."""
    with transaction(db) as session:
        rel = rel_mod.latest(session, 2024)
        obs, _groups = rel_mod.snapshot(rel)
        public_stats = rel_mod.statistics(session, rel, "public")
        before, _g = rel_mod.snapshot(rel_mod.latest(session, 2022))
    ok = obs[(obs["status"] == "ok") & np.isfinite(obs["value"].astype(float))
             & obs["validated"].astype(bool)]
    hidden = ok[ok["disclosure"] != "public"]
    shown = ok[ok["disclosure"] == "public"]
    allowed = np.concatenate([shown["value"].to_numpy(float),
                              public_stats[["mean", "median", "q1", "q3"]].to_numpy(float)
                              .ravel(), public_stats["n"].to_numpy(float)])
    # a profile shows the change since the previous cycle: a difference of two public values
    key = ["member", "level", "code", "variant", "breakdown"]
    prev = before[(before["disclosure"] == "public") & (before["status"] == "ok")]
    change = shown.merge(prev, on=key, suffixes=("", "_before"))
    allowed = np.concatenate([allowed, (change["value"] - change["value_before"]).to_numpy(float)])
    allowed = allowed[np.isfinite(allowed)]
    return {"hidden": hidden, "shown": shown, "allowed": np.unique(allowed),
            "secret": np.unique(hidden["value"].to_numpy(float))}


def _leaks(numbers: np.ndarray, secrets: dict) -> np.ndarray:
    """Numbers equal to a secret value and to no value the public may see."""
    if not len(numbers):
        return numbers
    secret, allowed = secrets["secret"], secrets["allowed"]
    is_secret = np.isclose(numbers[:, None], secret[None, :], rtol=1e-9, atol=1e-9).any(axis=1)
    is_allowed = np.isclose(numbers[:, None], allowed[None, :], rtol=1e-9, atol=1e-9).any(
        axis=1)
    return numbers[is_secret & ~is_allowed]


def _numbers(text: str) -> np.ndarray:
    return np.array([float(x) for x in NUMBER.findall(text)], dtype=float)


def _pdf_text(path: Path) -> str:
    text = "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    return re.sub(r"\b([A-Z]{2}\.)\s+(\d)", r"\1\2", text)  # a KPI code broken over lines


def _to_png(pdf: Path) -> list[Path]:
    import pypdfium2 as pdfium

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    doc = pdfium.PdfDocument(str(pdf))
    out = []
    for i in range(len(doc)):
        png = ARTIFACTS / f"{pdf.stem}-{i + 1}.png"
        doc[i].render(scale=1.3).to_pil().save(png)
        out.append(png)
    doc.close()
    return out


def test_public_open_data_holds_no_hidden_value(db: str, secrets: dict, tmp_path: Path,
                                                capsys) -> None:
    assert len(secrets["secret"]) > 100  # the demo has WCO-level and restricted values
    for who in (["--public"], ["--as", "wb-pmmpt"]):
        out = tmp_path / who[-1].strip("-")
        code, _text, err = pmm(capsys, "export", "sdmx", "--cycle", "2024", "-o", str(out),
                              *who, "--database-url", db)
        assert code == 0, err
        code, _t, err = pmm(capsys, "export", "csv", "--cycle", "2024", "-o", str(out), *who,
                            "--database-url", db)
        assert code == 0, err
        code, _t, err = pmm(capsys, "export", "xlsx", "--cycle", "2024", "-o",
                            str(out / "results.xlsx"), *who, "--database-url", db)
        assert code == 0, err
        files = sorted(out.iterdir())
        assert {p.suffix for p in files} == {".xml", ".csv", ".xlsx"}
        for path in files:
            if path.suffix == ".xlsx":
                wb = load_workbook(path)
                cells = [c for ws in wb for row in ws.iter_rows(values_only=True) for c in row]
                numbers = np.array([float(c) for c in cells if isinstance(c, (int, float))])
            elif path.name == "pmm-structure.xml":
                continue
            elif path.suffix == ".xml" or "STRUCTURE" in path.read_text()[:20]:
                frame = psdmx.read(path).data[0].data
                numbers = pd.to_numeric(frame["OBS_VALUE"], errors="coerce").to_numpy(float)
            else:
                frame = pd.read_csv(path)
                numbers = frame.select_dtypes("number").to_numpy(float).ravel()
            numbers = numbers[np.isfinite(numbers)]
            assert len(numbers)
            assert not len(_leaks(numbers, secrets)), (path.name, _leaks(numbers, secrets)[:5])
    # the public SDMX data: every member observation is public (F) and is the public value
    data = pd.read_csv(tmp_path / "public" / "pmm-2024-r1-public.csv", keep_default_na=False)
    members = data[data["STATISTIC"] == "_Z"]
    assert len(members) and set(members["CONF_STATUS"]) == {"F"}
    shown = secrets["shown"]
    assert set(members["REF_AREA"]) <= set(shown["member"])
    hidden_members = set(secrets["hidden"]["member"]) - set(shown["member"])
    assert not hidden_members & set(data["REF_AREA"])


def test_public_pdfs_hold_no_hidden_value(db: str, secrets: dict, tmp_path: Path,
                                          capsys) -> None:
    hidden, shown = secrets["hidden"], secrets["shown"]
    kpi_shown = shown[(shown["level"] == "kpi") & (shown["variant"] == "")
                      & (shown["breakdown"] == "")]
    # members with both public and hidden headline KPIs
    candidates = [m for m, g in kpi_shown.groupby("member") if len(g) >= 5]
    candidates = [m for m in candidates if len(hidden[(hidden["member"] == m)
                                                     & (hidden["level"] == "kpi")])][:3]
    assert candidates
    pdfs = []
    for member in candidates:
        path = tmp_path / f"profile-public-{member}.pdf"
        code, _o, err = pmm(capsys, "report", "member", member, "--cycle", "2024", "-o",
                            str(path), "--public", "--database-url", db)
        assert code == 0, err
        pdfs.append((member, path))
    path = tmp_path / "global-public.pdf"
    code, _o, err = pmm(capsys, "report", "global", "--cycle", "2024", "-o", str(path),
                        "--public", "--database-url", db)
    assert code == 0, err
    pdfs.append((None, path))
    for member, pdf in pdfs:
        text = _pdf_text(pdf)
        assert "not an official WCO rating" in text
        leaked = _leaks(_numbers(text.replace(",", "")), {
            **secrets, "secret": np.round(secrets["secret"], 1),
            "allowed": np.round(secrets["allowed"], 1)})
        assert not len(leaked), (pdf.name, leaked[:5])
        if member is not None:
            # no KPI whose value the public may not see appears in the member's profile
            own_hidden = hidden[(hidden["member"] == member) & (hidden["level"] == "kpi")]
            codes = set(own_hidden["code"]) - set(kpi_shown.loc[kpi_shown["member"] == member,
                                                                "code"])
            for c in codes:
                assert not re.search(rf"\b{re.escape(c)}\b", text), (member, c)
            assert set(kpi_shown.loc[kpi_shown["member"] == member, "code"]) & set(
                re.findall(r"\b[A-Z]{2}\.\d+\.\d+\b", text))
        assert _to_png(pdf)


def test_sdmx_round_trip_with_validation_and_sdmx1(db: str, tmp_path: Path, capsys,
                                                   monkeypatch) -> None:
    import sdmx as sdmx1
    from pysdmx.io import write_sdmx
    from pysdmx.io.format import Format

    out = tmp_path / "sdmx"
    code, _o, err = pmm(capsys, "export", "sdmx", "--cycle", "2024", "-o", str(out),
                        "--as", "secretariat", "--database-url", db)
    assert code == 0, err
    structure = psdmx.read(out / "pmm-structure.xml")
    fw = load("wco-pmm-v1")
    dsd = structure.get_data_structure_definitions()[0]
    assert dsd.short_urn.startswith("DataStructure=WCO:DSD_PMM")
    assert [d.id for d in dsd.components.dimensions] == list(psdmx.DIMENSIONS)
    indicators = {c.id for c in dsd.components["INDICATOR"].enumeration.items}
    assert {psdmx.sdmx_id(k.code) for k in fw.kpis} <= indicators
    assert len(indicators) == len(fw.kpis) + len(fw.outcomes) + len(fw.dimensions)
    xml = psdmx.read(out / "pmm-2024-r1-wco.xml").data[0].data
    csv_data = psdmx.read(out / "pmm-2024-r1-wco.csv").data[0].data
    assert len(xml) == len(csv_data) > 1000
    # the Secretariat's file marks restricted and WCO-level values as such
    members = csv_data[csv_data["STATISTIC"] == "_Z"]
    assert {"F", "N", "C"} <= set(members["CONF_STATUS"])
    key = list(psdmx.DIMENSIONS)
    both = xml.merge(csv_data, on=key, suffixes=("_x", "_c"))
    assert len(both) == len(xml)
    a = pd.to_numeric(both["OBS_VALUE_x"], errors="coerce").to_numpy(float)
    b = pd.to_numeric(both["OBS_VALUE_c"], errors="coerce").to_numpy(float)
    assert np.allclose(a, b, equal_nan=True)
    # sdmx1 (an independent reader) reads the SDMX-CSV against the same structure (SDMX-ML 2.1)
    write_sdmx(psdmx.structure(fw).artefacts, Format.STRUCTURE_SDMX_ML_2_1,
               output_path=str(tmp_path / "s21.xml"))
    dsd1 = sdmx1.read_sdmx(tmp_path / "s21.xml").structure["DSD_PMM"]
    message = sdmx1.read_sdmx(out / "pmm-2024-r1-wco.csv", structure=dsd1)
    assert len(message.data[0].obs) == len(csv_data)
    # another maintenance agency, from the configuration
    monkeypatch.setenv("PMM_SDMX_AGENCY", "ESCAP")
    code, _o, err = pmm(capsys, "export", "sdmx", "--cycle", "2024", "-o", str(tmp_path / "x"),
                        "--public", "--database-url", db)
    assert code == 0, err
    dsd = psdmx.read(tmp_path / "x" / "pmm-structure.xml").get_data_structure_definitions()[0]
    assert dsd.agency == "ESCAP" or getattr(dsd.agency, "id", None) == "ESCAP"
    monkeypatch.setenv("PMM_SDMX_AGENCY", "bad agency!")
    code, _o, err = pmm(capsys, "export", "sdmx", "--cycle", "2024", "-o", str(tmp_path / "y"),
                        "--public", "--database-url", db)
    assert code == 2 and "bad agency!" in err


def test_profiles_and_reports_render_for_each_audience(db: str, secrets: dict, tmp_path: Path,
                                                        capsys) -> None:
    from pmm.members import member as member_record

    hidden = secrets["hidden"]
    restricted = hidden[(hidden["disclosure"] == "restricted") & (hidden["level"] == "kpi")]
    member = restricted["member"].value_counts().index[0]
    other = next(m for m in sorted(set(secrets["shown"]["member"])) if m != member)
    rec = member_record(member)
    for who, lang in ((["--as", f"ncp-{member.lower()}"], "en"), (["--as", "secretariat"], "fr"),
                      (["--as", f"ncp-{other.lower()}"], "en")):
        pdf = tmp_path / f"profile-{who[-1]}-{member}-{lang}.pdf"
        code, _o, err = pmm(capsys, "report", "member", member, "--cycle", "2024", "-o",
                            str(pdf), *who, "--lang", lang, "--database-url", db)
        assert code == 0, err
        text = _pdf_text(pdf)
        assert (rec.name_fr if lang == "fr" else rec.name_en) in text.replace("\n", " ")
        if lang == "fr":
            assert "pas une notation officielle de l’OMD" in text.replace("'", "’")
        _to_png(pdf)
    # the member itself sees its restricted KPIs; another member does not
    own = _pdf_text(tmp_path / f"profile-ncp-{member.lower()}-{member}-en.pdf")
    seen = _pdf_text(tmp_path / f"profile-ncp-{other.lower()}-{member}-en.pdf")
    assert own.count("restricted") > seen.count("restricted") == 0
    html = tmp_path / "esa.html"
    code, _o, err = pmm(capsys, "report", "region", "EUR", "--cycle", "2024", "-o", str(html),
                        "--public", "--lang", "fr", "--database-url", db)
    assert code == 0, err
    assert "Participation" in html.read_text(encoding="utf-8")
    pdf = tmp_path / "global-wco-fr.pdf"
    code, _o, err = pmm(capsys, "report", "global", "--cycle", "2024", "-o", str(pdf),
                        "--as", "ncp-deu", "--lang", "fr", "--database-url", db)
    assert code == 0, err
    text = _pdf_text(pdf)
    assert "Participation" in text
    with transaction(db) as session:
        members = rel_mod.latest(session, 2024).members
    assert f"Membres dans ce rapport: {members}" in text  # the release's members only
    _to_png(pdf)


def test_review_report_only_for_readers_of_the_submission(db: str, tmp_path: Path,
                                                          capsys) -> None:
    with transaction(db) as session:
        from sqlalchemy import select

        from pmm.store.models import Cycle, Finding, Review, Submission

        member = session.scalar(
            select(Submission.member).join(Cycle, Cycle.id == Submission.cycle_id)
            .join(Review, Review.submission_id == Submission.id)
            .join(Finding, Finding.review_id == Review.id).where(Cycle.year == 2024).limit(1))
    assert member
    pdf = tmp_path / f"review-{member}.pdf"
    code, _o, err = pmm(capsys, "report", "review", member, "--cycle", "2024", "-o", str(pdf),
                        "--as", "secretariat", "--database-url", db)
    assert code == 0, err
    assert "Peer review report" in _pdf_text(pdf)
    _to_png(pdf)
    code, _o, err = pmm(capsys, "report", "review", member, "--cycle", "2024", "-o",
                        str(tmp_path / "r.html"), "--as", "wb-pmmpt", "--database-url", db)
    assert code == 4 and "may not read" in err
    code, _o, err = pmm(capsys, "--lang", "fr", "report", "review", member, "--cycle", "2024",
                        "-o", str(tmp_path / "r.html"), "--as", "wb-pmmpt",
                        "--database-url", db)
    assert code == 4 and "ne peut pas lire" in err


def test_bad_requests_are_clear_errors(db: str, tmp_path: Path, capsys) -> None:
    code, _o, err = pmm(capsys, "export", "csv", "--cycle", "2024", "--release", "9", "-o",
                        str(tmp_path), "--public", "--database-url", db)
    assert code == 5 and "no release 9" in err
    code, _o, err = pmm(capsys, "export", "xlsx", "--cycle", "2024", "-o",
                        str(tmp_path / "x.txt"), "--public", "--database-url", db)
    assert code == 2 and "x.txt" in err and ".xlsx" in err
    code, _o, err = pmm(capsys, "report", "global", "--cycle", "2024", "-o",
                        str(tmp_path / "g.doc"), "--public", "--database-url", db)
    assert code == 2 and ".pdf or .html" in err
    code, _o, err = pmm(capsys, "report", "member", "ZZZ", "--cycle", "2024", "-o",
                        str(tmp_path / "p.html"), "--public", "--database-url", db)
    assert code != 0 and "ZZZ" in err and "Traceback" not in err
    code, _o, err = pmm(capsys, "report", "region", "XX", "--cycle", "2024", "-o",
                        str(tmp_path / "p.html"), "--public", "--database-url", db)
    assert code == 2 and "XX" in err
    code, _o, err = pmm(capsys, "export", "csv", "--cycle", "2024", "-o", str(tmp_path),
                        "--public", "--lang", "de", "--database-url", db)
    assert code == 2 and "de" in err
    code, _o, err = pmm(capsys, "export", "csv", "--cycle", "2024", "-o", str(tmp_path),
                        "--database-url", db)
    assert code == 4 and "--as" in err
    assert ANONYMOUS.audience == "public"


def test_excel_and_csv_neutralise_formulas_in_text(db: str, tmp_path: Path) -> None:
    from pmm.conventions import restore
    from pmm.publish import source, tables

    with transaction(db) as session:
        view = source.read(session, ANONYMOUS, 2024)
    risky = "=HYPERLINK(\"http://example.invalid\",\"click\")"
    row = view.obs.index[view.obs["level"] == "kpi"][0]
    view.obs.loc[row, ["status", "reason"]] = ["not_applicable", risky]
    view.obs.loc[row + 1, "value"] = -12.5  # a negative number stays a number
    path = tables.write_xlsx(view, tmp_path / "r.xlsx")
    cells = [c for ws in load_workbook(path) for r in ws.iter_rows(values_only=True) for c in r]
    assert "'" + risky in cells and risky not in cells
    assert -12.5 in cells or view.obs.loc[row + 1, "status"] != "ok"  # a number, untouched
    values, _stats = tables.write_csv(view, tmp_path / "csv")
    text = values.read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text
    frame = pd.read_csv(values, keep_default_na=False)
    assert risky in set(map(restore, frame["note"]))  # import strips the prefix again
