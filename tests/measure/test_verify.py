"""`pmm measure verify`: each seeded defect is found with its file, row and column, and the other
commands refuse the folder with the same messages."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pmm.cli import run
from pmm.measure.generate import generate
from pmm.measure.verify import KINDS, verify

Rows = list[dict[str, str]]


@pytest.fixture(scope="module")
def clean_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "csv"
    generate(300, 2024, out, seed=5, fmt="csv")
    return out


@pytest.fixture(scope="module")
def clean_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "parquet"
    generate(300, 2024, out, seed=5)
    return out


def part(folder: Path, table: str) -> Path:
    return next((folder / table).iterdir())


def edit(folder: Path, table: str, change: Callable[[Rows, list[str]], object]) -> Path:
    """Rewrite one CSV table after `change(rows, header)` edited it in place."""
    path = part(folder, table)
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = list(reader.fieldnames or []), list(reader)
    change(rows, header)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


def index(rows: Rows, **match: str) -> int:
    return next(i for i, r in enumerate(rows) if all(r[k] == v for k, v in match.items()))


def an_import(folder: Path) -> str:
    """An import declaration with arrival and release events."""
    with part(folder, "events").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by: dict[str, set[str]] = {}
    for r in rows:
        by.setdefault(r["declaration_id"], set()).add(r["milestone"])
    return next(d for d, ms in sorted(by.items()) if {"arrival", "release", "exit"} <= ms)


def verify_lines(folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = run(["measure", "verify", str(folder)])
    return rc, capsys.readouterr().out


# Each case edits a clean CSV folder and returns (kind, a text that must appear in the report).
def missing_column(f: Path) -> tuple[str, str]:
    p = edit(f, "declarations", lambda rows, header: header.remove("lane"))
    return "missing_column", f"{p}:1: no column 'lane'"


def bad_type_int(f: Path) -> tuple[str, str]:
    p = edit(f, "declarations", lambda rows, h: rows[4].update(transport_mode="sea"))
    return "bad_type", f"{p}:6: column 'transport_mode' = 'sea'; expected an integer from 0 to 9"


def bad_type_decimal(f: Path) -> tuple[str, str]:
    p = edit(f, "declarations", lambda rows, h: rows[7].update(customs_value="12,50"))
    return "bad_type", f"{p}:9: column 'customs_value' = '12,50'; expected a non-negative decimal"


def bad_value(f: Path) -> tuple[str, str]:
    p = edit(f, "declarations", lambda rows, h: rows[2].update(flow="XX"))
    return "bad_value", f"{p}:4: column 'flow' = 'XX'; expected one of IM, EX, TR"


def null_value(f: Path) -> tuple[str, str]:
    p = edit(f, "declarations", lambda rows, h: rows[10].update(office_code=""))
    return "null_value", f"{p}:12: column 'office_code' is empty"


def timezone(f: Path) -> tuple[str, str]:
    seen: dict[str, str] = {}

    def change(rows: Rows, h: list[str]) -> None:
        seen["ts"] = rows[20]["ts"][:19]
        rows[20]["ts"] = seen["ts"]

    p = edit(f, "events", change)
    return "timezone", f"{p}:22: column 'ts' = '{seen['ts']}' has no UTC offset"


def duplicate_id(f: Path) -> tuple[str, str]:
    p = edit(f, "declarations", lambda rows, h: rows.append(dict(rows[3])))
    return "duplicate_id", (f"{p}:302: column 'declaration_id' = 'D0000000004' appears more "
                            "than once")


def duplicate_event(f: Path) -> tuple[str, str]:
    decl = an_import(f)
    seen = {}

    def change(rows: Rows, h: list[str]) -> None:
        i = index(rows, declaration_id=decl, milestone="release")
        rows.append(dict(rows[i]))
        seen["line"] = len(rows) + 1

    p = edit(f, "events", change)
    return "duplicate_event", (f"{p}:{seen['line']}: milestone 'release' of declaration '{decl}' "
                               "is recorded more than once")


def orphan_event(f: Path) -> tuple[str, str]:
    p = edit(f, "events", lambda rows, h: rows[30].update(declaration_id="D9999999999"))
    return "orphan_event", f"{p}:32: column 'declaration_id' = 'D9999999999' has no row in"


def missing_lodgement(f: Path) -> tuple[str, str]:
    decl = an_import(f)
    edit(f, "events", lambda rows, h: rows.pop(index(rows, declaration_id=decl,
                                                     milestone="lodgement")))
    line = int(decl[1:]) + 1  # declarations are written in id order
    return "missing_lodgement", (f"{part(f, 'declarations')}:{line}: declaration '{decl}' has no "
                                 "lodgement event")


def impossible_order(f: Path) -> tuple[str, str]:
    decl = an_import(f)
    seen = {}

    def change(rows: Rows, h: list[str]) -> None:
        lodged = rows[index(rows, declaration_id=decl, milestone="lodgement")]["ts"]
        i = index(rows, declaration_id=decl, milestone="release")
        rows[i]["ts"] = "2001-01-01T00:00:00+03:00"
        seen["line"], seen["lodged"] = i + 2, lodged
        rows[index(rows, declaration_id=decl, milestone="exit")]["ts"] = "2001-01-02T00:00:00Z"
        rows[index(rows, declaration_id=decl, milestone="registration")]["ts"] = lodged

    p = edit(f, "events", change)
    return "impossible_order", (f"{p}:{seen['line']}: column 'ts' = '2001-01-01T00:00:00+03:00': "
                                f"release of declaration '{decl}' is before its lodgement")


def negative_interval_events(f: Path) -> tuple[str, str]:
    """Exit before arrival (but after release): goods cannot leave before they arrive."""
    decl = an_import(f)
    seen = {}

    def change(rows: Rows, h: list[str]) -> None:
        for m in ("arrival",):
            i = index(rows, declaration_id=decl, milestone=m)
            rows[i]["ts"] = "2030-01-01T00:00:00+00:00"
        i = index(rows, declaration_id=decl, milestone="exit")
        seen["line"] = i + 2

    p = edit(f, "events", change)
    return "negative_interval", f"{p}:{seen['line']}: column 'ts' = "


def negative_interval_aeo(f: Path) -> tuple[str, str]:
    p = edit(f, "aeo", lambda rows, h: rows[0].update(valid_to="2001-01-01"))
    return "negative_interval", f"{p}:2: column 'valid_to' = '2001-01-01' is before valid_from"


def bad_date(f: Path) -> tuple[str, str]:
    p = edit(f, "seizures", lambda rows, h: rows[0].update(date="31/12/2024"))
    return "bad_type", f"{p}:2: column 'date' = '31/12/2024'; expected an ISO 8601 date"


def missing_table(f: Path) -> tuple[str, str]:
    shutil.rmtree(f / "events")
    return "missing_table", f"{f}: no events.parquet, events.csv or events/ folder"


def unreadable_csv(f: Path) -> tuple[str, str]:
    p = part(f, "controls")
    p.write_bytes(b"control_id,declaration_id\n\xff\xfe,\x00\n")
    return "unreadable_file", f"{p}"


CASES = [missing_column, bad_type_int, bad_type_decimal, bad_value, null_value, timezone,
         duplicate_id, duplicate_event, orphan_event, missing_lodgement, impossible_order,
         negative_interval_events, negative_interval_aeo, bad_date,
         missing_table, unreadable_csv]


@pytest.mark.parametrize("seed", CASES, ids=lambda c: c.__name__)
def test_verify_names_each_seeded_defect(seed: Callable[[Path], tuple[str, str]], clean_csv: Path,
                                         tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    folder = tmp_path / "md"
    shutil.copytree(clean_csv, folder)
    kind, expected = seed(folder)
    rc, out = verify_lines(folder, capsys)
    assert rc == 1
    assert f"error: {kind}: " in out
    assert expected in out, out
    report = verify(folder)
    assert kind in {f.kind for f in report.errors}


@pytest.mark.parametrize("seed", [bad_value, timezone, orphan_event, impossible_order,
                                  negative_interval_aeo], ids=lambda c: c.__name__)
def test_trs_and_items_refuse_with_the_same_messages(
        seed: Callable[[Path], tuple[str, str]], clean_csv: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "md"
    shutil.copytree(clean_csv, folder)
    _kind, expected = seed(folder)
    _rc, verified = verify_lines(folder, capsys)
    error_lines, keep = [], False
    for line in verified.splitlines():
        if not line.startswith("  "):
            keep = line.startswith("error")
        if keep:
            error_lines.append(line)
    out = tmp_path / "items.csv"
    for argv in (["items", str(folder), "--year", "2024", "--out", str(out)],
                 ["trs", str(folder), "--year", "2024"]):
        assert run(["measure", *argv]) != 0
        captured = capsys.readouterr()
        assert "fail verification; nothing was computed" in captured.err
        for line in error_lines:
            assert line in captured.err
        assert expected in captured.err
    assert not out.exists()


def test_clean_folder_passes_with_warnings_only(clean_csv: Path, clean_parquet: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    for folder in (clean_csv, clean_parquet):
        rc, out = verify_lines(folder, capsys)
        assert rc == 0
        assert "0 errors" in out and "declarations 300" in out
        assert "error:" not in out


def test_long_interval_is_a_warning_not_an_error(clean_csv: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "md"
    shutil.copytree(clean_csv, folder)
    decl = an_import(folder)
    edit(folder, "events", lambda rows, h: rows[index(rows, declaration_id=decl,
                                                      milestone="exit")].update(
        ts="2031-06-01T00:00:00+00:00"))
    rc, out = verify_lines(folder, capsys)
    assert rc == 0
    assert "warning: implausible_interval: 1" in out
    assert f"declaration '{decl}' spans more than 180 days" in out


# -- Parquet: locations are FILE:row N (1-based) ---------------------------------------------------

def rewrite(folder: Path, table: str, change: Callable[[pa.Table], pa.Table]) -> Path:
    path = part(folder, table)
    pq.write_table(change(pq.read_table(path)), path)
    return path


def set_cell(t: pa.Table, column: str, row: int, value: object) -> pa.Table:
    values = t[column].to_pylist()
    values[row] = value
    i = t.schema.get_field_index(column)
    return t.set_column(i, t.schema.field(i), pa.array(values, t.schema.field(i).type))


def test_parquet_defects_are_located_by_row(clean_parquet: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "md"
    shutil.copytree(clean_parquet, folder)
    d = rewrite(folder, "declarations",
                lambda t: set_cell(set_cell(t, "flow", 9, "XX"), "office_code", 19, None))
    rc, out = verify_lines(folder, capsys)
    assert rc == 1
    assert f"{d}:row 10: column 'flow' = 'XX'; expected one of IM, EX, TR" in out
    assert f"{d}:row 20: column 'office_code' is empty" in out


def test_parquet_duplicate_declaration_ids_are_counted_exactly(
        clean_parquet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Repeated ids are found whether or not the id has events (two paths in the verifier)."""
    folder = tmp_path / "md"
    shutil.copytree(clean_parquet, folder)
    d = rewrite(folder, "declarations", lambda t: pa.concat_tables(
        [t, t.slice(5, 1), set_cell(t.slice(7, 2), "declaration_id", 1, "NO-EVENTS")
         .slice(1, 1), set_cell(t.slice(7, 2), "declaration_id", 1, "NO-EVENTS").slice(1, 1)]))
    n = pq.read_metadata(d).num_rows
    rc, out = verify_lines(folder, capsys)
    assert rc == 1
    assert "error: duplicate_id: 2 " in out, out
    assert f"{d}:row 6: column 'declaration_id' = " in out
    assert f"{d}:row {n - 1}: column 'declaration_id' = 'NO-EVENTS' appears more than once" in out


