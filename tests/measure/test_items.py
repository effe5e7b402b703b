"""`pmm measure items`: every data item equals an independent pandas/numpy computation."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pmm.cli import run
from pmm.errors import PmmError
from pmm.framework.loader import load
from pmm.measure import items
from pmm.measure.microdata import Microdata
from tests.measure import reference
from tests.measure.conftest import YEAR

HOURS = {"release_time_mean_h", "release_time_median_h", "release_time_p90_h"}


def read_items(path: Path) -> dict[tuple[str, int, str], dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and list(rows[0]) == list(items.SUBMISSION_COLUMNS)
    out = {}
    for r in rows:
        key = (r["data_item"], int(r["year"]), r["breakdown"])
        assert key not in out, f"duplicate row {key}"
        assert r["kpi"] == "" and r["disclosure"] == ""
        out[key] = r
    return out


def assert_match(got: dict[tuple[str, int, str], dict[str, str]],
                 expected: dict[tuple[str, int, str], str | None]) -> None:
    assert set(got) == set(expected)
    for key, want in expected.items():
        row = got[key]
        if want is None:
            assert row["status"] == "not_available" and row["value"] == "", key
        elif key[0] in HOURS:
            assert row["status"] == "reported"
            assert float(row["value"]) == pytest.approx(float(want), abs=1.5e-6), key
        else:
            assert (row["status"], row["value"]) == ("reported", want), key


def test_items_equal_an_independent_computation(parquet_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "items.csv"
    assert run(["measure", "items", str(parquet_dir), "--year", str(YEAR), "--out", str(out)]) == 0
    got = read_items(out)
    assert_match(got, reference.items(parquet_dir, YEAR))
    # Both years are there (the generator writes T-1 and T), with every flow, 0 included.
    assert {k[1] for k in got} == {YEAR - 1, YEAR}
    assert got[("declarations", YEAR, "flow=TR")]["status"] == "reported"


def test_csv_with_offsets_gives_the_same_items_as_parquet(parquet_dir: Path, csv_dir: Path,
                                                          tmp_path: Path) -> None:
    """The CSV holds local times with +03:00: years are still taken in UTC."""
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run(["measure", "items", str(parquet_dir), "--year", str(YEAR), "--out", str(a)]) == 0
    assert run(["measure", "items", str(csv_dir), "--year", str(YEAR), "--out", str(b)]) == 0
    assert a.read_text() == b.read_text()


def test_every_measurable_framework_item_is_produced_and_nothing_else(parquet_dir: Path) -> None:
    framework = load("wco-pmm-v1")
    measurable = {d.code for d in framework.data_items if d.measurable}
    assert measurable == set(items.ITEM_CODES)
    with Microdata(parquet_dir) as md:
        rows = items.measure(md, YEAR)
    assert {r.data_item for r in rows} == measurable
    for r in rows:  # breakdowns use the framework's keys and values
        item = framework.data_item(r.data_item)
        for pair in filter(None, r.breakdown.split(";")):
            key, value = pair.split("=")
            assert key in item.breakdowns and value in framework.breakdown(key).values


def test_statistic_over_no_declaration_is_not_available(parquet_dir: Path,
                                                        tmp_path: Path) -> None:
    """Drop every arrival of mail (mode 5) imports: their release times are not_available,
    their counts stay reported."""
    folder = tmp_path / "md"
    shutil.copytree(parquet_dir, folder)
    decl = pq.read_table(folder / "declarations" / "part-00000.parquet")
    mail = decl.filter(pc.and_(pc.equal(decl["transport_mode"], 5), pc.equal(decl["flow"], "IM")))
    path = folder / "events" / "part-00000.parquet"
    ev = pq.read_table(path)
    drop = pc.and_(pc.is_in(ev["declaration_id"], mail["declaration_id"]),
                   pc.equal(ev["milestone"].cast("string"), "arrival"))
    pq.write_table(ev.filter(pc.invert(drop)), path)
    with Microdata(folder) as md:
        rows = {(r.data_item, r.year, r.breakdown): r for r in items.measure(md, YEAR)}
    for code in HOURS:
        row = rows[(code, YEAR, "transport_mode=5")]
        assert (row.status, row.value) == ("not_available", "")
        assert "lack one" in row.note
        assert rows[(code, YEAR, "")].status == "reported"
    assert int(rows[("declarations", YEAR, "flow=IM")].value) > 0


def test_missing_optional_tables_give_not_available_rows(parquet_dir: Path,
                                                         tmp_path: Path) -> None:
    folder = tmp_path / "md"
    shutil.copytree(parquet_dir, folder)
    for name in ("controls", "seizures", "aeo"):
        shutil.rmtree(folder / name)
    with Microdata(folder) as md:
        rows = items.measure(md, YEAR)
    na = {r.data_item for r in rows if r.status == "not_available"}
    assert na == {"physical_controls", "physical_controls_with_findings", "pca_audits",
                  "pca_audits_with_findings", "pca_additional_revenue", "seizures",
                  "trade_value_aeo", "aeo_count"}
    assert all(r.note for r in rows if r.status == "not_available")


def test_a_year_without_declarations_is_refused(parquet_dir: Path, tmp_path: Path) -> None:
    with Microdata(parquet_dir) as md, pytest.raises(PmmError, match="no declaration was lodged"):
        items.measure(md, 2030)


def test_only_year_t_when_the_extract_does_not_reach_back(parquet_dir: Path) -> None:
    with Microdata(parquet_dir) as md:
        rows = items.measure(md, YEAR - 1)  # T-1 = 2022 is not in the extract
    assert {r.year for r in rows} == {YEAR - 1}


def test_the_file_imports_into_a_submission(parquet_dir: Path, tmp_path: Path,
                                            make_database, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:  # type: ignore[no-untyped-def]
    from pmm.store.engine import transaction
    from pmm.store.users import add_user, hash_password

    url = make_database("sqlite")
    monkeypatch.setenv("PMM_DATABASE_URL", url)
    with transaction(url) as session:
        add_user(session, "sec", "secretariat", password_hash=hash_password("x" * 12))
        add_user(session, "ncp", "ncp", member="FRA", password_hash=hash_password("x" * 12))
    assert run(["cycle", "create", str(YEAR), "--framework", "wco-pmm-v1", "--opens",
                "2025-01-01", "--closes", "2099-12-31", "--as", "sec"]) == 0
    assert run(["cycle", "open", str(YEAR), "--as", "sec"]) == 0
    out = tmp_path / "items.csv"
    assert run(["measure", "items", str(parquet_dir), "--year", str(YEAR), "--out", str(out)]) == 0
    assert run(["submission", "import", str(out), "--cycle", str(YEAR), "--member", "FRA",
                "--as", "ncp"]) == 0
    exported = tmp_path / "export.csv"
    assert run(["submission", "export", "--cycle", str(YEAR), "--member", "FRA", "-o",
                str(exported), "--as", "ncp"]) == 0
    text = exported.read_text()
    got = read_items(out)
    value = got[("declarations", YEAR, "flow=IM")]["value"]
    assert f",declarations,{YEAR},flow=IM,{value}," in text


def test_written_items_round_trip_text_that_looks_like_a_formula(tmp_path: Path) -> None:
    """The items CSV neutralises notes and breakdowns as every export does: a note that already
    starts with ' and a formula trigger keeps its quote through export → import."""
    from pmm.conventions import restore

    notes = ["'=1+1", "=1+1", "+x", "-x", "@x", "''@x", "plain"]
    rows = [items.ItemRow("seizures", YEAR, "", "", "not_available", note) for note in notes]
    out = tmp_path / "items.csv"
    items.write_csv(rows, out)
    with out.open(encoding="utf-8", newline="") as fh:
        written = [r["note"] for r in csv.DictReader(fh)]
    assert not any(w.startswith(("=", "+", "-", "@")) for w in written)
    assert [restore(w) for w in written] == notes
