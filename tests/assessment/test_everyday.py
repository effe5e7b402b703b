"""Everyday use of the assessment commands: bounds, clear refusals, nothing written.

Each test here fails on the code before issue 15: a refusal that was an "Internal error", a
value that was stored, an error list out of order or without end.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from pmm.cli import run
from pmm.store.engine import transaction
from pmm.store.models import EvidenceBlob, ItemValue
from tests.assessment.conftest import COMPLETE, FRAMEWORK, write_csv

C = ["--cycle", "2024", "--member", "FRA"]
HEADER = "kpi,data_item,year,breakdown,value,status,disclosure,note\n"


def do(*args: str, who: str = "ncp-fra") -> int:
    return run([*args, *C, "--as", who])


def imp(path: Path) -> int:
    return do("submission", "import", str(path))


def stored(db: str) -> int:
    with transaction(db) as session:
        return session.query(ItemValue).count()


def test_errors_come_in_line_order_and_stop_after_the_limit_with_counts_per_kind(
        db: str, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("PMM_MAX_ERRORS", "5")
    lines = [HEADER]
    for n in range(2, 12):  # lines 2-11: a percentage above 100 (a plan error, found later)
        lines.append(f",staff_trained_pct,{2000 + n},,150,reported,,\n")
    lines.append(",declarations,2024,,lots,reported,,\n")  # line 12: parse error, found first
    for _ in range(3):  # lines 13-15: the same row again
        lines.append(",declarations,2024,,1,reported,,\n")
    path = tmp_path / "bad.csv"
    path.write_text("".join(lines), encoding="utf-8")
    assert imp(path) == 2
    err = capsys.readouterr().err.strip().splitlines()
    numbers = [int(line.split(":")[1]) for line in err[:-1]]
    assert numbers == sorted(numbers) and numbers[0] == 2, err
    assert len(err) == 6, err
    assert err[-1].startswith("... and ")
    assert "more errors of the same kinds" in err[-1] and "nothing was saved" in err[-1]
    assert "given twice: 3" in err[-1] and "not a year of the cycle: " in err[-1]
    assert stored(db) == 0


def test_an_error_on_line_100_prints_its_location_not_an_emoji(db: str, tmp_path: Path,
                                                               capsys) -> None:
    rows = [f",declarations,2024,flow=IM,{n},reported,,\n" for n in range(98)]
    path = tmp_path / "file.csv"
    path.write_text(HEADER + "".join(rows) + ",declarations,2024,,x,reported,,\n",
                    encoding="utf-8")
    assert imp(path) == 2
    err = capsys.readouterr().err
    assert "file.csv:100: column value" in err
    assert "💯" not in err


def test_import_size_and_row_limits_refuse_before_reading(db: str, tmp_path: Path, capsys,
                                                          monkeypatch) -> None:
    path = write_csv(tmp_path / "big.csv", COMPLETE)
    monkeypatch.setenv("PMM_IMPORT_MAX_BYTES", "100")
    assert imp(path) == 2
    err = capsys.readouterr().err
    assert "is above the limit of 100 bytes" in err and "PMM_IMPORT_MAX_BYTES" in err
    monkeypatch.delenv("PMM_IMPORT_MAX_BYTES")
    monkeypatch.setenv("PMM_IMPORT_MAX_ROWS", "3")
    assert imp(path) == 2
    err = capsys.readouterr().err
    assert f"{path}:5: more than 3 rows" in err and "PMM_IMPORT_MAX_ROWS" in err
    monkeypatch.setenv("PMM_IMPORT_MAX_ROWS", "lots")
    assert imp(path) == 2
    assert "PMM_IMPORT_MAX_ROWS='lots': expected a whole number" in capsys.readouterr().err
    assert stored(db) == 0


def test_a_big_import_reports_its_progress_on_stderr(db: str, tmp_path: Path, capsys) -> None:
    # 1 MiB and more: the same value again and again (a note makes each row long)
    note = "n" * 200
    row = f",release_time_mean_h,2024,,12,reported,,{note}\n"
    path = tmp_path / "long.csv"
    path.write_text(HEADER + row * 30_000, encoding="utf-8")
    capsys.readouterr()
    assert imp(path) == 2  # duplicates: refused, but the reading was reported
    captured = capsys.readouterr()
    assert f"{path}: read " in captured.err and "(10000 rows)" in captured.err
    assert f"{path}: checking" in captured.err
    assert captured.err.count("is already given at") <= 100


def test_a_cell_over_the_csv_field_limit_is_a_clear_error(db: str, tmp_path: Path,
                                                          capsys) -> None:
    path = tmp_path / "huge-cell.csv"
    path.write_text(HEADER + ',declarations,2024,,1,reported,,"' + "x" * 200_000 + '"\n',
                    encoding="utf-8")
    assert imp(path) == 2
    err = capsys.readouterr().err
    assert f"{path}:2: a cell is longer than 131072 characters" in err
    assert "Internal error" not in err


def _template(tmp_path: Path, capsys) -> Path:
    out = tmp_path / "fra.xlsx"
    assert do("submission", "template", "-o", str(out)) == 0
    capsys.readouterr()
    return out


def test_a_truncated_workbook_is_a_clear_error(db: str, tmp_path: Path, capsys) -> None:
    whole = _template(tmp_path, capsys).read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(whole[: len(whole) // 2])
    assert imp(cut) == 2
    err = capsys.readouterr().err
    assert f"{cut}: not a readable Excel workbook, damaged or cut short" in err
    assert "Internal error" not in err


def test_a_zip_bomb_is_refused_before_it_is_unpacked(db: str, tmp_path: Path, capsys,
                                                     monkeypatch) -> None:
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (20 * 1024 * 1024))
    assert bomb.stat().st_size < 100_000
    assert imp(bomb) == 2
    err = capsys.readouterr().err
    assert "unpacks to" in err and "times its size, above the limit of 100" in err
    assert "PMM_XLSX_MAX_RATIO" in err
    monkeypatch.setenv("PMM_XLSX_MAX_UNCOMPRESSED_BYTES", str(1024 * 1024))
    assert imp(bomb) == 2
    err = capsys.readouterr().err
    assert "bytes, above the limit of 1048576 bytes" in err
    assert "PMM_XLSX_MAX_UNCOMPRESSED_BYTES" in err
    # a real workbook passes (it is about 6 times smaller packed than unpacked)
    monkeypatch.delenv("PMM_XLSX_MAX_UNCOMPRESSED_BYTES")
    assert imp(_template(tmp_path, capsys)) == 0


def test_implausible_values_are_refused(db: str, tmp_path: Path, capsys) -> None:
    path = tmp_path / "huge.csv"
    path.write_text(HEADER + ",declarations,2024,,1e308,reported,,\n"
                    ",staff_trained_pct,2024,,500,reported,,\n"
                    ",revenue_collected,2024,,1e19,reported,,\n", encoding="utf-8")
    assert imp(path) == 2
    err = capsys.readouterr().err
    assert "1e+308 is above the maximum 1000000000000" in err
    assert "500 is above the maximum 100" in err
    assert "1e+19 is above the maximum 1e+18" in err
    assert do("submission", "set", "declarations", "1e308") == 2
    assert stored(db) == 0


def test_unknown_data_item_suggests_close_ones(db: str, tmp_path: Path, capsys) -> None:
    path = tmp_path / "typo.csv"
    path.write_text(HEADER + ",declaration,2024,,1,reported,,\n"
                    "e_dec,,,,,reported,public,\n", encoding="utf-8")
    assert imp(path) == 2
    err = capsys.readouterr().err
    assert "'declaration' is not a data item of framework test-pmm" in err
    assert "(did you mean declarations" in err
    assert "'e_dec' is not a KPI of framework test-pmm (did you mean e_decl?)" in err


def test_explaining_a_warning_that_does_not_exist_is_refused(db: str, tmp_path: Path,
                                                             capsys) -> None:
    values = dict(COMPLETE)
    values[("aeo_count", 2023, "")] = "40"  # 40 → 110: a year-on-year warning
    assert imp(write_csv(tmp_path / "w.csv", values)) == 0
    capsys.readouterr()
    assert do("submission", "explain", "year_on_year:aeo_count[2023]", "typo") == 5
    err = capsys.readouterr().err
    assert "'year_on_year:aeo_count[2023]' is not a warning of FRA's submission" in err
    assert "year_on_year:aeo_count[2024]" in err  # the ones that exist, and a suggestion
    assert do("submission", "explain", "year_on_year:aeo_count[2024]", "New phase") == 0
    capsys.readouterr()
    assert run(["submission", "check", *C, "--as", "ncp-fra"]) == 0
    assert "explained: New phase" in capsys.readouterr().out


def test_completing_a_review_after_a_resubmission_says_to_start_it_again(
        db: str, tmp_path: Path, capsys) -> None:
    assert imp(write_csv(tmp_path / "f.csv", COMPLETE)) == 0
    assert do("submission", "submit", "--request-review") == 0
    assert do("review", "assign", "--reviewer", "rev", who="sec") == 0
    assert do("review", "start", who="rev") == 0
    assert do("review", "request-changes", "--reason", "Source the release time",
              who="rev") == 0
    assert do("submission", "set", "release_time_mean_h", "14") == 0
    assert do("submission", "resubmit") == 0
    capsys.readouterr()
    assert do("review", "complete", who="rev") == 2
    err = capsys.readouterr().err
    assert "was resubmitted as revision 2" in err and "start the review again" in err
    assert do("review", "start", who="rev") == 0
    assert do("review", "complete", who="rev") == 0


def test_a_cycle_needs_a_framework_that_validates(db: str, tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken.yaml"
    text = FRAMEWORK.read_text(encoding="utf-8")
    broken.write_text(text.replace("formula: revenue_collected",
                                   "formula: revenue_collected +"), encoding="utf-8")
    capsys.readouterr()
    assert run(["cycle", "create", "2030", "--framework", str(broken), "--opens", "2031-01-01",
                "--closes", "2031-06-30", "--as", "sec"]) == 2
    err = capsys.readouterr().err
    assert f"framework {broken} does not validate" in err
    assert "KPI revenue" in err
    assert run(["cycle", "list", "--as", "sec"]) == 0
    assert "2030" not in capsys.readouterr().out
    # show and diff still work, with a warning on stderr
    assert run(["framework", "show", str(broken)]) == 0
    captured = capsys.readouterr()
    assert "does not validate" in captured.err and "does not validate" not in captured.out
    assert run(["framework", "diff", str(FRAMEWORK), str(broken), "--format", "csv"]) == 0
    assert f"Warning: framework {broken} does not validate" in capsys.readouterr().err


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("scan.pdf", bytes(range(256)) * 8, "the content is not of an accepted type"),
    ("notes.txt", b"#!/bin/sh\nrm -rf ~\n", "is a script or program"),
    ("notes.txt", b"<?php system($_GET['c']); ?>", "is a script or program"),
    ("photo.jpg", b"\x00\x01binary\x00", "the content is not of an accepted type"),
    ("run.py", b"print('hello')\n", "the content is not of an accepted type"),
])
def test_evidence_is_accepted_only_by_sniffed_type(db: str, tmp_path: Path, capsys, name: str,
                                                   content: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert do("submission", "evidence", "add", str(path)) == 2
    assert expected in capsys.readouterr().err
    with transaction(db) as session:
        assert session.query(EvidenceBlob).count() == 0


def test_a_database_url_pointing_at_a_csv_file_is_a_clear_error(tmp_path: Path,
                                                                capsys) -> None:
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    assert run(["cycle", "list", "--database-url", f"sqlite:///{data}"]) == 2
    err = capsys.readouterr().err
    assert f"{data} is not an SQLite database" in err and "Internal error" not in err
    assert data.read_text(encoding="utf-8") == "a,b\n1,2\n"


def test_user_text_is_printed_as_it_is(db: str, tmp_path: Path, capsys) -> None:
    """Rich markup and emoji codes in what a user typed are printed literally."""
    capsys.readouterr()
    assert do("submission", "set", "[bold]x[/bold]:thumbs_up:", "1") == 2
    err = capsys.readouterr().err
    assert "'[bold]x[/bold]:thumbs_up:' is not a data item" in err
    assert "👍" not in err


def test_sheet_names_are_cut_at_a_word_and_unique(demo_db: str, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from pmm.framework.loader import load

    fw = load("wco-pmm-v1")
    for lang in ("en", "fr"):
        out = tmp_path / f"are-{lang}.xlsx"
        assert run(["submission", "template", "--cycle", "2024", "--member", "ARE", "-o",
                    str(out), "--lang", lang, "--as", "ncp-are", "--database-url", demo_db]) == 0
        names = load_workbook(out, read_only=True).sheetnames
        assert len({n.lower() for n in names}) == len(names)
        full = {d.code: f"{d.code} {d.name.get(lang)}" for d in fw.dimensions}
        for name in names[1:-1]:  # between Instructions and the hidden _pmm sheet
            assert len(name) <= 31
            whole = full[name.split(" ", 1)[0]]
            if name == whole:
                continue
            assert name.endswith("…"), name
            kept = name[:-1]
            # cut after a whole word: the next character of the full name is a space
            assert whole.startswith(kept) and whole[len(kept)] in " ,", (name, whole)