def test_a_milestone_recorded_32_times_is_a_duplicate(clean_parquet: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    """32 rows of one milestone overflow its packed count; they are still found and named."""
    folder = tmp_path / "md"
    shutil.copytree(clean_parquet, folder)
    t = pq.read_table(part(folder, "events"))
    exits = [i for i, m in enumerate(t["milestone"].to_pylist()) if m == "exit"]
    decl = t["declaration_id"][exits[0]].as_py()
    e = rewrite(folder, "events", lambda t: pa.concat_tables([t] + [t.slice(exits[0], 1)] * 31))
    rc, out = verify_lines(folder, capsys)
    assert rc == 1
    assert "error: duplicate_event: 1 " in out, out
    assert f"{e}:row {len(t) + 1}: milestone 'exit' of declaration '{decl}'" in out


def test_parquet_naive_timestamps_are_a_time_zone_error(clean_parquet: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    folder = tmp_path / "md"
    shutil.copytree(clean_parquet, folder)
    e = rewrite(folder, "events", lambda t: t.set_column(
        2, "ts", pc.cast(t["ts"].cast(pa.int64()), pa.timestamp("us"))))
    rc, out = verify_lines(folder, capsys)
    assert rc == 1
    assert f"{e}: column 'ts' is timestamp[us], a timestamp without time zone" in out


def test_parquet_missing_column_and_unreadable_file(clean_parquet: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "md"
    shutil.copytree(clean_parquet, folder)
    d = rewrite(folder, "declarations", lambda t: t.drop_columns(["ecommerce"]))
    s = part(folder, "seizures")
    s.write_bytes(b"not parquet at all")
    rc, out = verify_lines(folder, capsys)
    assert rc == 1
    assert f"{d}: no column 'ecommerce'" in out
    assert f"{s}: not a readable Parquet file" in out


def test_every_error_kind_is_seeded_somewhere() -> None:
    seeded = {"missing_column", "bad_type", "bad_value", "null_value", "timezone",
              "duplicate_id", "duplicate_event", "orphan_event", "missing_lodgement",
              "impossible_order", "negative_interval", "missing_table",
              "unreadable_file"}
    assert seeded == {k for k, (sev, _t) in KINDS.items() if sev == "error"}
