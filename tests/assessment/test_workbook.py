"""The data-entry workbook: generated from the framework, filled, imported; errors name cells."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from pmm.cli import run
from tests.assessment.conftest import COMPLETE, write_csv


def template(tmp_path: Path, name: str = "t.xlsx", lang: str = "en") -> Path:
    out = tmp_path / name
    assert run(["submission", "template", "--cycle", "2024", "--member", "FRA", "-o", str(out),
                "--lang", lang, "--as", "sec"]) == 0
    return out


def find_row(ws, kind: str, code: str, year: int | None = None, bd: str | None = None) -> int:
    for row in ws.iter_rows(min_row=5):
        a, b, d, e = row[0].value, row[1].value, row[3].value, row[4].value
        if a == kind and b == code and (year is None or d == year) and (
                bd is None or (e or "") == bd):
            return row[0].row
    raise AssertionError(f"no row {kind} {code} {year} {bd}")


def test_template_layout_and_validation(db: str, tmp_path: Path) -> None:
    wb = load_workbook(template(tmp_path))
    assert wb.sheetnames[0] == "Instructions"
    assert [s[:2] for s in wb.sheetnames[1:3]] == ["TF", "RC"]
    assert wb["_pmm"].sheet_state == "veryHidden"
    tf = wb[wb.sheetnames[1]]
    # declarations is used by e_decl and ecommerce_share: entered once, then linked
    assert find_row(tf, "item", "declarations", 2024, "flow=TR")
    link = find_row(tf, "see", "declarations")
    first = find_row(tf, "item", "declarations", 2024, "")
    assert tf[f"F{link}"].hyperlink.location.endswith(f"!F{first}")
    rules = {str(dv.sqref): (dv.type, dv.formula1, dv.formula2) for dv in
             tf.data_validations.dataValidation}
    pct = template(tmp_path, "t2.xlsx")
    assert pct.exists()
    row = find_row(tf, "item", "declarations", 2024, "")
    whole = [v for k, v in rules.items() if f"F{row}" in k.split()]
    assert whole and whole[0][0] == "whole"
    rc = wb[wb.sheetnames[2]]
    pct_row = find_row(rc, "item", "staff_trained_pct", 2024)
    pct_rules = [(dv.type, dv.formula1, dv.formula2) for dv in rc.data_validations.dataValidation
                 if f"F{pct_row}" in str(dv.sqref).split()]
    assert pct_rules == [("decimal", "0.0", "100.0")]
    kpi_row = find_row(tf, "kpi", "e_decl")
    lists = [dv.formula1 for dv in tf.data_validations.dataValidation
             if f"H{kpi_row}" in str(dv.sqref).split()]
    assert lists == ['"public,wco,restricted"']


def test_french_template(db: str, tmp_path: Path) -> None:
    wb = load_workbook(template(tmp_path, lang="fr"))
    assert wb.sheetnames[1].startswith("TF Facilitation")
    text = " ".join(str(c.value) for c in wb.worksheets[0]["A"] if c.value)
    assert "France" in text and "classeur" in text


def test_filled_workbook_imports_and_round_trips(db: str, tmp_path: Path, capsys) -> None:
    path = template(tmp_path)
    wb = load_workbook(path)
    tf, rc = wb[wb.sheetnames[1]], wb[wb.sheetnames[2]]
    tf[f"F{find_row(tf, 'item', 'declarations', 2024, '')}"] = 1000
    tf[f"F{find_row(tf, 'item', 'declarations_electronic', 2024, '')}"] = 990
    tf[f"F{find_row(tf, 'item', 'single_window', 2024)}"] = "true"
    kpi = find_row(tf, "kpi", "release_time")
    tf[f"G{kpi}"], tf[f"I{kpi}"] = "not_applicable", "@no study yet"
    rc[f"F{find_row(rc, 'item', 'staff_trained_pct', 2024)}"] = 55.5
    wb.save(path)
    assert run(["submission", "import", str(path), "--cycle", "2024", "--member", "FRA",
                "--as", "ncp-fra"]) == 0
    capsys.readouterr()
    assert run(["submission", "export", "--cycle", "2024", "--member", "FRA", "--as", "sec"]) == 0
    out = capsys.readouterr().out
    assert ",declarations_electronic,2024,,990,reported,," in out
    assert ",single_window,2024,,true,reported,," in out
    assert ",staff_trained_pct,2024,,55.5,reported,," in out
    assert "release_time,,,,,not_applicable,restricted,'@no study yet" in out
    # the exported workbook holds the values, neutralised text, and imports as a no-op
    again = tmp_path / "again.xlsx"
    assert run(["submission", "export", "--cycle", "2024", "--member", "FRA", "--format",
                "xlsx", "-o", str(again), "--as", "sec"]) == 0
    ws = load_workbook(again)[wb.sheetnames[1]]
    assert ws[f"I{find_row(ws, 'kpi', 'release_time')}"].value == "'@no study yet"
    capsys.readouterr()
    assert run(["submission", "import", str(again), "--cycle", "2024", "--member", "FRA",
                "--as", "ncp-fra"]) == 0
    assert "No changes" in capsys.readouterr().out


def test_workbook_errors_name_sheet_and_cell(db: str, tmp_path: Path, capsys) -> None:
    path = template(tmp_path)
    wb = load_workbook(path)
    tf = wb[wb.sheetnames[1]]
    rc = wb[wb.sheetnames[2]]
    r1 = find_row(tf, "item", "declarations", 2024, "")
    r2 = find_row(rc, "item", "staff_trained_pct", 2024)
    tf[f"F{r1}"] = "lots"
    rc[f"F{r2}"] = 150
    wb.save(path)
    capsys.readouterr()
    assert run(["submission", "import", str(path), "--cycle", "2024", "--member", "FRA",
                "--as", "ncp-fra"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert f"{path}!{tf.title}!F{r1}: 'lots' is not a number" in err[0]
    assert any(f"{path}!{rc.title}!F{r2}: 150 is above the maximum 100" in e for e in err)
    assert len(err) == 2


def test_stale_workbook_is_a_conflict(db: str, tmp_path: Path, capsys) -> None:
    path = template(tmp_path)  # made when there was no submission yet (version 0)
    write_csv(tmp_path / "a.csv", COMPLETE)
    assert run(["submission", "import", str(tmp_path / "a.csv"), "--cycle", "2024", "--member",
                "FRA", "--as", "ncp-fra"]) == 0
    fresh = template(tmp_path, "fresh.xlsx")
    wb = load_workbook(fresh)
    tf = wb[wb.sheetnames[1]]
    tf[f"F{find_row(tf, 'item', 'declarations', 2024, '')}"] = 1001
    wb.save(fresh)
    # a colleague saves in between: the workbook made before is now stale
    write_csv(tmp_path / "b.csv", {("release_time_mean_h", 2024, ""): "9"})
    assert run(["submission", "import", str(tmp_path / "b.csv"), "--cycle", "2024", "--member",
                "FRA", "--as", "ncp-fra"]) == 0
    capsys.readouterr()
    assert run(["submission", "import", str(fresh), "--cycle", "2024", "--member", "FRA",
                "--as", "ncp-fra"]) == 3
    assert "Conflict" in capsys.readouterr().err
    # the workbook made before the submission existed is stale as well
    assert run(["submission", "import", str(path), "--cycle", "2024", "--member", "FRA",
                "--as", "ncp-fra"]) == 3
    assert "made from version 0" in capsys.readouterr().err


def test_workbook_for_another_member_is_refused(db: str, tmp_path: Path, capsys) -> None:
    path = template(tmp_path)
    capsys.readouterr()
    assert run(["submission", "import", str(path), "--cycle", "2024", "--member", "DEU",
                "--as", "ncp-deu"]) != 0
    assert "this workbook is for member FRA, not DEU" in capsys.readouterr().err
