"""Time Release Study: figures equal numpy over the generated files; exact quantile SQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import ibis
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmm.cli import run
from pmm.errors import PmmError
from pmm.measure import queries as Q
from pmm.measure import trs
from pmm.measure.engine import DuckDBEngine, compile_sql
from tests.measure import reference
from tests.measure.conftest import YEAR

STATS = ("mean_h", "median_h", "p75_h", "p90_h", "p95_h")


def trs_csv(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    assert run(["measure", "trs", *argv]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def scoped(folder: Path, year: int = YEAR):
    d = reference.declarations(folder)
    return d[(d.flow == "IM") & (d["release"].dt.year == year)].copy()


def check_row(row: dict[str, str], expected: dict, within: list[float]) -> None:
    assert int(row["n"]) == expected["n"]
    assert int(row["missing"]) == expected["missing"]
    assert int(row["prearrival"]) == expected["prearrival"]
    for key in STATS:
        if expected[key] is None:
            assert row[key] == "not_available"
        else:
            assert float(row[key]) == pytest.approx(expected[key], abs=1.5e-6), key
    for x in within:
        name = f"within_{int(x) if float(x).is_integer() else x}h"
        want = expected[f"within_{x}"]
        if want is None:
            assert row[name] == "not_available"
        else:
            assert float(row[name]) == pytest.approx(want, abs=1e-6)


def test_trs_by_mode_and_aeo_equals_numpy(parquet_dir: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    rows = trs_csv([str(parquet_dir), "--year", str(YEAR), "--by", "transport_mode,aeo",
                    "--within", "6,24,48"], capsys)
    d = scoped(parquet_dir)
    h = reference.hours(d, "arrival", "release")
    groups = d.groupby(["transport_mode", "aeo"]).groups
    assert [(int(r["transport_mode"]), r["aeo"]) for r in rows] == [
        (m, "true" if a else "false") for m, a in sorted(groups)]
    for row in rows:
        key = (int(row["transport_mode"]), row["aeo"] == "true")
        check_row(row, reference.trs_stats(h.loc[groups[key]], [6, 24, 48]), [6, 24, 48])
    assert sum(int(r["prearrival"]) for r in rows) > 0  # pre-arrival releases occur and count


def test_trs_total_other_milestones_and_json(parquet_dir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    rows = trs_csv([str(parquet_dir), "--year", str(YEAR), "--from", "lodgement", "--to", "exit",
                    "--within", "12.5"], capsys)
    d = scoped(parquet_dir)
    assert len(rows) == 1
    check_row(rows[0], reference.trs_stats(reference.hours(d, "lodgement", "exit"), [12.5]),
              [12.5])
    assert run(["measure", "trs", str(parquet_dir), "--year", str(YEAR), "--format", "json",
                "--by", "lane"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["lane"] for r in records] == sorted(d.lane.unique())
    assert all(isinstance(r["n"], int) for r in records)


def test_prearrival_key_and_booleans(parquet_dir: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    rows = trs_csv([str(parquet_dir), "--year", str(YEAR), "--by", "prearrival"], capsys)
    d = scoped(parquet_dir)
    pre = d.lodgement < d.arrival
    assert [r["prearrival_lodgement"] for r in rows] == ["false", "true", ""]
    h = reference.hours(d, "arrival", "release")
    by = {"true": pre & d.arrival.notna(), "false": ~pre & d.arrival.notna(),
          "": d.arrival.isna()}
    for row in rows:
        check_row(row, reference.trs_stats(h[by[row["prearrival_lodgement"]]], [24, 48]),
                  [24, 48])
    # Declarations without arrival: counted as missing, statistics not available.
    assert rows[2]["n"] == "0" and rows[2]["mean_h"] == "not_available"


def test_segments_rank_bottlenecks(parquet_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = trs_csv([str(parquet_dir), "--year", str(YEAR), "--segments"], capsys)
    d = scoped(parquet_dir)
    medians = {}
    for a, b in trs.SEGMENTS:
        row = next(r for r in rows if r["segment"] == f"{a}->{b}")
        expected = reference.trs_stats(reference.hours(d, a, b), [24, 48])
        check_row(row, expected, [24, 48])
        medians[row["segment"]] = expected["median_h"]
    ranked = sorted(medians, key=lambda s: -medians[s])
    assert [r["segment"] for r in rows] == ranked
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5"]


def test_bad_options_are_refused() -> None:
    with pytest.raises(PmmError, match="--by: 'colour'"):
        trs.Study(YEAR, by=("colour",))
    with pytest.raises(PmmError, match="--from: 'payment' is not a timed milestone"):
        trs.Study(YEAR, start="payment")
    with pytest.raises(PmmError, match="--within"):
        trs.Study(YEAR, within=(-1.0,))


def test_quantiles_compile_to_exact_functions() -> None:
    f = ibis.table({"arrival": "int64", "release": "int64"}, name="facts")
    expr = f.aggregate(**Q.interval_stats(Q.hours(f, "arrival", "release"), [24.0]))
    duck = compile_sql(expr, "duckdb").lower()
    spark = compile_sql(expr, "spark").lower()
    assert "quantile_cont(" in duck and "[0.5, 0.75, 0.9, 0.95]" in duck
    assert "percentile(" in spark and "percentile_approx" not in spark
    assert "approx" not in duck


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-50 * 3_600_000_000, 900 * 3_600_000_000)),
                min_size=0, max_size=60),
       st.floats(0.5, 200, allow_nan=False))
def test_interval_statistics_equal_numpy(intervals: list[int | None], within: float) -> None:
    """Any mix of negative, missing and positive intervals (µs) gives numpy's figures."""
    engine = DuckDBEngine(memory_limit="1GB")
    try:
        engine.con.execute("CREATE TABLE facts (arrival BIGINT, release BIGINT)")
        base = 1_700_000_000_000_000  # microseconds since the epoch, as the engines hold them
        rows = [(base, None if us is None else base + us) for us in intervals]
        if rows:
            engine.con.executemany("INSERT INTO facts VALUES (?, ?)", rows)
        f = ibis.table({"arrival": "int64", "release": "int64"}, name="facts")
        expr = f.aggregate(total=f.count(),
                           **Q.interval_stats(Q.hours(f, "arrival", "release"), [within]))
        got = engine.execute(expr).to_pylist()[0]
    finally:
        engine.close()
    h = np.array([us / 3_600_000_000 for us in intervals if us is not None], dtype=float)
    assert got["n"] == len(h) and got["total"] == len(intervals)
    assert int(got["negative"] or 0) == int((h < 0).sum())
    if not len(h):
        assert got["mean_h"] is None and got["quantiles"] is None
        return
    c = np.where(h < 0, 0, h)
    assert got["mean_h"] == pytest.approx(c.mean(), rel=1e-9, abs=1e-9)
    assert got["quantiles"] == pytest.approx(list(np.quantile(c, Q.QUANTILES)), rel=1e-9,
                                             abs=1e-9)
    assert int(got["within_0"]) == int((c <= within).sum())


