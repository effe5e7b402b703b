"""Extracts as real systems write them: overlapping AEO authorisations of one trader, and Parquet
files whose dates and timestamps are ISO 8601 strings."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pmm.cli import run
from tests.measure import reference
from tests.measure.conftest import YEAR
from tests.measure.test_items import assert_match, read_items


def part(folder: Path, table: str) -> Path:
    return next((folder / table).iterdir())


def with_second_authorisations(folder: Path) -> tuple[int, int]:
    """Give every AEO trader a second authorisation overlapping the first (as the EU's AEOC and
    AEOS are), starting 400 days earlier; half of them a third one, identical to the first.
    Returns (register rows before, after)."""
    path = part(folder, "aeo")
    t = pq.read_table(path)
    earlier = pa.array([d - dt.timedelta(days=400) for d in t["valid_from"].to_pylist()],
                       pa.date32())
    second = t.set_column(t.schema.get_field_index("valid_from"), "valid_from", earlier)
    third = t.slice(0, len(t) // 2)
    pq.write_table(pa.concat_tables([t, second, third]), path)
    return len(t), len(t) * 2 + len(t) // 2


def test_overlapping_authorisations_are_measured_each_trader_once(
        parquet_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "md"
    shutil.copytree(parquet_dir, folder)
    before, after = with_second_authorisations(folder)
    assert run(["measure", "verify", str(folder)]) == 0
    assert "0 errors" in capsys.readouterr().out
    out = tmp_path / "items.csv"
    assert run(["measure", "items", str(folder), "--year", str(YEAR), "--out", str(out)]) == 0
    got = read_items(out)
    expected = reference.items(folder, YEAR)  # distinct traders; a declaration counted once
    assert_match(got, expected)
    # The register has more rows than traders, and more AEO trade than before the earlier
    # starts (declarations of the 400 days before are now AEO trade), never counted twice.
    register = pq.read_table(part(folder, "aeo"))
    assert register.num_rows == after > before
    assert int(got[("aeo_count", YEAR, "")]["value"]) == len(
        set(register["trader_id"].to_pylist()))
    plain = reference.items(parquet_dir, YEAR)
    total = ("trade_value_aeo", YEAR - 1, "")
    assert float(got[total]["value"]) > float(plain[total])
    assert float(got[total]["value"]) <= float(got[("trade_value", YEAR - 1, "")]["value"])


def test_trs_by_aeo_counts_each_declaration_once(parquet_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "md"
    shutil.copytree(parquet_dir, folder)
    with_second_authorisations(folder)
    assert run(["measure", "trs", str(folder), "--year", str(YEAR), "--by", "aeo"]) == 0
    rows = [line.split(",") for line in capsys.readouterr().out.splitlines()[1:]]
    assert run(["measure", "trs", str(folder), "--year", str(YEAR)]) == 0
    total = capsys.readouterr().out.splitlines()[1].split(",")
    # n and missing of the aeo groups add up to the total: no declaration is in two groups
    assert sum(int(r[1]) for r in rows) == int(total[0])
    assert sum(int(r[2]) for r in rows) == int(total[1])


# -- Parquet with ISO 8601 strings -----------------------------------------------------------------

def as_strings(folder: Path) -> dict[str, Path]:
    """Rewrite the events' timestamps (local time, +03:00), the register's and the seizures'
    dates as ISO 8601 strings; an open AEO end is an empty string in half the rows."""
    paths = {}
    for table, columns in (("events", ["ts"]), ("aeo", ["valid_from", "valid_to"]),
                           ("seizures", ["date"])):
        for path in sorted((folder / table).iterdir()):
            t = pq.read_table(path)
            for name in columns:
                values = t[name].to_pylist()
                if name == "ts":
                    zone = dt.timezone(dt.timedelta(hours=3))
                    text = [v.astimezone(zone).isoformat() for v in values]
                else:
                    text = [v.isoformat() if v is not None else ("" if i % 2 else None)
                            for i, v in enumerate(values)]
                t = t.set_column(t.schema.get_field_index(name), name, pa.array(text, pa.string()))
            pq.write_table(t, path)
            paths.setdefault(table, path)
    return paths


def test_parquet_with_iso_strings_gives_the_same_items_as_typed(parquet_dir: Path,
                                                                tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]
                                                                ) -> None:
    folder = tmp_path / "md"
    shutil.copytree(parquet_dir, folder)
    as_strings(folder)
    assert pq.read_schema(part(folder, "events")).field("ts").type == pa.string()
    assert run(["measure", "verify", str(folder)]) == 0
    assert "0 errors" in capsys.readouterr().out
    a, b = tmp_path / "typed.csv", tmp_path / "strings.csv"
    assert run(["measure", "items", str(parquet_dir), "--year", str(YEAR), "--out", str(a)]) == 0
    assert run(["measure", "items", str(folder), "--year", str(YEAR), "--out", str(b)]) == 0
    assert a.read_text() == b.read_text()


def set_string(path: Path, column: str, row: int, value: str) -> None:
    t = pq.read_table(path)
    values = t[column].to_pylist()
    values[row] = value
    t = t.set_column(t.schema.get_field_index(column), column, pa.array(values, pa.string()))
    pq.write_table(t, path)


def test_bad_iso_strings_in_parquet_are_named_like_csv_cells(parquet_dir: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    folder = tmp_path / "md"
    shutil.copytree(parquet_dir, folder)
    paths = as_strings(folder)
    set_string(paths["events"], "ts", 9, "2024-13-45T08:00:00+03:00")
    set_string(paths["events"], "ts", 19, "2024-03-01T08:00:00")
    set_string(paths["seizures"], "date", 0, "31/12/2024")
    set_string(paths["aeo"], "valid_from", 2, "yesterday")
    assert run(["measure", "verify", str(folder)]) == 1
    out = capsys.readouterr().out
    e, s, a = paths["events"], paths["seizures"], paths["aeo"]
    assert (f"{e}:row 10: column 'ts' = '2024-13-45T08:00:00+03:00'; expected an ISO 8601 "
            "timestamp with a UTC offset") in out, out
    assert f"{e}:row 20: column 'ts' = '2024-03-01T08:00:00' has no UTC offset" in out
    assert f"{s}:row 1: column 'date' = '31/12/2024'; expected an ISO 8601 date" in out
    assert f"{a}:row 3: column 'valid_from' = 'yesterday'; expected an ISO 8601 date" in out
    # and nothing is measured from it
    target = tmp_path / "items.csv"
    assert run(["measure", "items", str(folder), "--year", str(YEAR), "--out",
                str(target)]) != 0
    assert not target.exists()
