"""Validation rules and the CSV round trip, on the framework alone (no database)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmm.assessment.exchange import read_csv, render_csv
from pmm.assessment.validation import (
    VALUE_COLUMNS,
    check_plausibility,
    check_required,
    check_values,
    completeness,
)
from pmm.conventions import NUMBER, format_breakdown, parse_breakdown
from pmm.framework.loader import load
from tests.assessment.conftest import FRAMEWORK

FW = load(FRAMEWORK)


def frame(rows: list[tuple]) -> pd.DataFrame:
    out = pd.DataFrame([(*r, "reported", "")[:6] if len(r) == 4 else r for r in rows],
                       columns=VALUE_COLUMNS)
    return out.astype({"value": "float64", "year": "int64"})


def rules(issues: list) -> list[tuple[str, str]]:
    return sorted((i.rule, i.where) for i in issues)


def test_parts_wholes_and_breakdown_sums() -> None:
    v = frame([("declarations", 2024, "", 100.0), ("declarations", 2024, "flow=IM", 70.0),
               ("declarations", 2024, "flow=EX", 40.0),
               ("declarations_electronic", 2024, "", 101.0),
               ("declarations_electronic", 2024, "flow=IM", 60.0),
               ("ecommerce_shipments", 2024, "flow=EX", 41.0)])
    assert rules(check_values(FW, 2024, v)) == [
        ("part_of", "declarations_electronic[2024]"),
        ("part_of", "ecommerce_shipments[2024]{flow=EX}"),
        ("parts_sum", "declarations[2024]")]


def test_types_and_ranges() -> None:
    v = frame([("declarations", 2024, "", 1.5), ("single_window", 2024, "", 0.5),
               ("staff_trained_pct", 2024, "", 100.0), ("staff_trained_pct", 2023, "", 101),
               ("release_time_mean_h", 2024, "", -0.1), ("revenue_collected", 2024, "", 0.5)])
    found = rules(check_values(FW, 2024, v))
    assert found == [("range", "release_time_mean_h[2024]"),
                     ("range", "staff_trained_pct[2023]"),
                     ("type", "declarations[2024]"), ("type", "single_window[2024]")]


def test_required_values_and_t_minus_1() -> None:
    v = frame([("declarations", 2024, "", 10.0), ("declarations_electronic", 2024, "", 9.0),
               ("aeo_count", 2024, "", 5.0)])
    issues = check_required(FW, 2024, v, {})
    missing = {(i.kpi, i.rule) for i in issues}
    assert ("aeo_variation", "missing_prior_year") in missing
    assert ("e_decl", "missing") not in {(i.kpi, i.rule) for i in issues}
    statuses = {"aeo_variation": ("not_applicable", "public", "")}
    assert ("aeo_variation", "reason") in {(i.kpi, i.rule) for i in
                                           check_required(FW, 2024, v, statuses)}
    done = completeness(FW, 2024, v, {"release_time": ("not_available", "wco", "")})
    tf1 = done[(done.level == "outcome") & (done.code == "TF1")].iloc[0]
    assert (tf1.kpis, tf1.complete, tf1.incomplete) == (3, 1, 2)
    tf2 = done[(done.level == "outcome") & (done.code == "TF2")].iloc[0]
    assert tf2.not_available == 1


def test_plausibility_year_on_year_and_robust_outliers() -> None:
    v = frame([("aeo_count", 2024, "", 300.0), ("aeo_count", 2023, "", 100.0),
               ("staff_trained_pct", 2024, "", 90.0), ("staff_trained_pct", 2023, "", 60.0),
               ("release_time_mean_h", 2024, "", 400.0)])
    peers = pd.DataFrame({"member": [f"M{i}" for i in range(10)],
                          "data_item": "release_time_mean_h", "year": 2024, "breakdown": "",
                          "value": [10.0, 12, 11, 9, 14, 13, 10, 12, 11, 400]})
    found = {(i.rule, i.where) for i in check_plausibility(FW, 2024, v, peers)}
    assert found == {("year_on_year", "aeo_count[2024]"),
                     ("year_on_year", "staff_trained_pct[2024]"),
                     ("outlier", "release_time_mean_h[2024]")}
    quiet = frame([("release_time_mean_h", 2024, "", 11.5)])
    assert check_plausibility(FW, 2024, quiet, peers) == []
    assert check_plausibility(FW, 2024, v, peers.head(5)) != []  # too few peers: no outliers
    assert not any(i.rule == "outlier" for i in check_plausibility(FW, 2024, v, peers.head(5)))


@given(st.dictionaries(st.sampled_from(["flow", "transport_mode", "category"]),
                       st.from_regex(r"[A-Za-z0-9_]{1,5}", fullmatch=True), max_size=3))
def test_breakdown_text_round_trips(pairs: dict[str, str]) -> None:
    assert parse_breakdown(format_breakdown(pairs)) == pairs


# every text, including one that already starts with ' and a formula trigger ('=1), comes back
NOTES = st.text(st.characters(exclude_categories=("Cs",)), max_size=30) | st.from_regex(
    r"'*[=+\-@].{0,10}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(declarations=st.integers(0, 10**12), pct=st.floats(0, 100, allow_nan=False),
       hours=st.floats(0, 1e6, allow_nan=False), flag=st.booleans(), note=NOTES,
       reason=NOTES)
def test_csv_export_import_round_trips_exactly(tmp_path_factory, declarations: int, pct: float,
                                               hours: float, flag: bool, note: str,
                                               reason: str) -> None:
    values = frame([("declarations", 2024, "", float(declarations), "reported", note),
                    ("staff_trained_pct", 2024, "", pct, "reported", ""),
                    ("release_time_mean_h", 2024, "", hours, "reported", reason),
                    ("single_window", 2024, "", float(flag), "reported", ""),
                    ("aeo_count", 2023, "", float("nan"), "not_available", "")])
    kpis = {"release_time": ("not_applicable", "public", reason or "x")}
    path = tmp_path_factory.mktemp("rt") / "s.csv"
    text = render_csv(FW, 2024, values, kpis)
    for row in csv.reader(io.StringIO(text, newline="")):  # no cell a spreadsheet would run
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")) or NUMBER.match(cell), cell
    path.write_text(text, encoding="utf-8", newline="")
    parsed = read_csv(path, FW)
    assert parsed.errors == []
    got = {(c.data_item, c.year, c.breakdown): c for c in parsed.items if c.value is not None
           or c.status != "reported"}
    for r in values.itertuples(index=False):
        change = got[(r.data_item, r.year, r.breakdown)]
        assert change.status == r.status and change.note == r.note
        assert (change.value is None and pd.isna(r.value)) or change.value == r.value
    k = {c.kpi: c for c in parsed.kpis}["release_time"]
    assert (k.status, k.disclosure, k.note) == kpis["release_time"]


@pytest.mark.parametrize("text", ["flow", "flow=", "=IM", "flow=IM;flow=EX"])
def test_malformed_breakdowns(text: str) -> None:
    with pytest.raises(ValueError):
        parse_breakdown(text)


def test_unknown_and_misplaced_breakdowns() -> None:
    v = frame([("release_time_mean_h", 2024, "flow=IM", 3.0),
               ("declarations", 2024, "flow=XX", 3.0), ("declarations", 2024, "flow=IM ", 3.0),
               ("nothing", 2024, "", 1.0)])
    assert rules(check_values(FW, 2024, v)) == [
        ("breakdown", "declarations[2024]{flow=IM }"), ("breakdown", "declarations[2024]{flow=XX}"),
        ("breakdown", "release_time_mean_h[2024]{flow=IM}"), ("unknown_item", "nothing[2024]")]


def test_files_are_read_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text('kpi,data_item,year,breakdown,value,status,disclosure,note\n'
                    ',declarations,2024,,5,reported,,"two\nlines"\n'
                    ',declarations,2024,,6,reported,,\n', encoding="utf-8")
    parsed = read_csv(path, FW)
    assert parsed.errors == [f"{path}:4: declarations, year 2024, breakdown '' is already "
                             f"given at {path}:2"]