def test_csv_neutralises_an_office_code_that_is_a_formula(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    """Office codes come from the extract: one that a spreadsheet would run is neutralised."""
    from pmm.measure.generate import generate

    folder = tmp_path / "md"
    generate(200, 2024, folder, seed=3, fmt="csv")
    part = next((folder / "declarations").glob("*.csv"))
    text = part.read_text(encoding="utf-8")
    codes = sorted({row["office_code"] for row in csv.DictReader(io.StringIO(text))})
    evil = {codes[0]: '=HYPERLINK("http://x")', codes[1]: "@SUM(A1)", codes[2]: "-2+3"}
    for code, bad in evil.items():
        text = text.replace(f'"{code}"', '"' + bad.replace('"', '""') + '"')
    part.write_text(text, encoding="utf-8")
    assert run(["measure", "trs", str(folder), "--year", "2024", "--by", "office_code",
                "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    offices = {r["office_code"] for r in rows}
    assert {"'" + bad for bad in evil.values()} <= offices
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())


def test_a_year_without_releases_is_refused_naming_the_dates_covered(
        parquet_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for extra in ([], ["--segments"], ["--by", "transport_mode"]):
        assert run(["measure", "trs", str(parquet_dir), "--year", "1999", *extra]) != 0
        captured = capsys.readouterr()
        assert captured.out == ""
        assert (f"{parquet_dir}: no import declaration was released in 1999 (UTC); the "
                "extract's import declarations were released from 2023-") in captured.err
        assert "(declarations lodged from 2023-" in captured.err
