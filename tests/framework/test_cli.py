"""`pmm framework list | show | export` on the shipped catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from ruamel.yaml import YAML

from pmm.cli import run

CONFIRMED_OUTCOMES = {
    "Paperless trade",
    "Increased trust in the relationship with trade",
    "More efficiency of clearance and delivery in e-commerce",
}
CONFIRMED_KPIS = {
    "Rate of electronic declarations",
    "Variation in the number of Authorized Economic Operators (AEOs)",
    "AEO involvement in trade",
    "Share of e-commerce shipments",
    "Variation in the number of alcohol seizures",
    "Annual variation in requests for information",
    "Data standardization",
    "Effectiveness of post-clearance controls",
    "Effectiveness of controls on drugs",
}
KPI_FIELDS = {"code", "outcome", "name", "definition", "formula", "unit", "direction", "years",
              "breakdowns", "data_items", "sdg_targets", "tools", "scoring", "disclosure",
              "provenance"}


@pytest.fixture(scope="module")
def shown() -> dict:
    import io
    from contextlib import redirect_stdout

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        assert run(["framework", "show", "wco-pmm-v1", "--format", "json"]) == 0
    return json.loads(buffer.getvalue())


def test_show_json_has_the_whole_mechanism(shown: dict) -> None:
    assert shown["framework"]["id"] == "wco-pmm-v1"
    assert len(shown["dimensions"]) == 4
    assert len(shown["outcomes"]) == 23
    assert len(shown["kpis"]) >= 51
    for kpi in shown["kpis"]:
        assert KPI_FIELDS <= kpi.keys()
        assert kpi["name"]["en"] and kpi["name"]["fr"]
        assert kpi["sdg_targets"] and kpi["tools"] and kpi["data_items"]
        assert kpi["years"] in ("T", "T,T-1")
        assert kpi["direction"] in ("higher", "lower")
        assert kpi["disclosure"] in ("public", "wco", "restricted")
        prov = kpi["provenance"]
        assert prov["source"] if prov["status"] == "confirmed" else prov["rationale"]


def test_confirmed_names_appear_verbatim(shown: dict) -> None:
    outcomes = {o["name"]["en"]: o for o in shown["outcomes"]}
    kpis = {k["name"]["en"]: k for k in shown["kpis"]}
    assert CONFIRMED_OUTCOMES <= outcomes.keys()
    assert CONFIRMED_KPIS <= kpis.keys()
    for name in CONFIRMED_KPIS:
        assert kpis[name]["provenance"]["status"] == "confirmed"
        assert kpis[name]["provenance"]["source"].startswith("https://")
    assert {d["name"]["en"] for d in shown["dimensions"]} == {
        "Trade Facilitation and Economic Competitiveness", "Revenue Collection",
        "Enforcement, Security and Protection of Society", "Organizational Development"}


def test_measurable_items_follow_the_microdata_contract(shown: dict) -> None:
    measurable = {d["code"] for d in shown["data_items"] if d["measurable"]}
    assert measurable >= {
        "declarations", "declarations_electronic", "ecommerce_shipments", "trade_value",
        "trade_value_aeo", "release_time_mean_h", "release_time_median_h", "release_time_p90_h",
        "prearrival_lodgements", "physical_controls", "physical_controls_with_findings",
        "pca_audits", "pca_audits_with_findings", "pca_additional_revenue", "seizures",
        "revenue_assessed", "aeo_count"}


def test_show_yaml_and_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["framework", "show", "wco-pmm-v1", "--format", "yaml"]) == 0
    data = YAML(typ="safe").load(capsys.readouterr().out)
    assert len(data["kpis"]) >= 51
    assert run(["framework", "show", "wco-pmm-v1", "--format", "md"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("# ") and "| Rate of electronic declarations |" in md


def test_show_summary_in_french(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--lang", "fr", "framework", "show", "wco-pmm-v1"]) == 0
    out = capsys.readouterr().out
    from pmm.framework.loader import load

    for dim in load("wco-pmm-v1").dimensions:  # every dimension title, in French
        assert f"{dim.code}  {dim.name.fr}" in out
    assert "résultats attendus" in out
    assert run(["--lang", "en", "framework", "show"]) == 0


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["framework", "list"]) == 0
    out = capsys.readouterr().out
    assert "wco-pmm-v1" in out and "endorsed" in out


def test_export_xlsx(tmp_path: Path, capsys: pytest.CaptureFixture[str], shown: dict) -> None:
    target = tmp_path / "fw.xlsx"
    assert run(["framework", "export", "wco-pmm-v1", "--format", "xlsx", "-o", str(target)]) == 0
    book = load_workbook(target)
    assert book.sheetnames[:4] == ["Framework", "Dimensions", "Outcomes", "KPIs"]
    kpis = book["KPIs"]
    assert kpis.max_row - 1 == len(shown["kpis"])
    header = [c.value for c in kpis[1]]
    names = {row[header.index("name")] for row in kpis.iter_rows(min_row=2, values_only=True)}
    assert CONFIRMED_KPIS <= names
    # no text cell may start a formula
    for sheet in book:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                assert not (isinstance(value, str) and value[:1] in "=+-@"), value


def test_export_in_french(tmp_path: Path) -> None:
    target = tmp_path / "fw-fr.xlsx"
    assert run(["--lang", "fr", "framework", "export", "wco-pmm-v1", "-o", str(target)]) == 0
    book = load_workbook(target)
    assert "Dimensions" in book.sheetnames and "ICP" in book.sheetnames


def test_export_unknown_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["framework", "export", "wco-pmm-v1", "--format", "ods"]) == 2
    assert "unknown format" in capsys.readouterr().err


def test_show_unknown_framework(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["framework", "show", "wco-pmm-v9"]) == 2
    err = capsys.readouterr().err
    assert "wco-pmm-v9" in err and "shipped: wco-pmm-v1" in err
    assert "Traceback" not in err
