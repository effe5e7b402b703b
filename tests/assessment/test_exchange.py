"""The submission CSV: export → import is a no-op; bad files are refused whole, one line per
defect, and change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmm.cli import run
from tests.assessment.conftest import COMPLETE, csv_lines, write_csv


def export(capsys, member: str = "FRA") -> str:
    capsys.readouterr()
    assert run(["submission", "export", "--cycle", "2024", "--member", member, "--as", "sec"]) == 0
    return capsys.readouterr().out


def audit_count(capsys) -> int:
    capsys.readouterr()
    assert run(["audit", "--format", "csv", "--as", "sec"]) == 0
    return len(csv_lines(capsys.readouterr().out)) - 1


def test_export_of_a_new_submission_is_a_template(db: str, capsys) -> None:
    lines = csv_lines(export(capsys))
    assert lines[0] == "kpi,data_item,year,breakdown,value,status,disclosure,note"
    assert ",declarations,2024,,,reported,," in lines
    assert ",declarations,2024,flow=TR,,reported,," in lines
    assert ",aeo_count,2023,,,reported,," in lines  # T-1, because a KPI needs it
    assert ",release_time_mean_h,2023,,,reported,," not in lines
    assert "e_decl,,,,,reported,public," in lines
    assert "release_time,,,,,reported,restricted," in lines


def test_import_then_export_round_trips_and_reimport_is_a_no_op(db: str, tmp_path: Path,
                                                               capsys) -> None:
    source = write_csv(tmp_path / "in.csv", COMPLETE, [
        "release_time,,,,,not_applicable,restricted,=No release-time study: 1+1 \"quoted\"",
        "revenue,,,,,reported,public,"])
    assert run(["submission", "import", str(source), "--cycle", "2024", "--member", "FRA",
                "--as", "ncp-fra"]) == 0
    assert "Imported" in capsys.readouterr().out
    first = export(capsys)
    lines = csv_lines(first)
    assert ",declarations_electronic,2024,,980,reported,," in lines
    assert ",single_window,2024,,true,reported,," in lines
    assert ",revenue_collected,2024,,123456789.25,reported,," in lines
    # the note starting with '=' is neutralised in the file
    assert any(line.startswith("release_time,,,,,not_applicable,restricted,\"'=No release")
               for line in lines)
    exported = tmp_path / "export.csv"
    exported.write_text(first, encoding="utf-8")
    before = audit_count(capsys)
    assert run(["submission", "import", str(exported), "--cycle", "2024", "--member", "FRA",
                "--as", "ncp-fra"]) == 0
    assert "No changes" in capsys.readouterr().out
    assert audit_count(capsys) == before
    assert export(capsys) == first
    capsys.readouterr()
    run(["submission", "show", "--cycle", "2024", "--member", "FRA", "--as", "sec"])
    assert "version 2" in capsys.readouterr().out  # only the first import changed it


def test_bad_csv_is_refused_with_one_line_per_defect_and_nothing_changes(
        db: str, tmp_path: Path, capsys) -> None:
    good = write_csv(tmp_path / "good.csv", COMPLETE)
    assert run(["submission", "import", str(good), "--cycle", "2024", "--member", "FRA",
                "--as", "ncp-fra"]) == 0
    before = export(capsys)
    trail = audit_count(capsys)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "kpi,data_item,year,breakdown,value,status,disclosure,note\n"
        ",declarations,2024,,12abc,reported,,\n"               # line 2: not a number
        ",staff_trained_pct,2024,,150,reported,,\n"            # line 3: percentage of 150
        ",declarations_electronic,2024,flow=IM,700,reported,,\n"  # line 4: part above whole
        ",no_such_item,2024,,5,reported,,\n"                   # line 5: unknown data item
        ",release_time_mean_h,2024,,8,reported,,\n",           # line 6: fine on its own
        encoding="utf-8")
    assert run(["submission", "import", str(bad), "--cycle", "2024", "--member", "FRA",
                "--as", "ncp-fra"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4, err
    assert err[0].startswith(f"{bad}:2: column value: '12abc' is not a number")
    assert "a whole number from 0 to 1000000000000" in err[0]
    assert any(e.startswith(f"{bad}:3: column value: 150 is above the maximum 100") for e in err)
    assert any(e.startswith(f"{bad}:4: column value: declarations_electronic[2024]{{flow=IM}} "
                            "= 700 is above its whole declarations[2024]{flow=IM} = 600")
               for e in err)
    assert any(e.startswith(f"{bad}:5: column data_item: 'no_such_item' is not a data item")
               for e in err)
    assert export(capsys) == before
    assert audit_count(capsys) == trail


@pytest.mark.parametrize(("row", "expected"), [
    (",declarations,20x4,,5,reported,,", "column year: year '20x4' is not a calendar year"),
    (",declarations,2019,,5,reported,,", "column year: year 2019: expected 2024 or 2023"),
    (",declarations,2024,flow=XX,5,reported,,", "column breakdown: breakdown 'flow=XX'"),
    (",release_time_mean_h,2024,flow=IM,5,reported,,", "is not broken down by flow"),
    (",declarations,2024,,5,maybe,,", "column status: status 'maybe'"),
    (",declarations,2024,,5,reported,public,", "disclosure is chosen per KPI"),
    (",declarations,2024,,5.5,reported,,", "5.5 is not a whole number"),
    (",single_window,2024,,2,reported,,", "'2' is not a number (expected true or false"),
    (",release_time_mean_h,2024,,-3,reported,,", "-3 is below the minimum 0"),
    ("nope,,,,,reported,,", "column kpi: 'nope' is not a KPI"),
    ("e_decl,,,,,reported,secret,", "column disclosure: disclosure 'secret'"),
    ("e_decl,declarations,2024,,5,reported,,", "fill either kpi"),
    ("e_decl,,2024,,,reported,,", "a KPI row has no year"),
])
def test_each_kind_of_defect_names_line_column_value_and_expectation(
        db: str, tmp_path: Path, capsys, row: str, expected: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("kpi,data_item,year,breakdown,value,status,disclosure,note\n" + row + "\n",
                   encoding="utf-8")
    assert run(["submission", "import", str(bad), "--cycle", "2024", "--member", "FRA",
                "--as", "ncp-fra"]) != 0
    err = capsys.readouterr().err
    assert f"{bad}:2" in err
    assert expected in err


def test_bad_header_and_encoding(db: str, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("kpi,item,value\n", encoding="utf-8")
    assert run(["submission", "import", str(bad), "--cycle", "2024", "--member", "FRA",
                "--as", "ncp-fra"]) != 0
    assert f"{bad}:1: header" in capsys.readouterr().err
    bad.write_bytes(b"kpi,data_item,year,breakdown,value,status,disclosure,note\n\xff\xfe\n")
    assert run(["submission", "import", str(bad), "--cycle", "2024", "--member", "FRA",
                "--as", "ncp-fra"]) != 0
    assert "not UTF-8" in capsys.readouterr().err


def test_empty_value_removes_and_unknown_member_is_refused(db: str, tmp_path: Path,
                                                          capsys) -> None:
    write_csv(tmp_path / "a.csv", {("release_time_mean_h", 2024, ""): "7"})
    assert run(["submission", "import", str(tmp_path / "a.csv"), "--cycle", "2024", "--member",
                "FRA", "--as", "ncp-fra"]) == 0
    assert ",release_time_mean_h,2024,,7,reported,," in csv_lines(export(capsys))
    write_csv(tmp_path / "b.csv", {("release_time_mean_h", 2024, ""): ""})
    assert run(["submission", "import", str(tmp_path / "b.csv"), "--cycle", "2024", "--member",
                "FRA", "--as", "ncp-fra"]) == 0
    assert ",release_time_mean_h,2024,,,reported,," in csv_lines(export(capsys))
    assert run(["submission", "import", str(tmp_path / "b.csv"), "--cycle", "2024", "--member",
                "QQQ", "--as", "ncp-fra"]) != 0
    assert "Unknown WCO Member code 'QQQ'" in capsys.readouterr().err


def test_notes_with_windows_line_ends_round_trip(db: str, tmp_path: Path, capsys) -> None:
    source = tmp_path / "crlf.csv"
    source.write_bytes(b"kpi,data_item,year,breakdown,value,status,disclosure,note\r\n"
                       b',release_time_mean_h,2024,,7,reported,,"line one\r\nline two\rthree"\r\n'
                       b'release_time,,,,,reported,wco,"@ops\r\n-desk"\r\n')
    assert run(["submission", "import", str(source), "--cycle", "2024", "--member", "FRA",
                "--as", "ncp-fra"]) == 0
    first = export(capsys)
    assert '"line one\nline two\nthree"' in first
    again = tmp_path / "again.csv"
    again.write_text(first, encoding="utf-8", newline="")
    capsys.readouterr()
    assert run(["submission", "import", str(again), "--cycle", "2024", "--member", "FRA",
                "--as", "ncp-fra"]) == 0
    assert "No changes" in capsys.readouterr().out
    assert export(capsys) == first
