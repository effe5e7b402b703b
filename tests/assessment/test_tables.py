"""`cycle_tables`: a cycle's current data as tidy DataFrames for scoring and analysis."""

from __future__ import annotations

from pathlib import Path

from pmm.assessment import cycle_tables
from pmm.cli import run
from tests.assessment.conftest import COMPLETE, write_csv


def test_cycle_tables_hold_current_revision_kpi_defaults_and_states(db: str,
                                                                   tmp_path: Path) -> None:
    fra = write_csv(tmp_path / "fra.csv", COMPLETE,
                    ["release_time,,,,,not_applicable,public,No land border"])
    assert run(["submission", "import", str(fra), "--cycle", "2024", "--member", "FRA",
                "--as", "ncp-fra"]) == 0
    deu = write_csv(tmp_path / "deu.csv", {("declarations", 2024, ""): "5000",
                                           ("single_window", 2024, ""): "false"})
    assert run(["submission", "import", str(deu), "--cycle", "2024", "--member", "DEU",
                "--as", "ncp-deu"]) == 0
    assert run(["submission", "submit", "--cycle", "2024", "--member", "FRA",
                "--as", "ncp-fra"]) == 0
    tables = cycle_tables(2024, db)
    v = tables.values
    assert list(v.columns) == ["member", "data_item", "year", "breakdown", "value", "status"]
    assert len(v) == len(COMPLETE) + 2
    assert v.loc[(v.member == "FRA") & (v.data_item == "declarations")
                 & (v.breakdown == "flow=IM"), "value"].item() == 600.0
    assert v.loc[(v.member == "DEU") & (v.data_item == "single_window"), "value"].item() == 0.0
    assert set(v.year) == {2023, 2024}
    k = tables.kpis
    assert list(k.columns) == ["member", "kpi", "status", "disclosure", "note"]
    assert len(k) == 2 * 7
    row = k[(k.member == "FRA") & (k.kpi == "release_time")].iloc[0]
    assert (row.status, row.disclosure, row.note) == ("not_applicable", "public",
                                                      "No land border")
    default = k[(k.member == "DEU") & (k.kpi == "release_time")].iloc[0]
    assert (default.status, default.disclosure) == ("reported", "restricted")
    s = tables.submissions.set_index("member")["state"].to_dict()
    assert s == {"DEU": "draft", "FRA": "submitted"}
