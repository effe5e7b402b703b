"""The `pmm measure` commands end to end, as a user runs them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pmm.cli import run
from pmm.i18n import set_language
from tests.measure.conftest import YEAR


def test_generate_verify_trs_items(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "md"
    assert run(["measure", "generate", "--declarations", "400", "--year", str(YEAR), "--out",
                str(folder), "--seed", "2", "--format", "csv"]) == 0
    assert "declarations 400" in capsys.readouterr().out
    assert run(["measure", "verify", str(folder)]) == 0
    assert "0 errors" in capsys.readouterr().out
    out = tmp_path / "trs.json"
    assert run(["measure", "trs", str(folder), "--year", str(YEAR), "--by", "lane",
                "--format", "json", "--out", str(out)]) == 0
    records = json.loads(out.read_text())
    assert {r["lane"] for r in records} <= {"green", "yellow", "red", "blue"}
    assert list(records[0])[:4] == ["lane", "n", "missing", "prearrival"]
    items = tmp_path / "items.csv"
    assert run(["measure", "items", str(folder), "--year", str(YEAR), "--out", str(items)]) == 0
    assert "reported" in capsys.readouterr().out
    with items.open() as fh:
        assert next(csv.reader(fh)) == ["kpi", "data_item", "year", "breakdown", "value",
                                        "status", "disclosure", "note"]


def test_errors_are_clear(tmp_path: Path, parquet_dir: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["measure", "verify", str(tmp_path / "nope")]) == 1
    assert "no such folder" in capsys.readouterr().out
    assert run(["measure", "trs", str(parquet_dir), "--year", str(YEAR), "--format", "xml"]) == 2
    assert "--format: 'xml'" in capsys.readouterr().err
    assert run(["measure", "trs", str(parquet_dir), "--year", str(YEAR), "--engine",
                "oracle"]) == 2
    assert "not an engine" in capsys.readouterr().err
    assert run(["measure", "trs", str(parquet_dir), "--year", str(YEAR), "--within",
                "a day"]) == 2
    assert "--within: 'a day'" in capsys.readouterr().err
    assert run(["measure", "verify", str(parquet_dir), "--memory-limit", "lots"]) == 2
    assert "--memory-limit: 'lots' is not an amount of memory" in capsys.readouterr().err
    assert run(["measure", "items", str(parquet_dir), "--year", "1990", "--out",
                str(tmp_path / "none.csv")]) == 2
    err = capsys.readouterr().err
    assert "no declaration was lodged in 1990 (UTC)" in err
    assert f"were lodged from {YEAR - 1}-" in err and f" to {YEAR}-" in err
    assert not (tmp_path / "none.csv").exists()


def test_messages_in_french(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        assert run(["--lang", "fr", "measure", "verify", str(tmp_path / "nope")]) == 1
    finally:
        set_language(None)
    out = capsys.readouterr().out
    assert "dossier inexistant" in out and "erreur" in out


def test_saved_verification_is_reused_only_while_the_files_are_unchanged(
        parquet_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os
    import shutil

    import pyarrow.parquet as pq

    from pmm.measure import saved
    from pmm.measure.microdata import Microdata

    folder = tmp_path / "md"
    shutil.copytree(parquet_dir, folder)
    fresh, reused = tmp_path / "fresh.csv", tmp_path / "reused.csv"
    assert run(["measure", "items", str(folder), "--year", str(YEAR), "--out", str(fresh)]) == 0
    assert run(["measure", "verify", str(folder), "--save"]) == 0
    path = saved.path_of(folder)
    assert f"saved: {path}" in capsys.readouterr().out
    assert path.stat().st_mode & 0o777 == 0o600
    steps: list[str] = []
    with Microdata(folder, step=steps.append) as md:
        assert md.report.ok and md.report.rows["declarations"] == 3000
    assert any("using the verification saved" in s for s in steps)
    assert not any("pivoting" in s for s in steps)
    capsys.readouterr()
    assert run(["measure", "items", str(folder), "--year", str(YEAR), "--out", str(reused)]) == 0
    assert reused.read_text() == fresh.read_text()
    assert "using the verification saved on" in capsys.readouterr().err
    # A defect written after saving: the changed file is verified again and refused.
    events = next((folder / "events").glob("*.parquet"))
    t = pq.read_table(events)
    pq.write_table(t.slice(1), events)  # the first event's declaration loses a milestone
    os.utime(events, ns=(1, 1))
    steps.clear()
    with Microdata(folder, step=steps.append):
        pass
    assert any("pivoting" in s for s in steps)
    pq.write_table(t.take([0, *range(len(t))]), events)  # an event recorded twice
    assert run(["measure", "items", str(folder), "--year", str(YEAR), "--out", str(reused)]) == 2
    assert "duplicate_event" in capsys.readouterr().err
    # A failed verification with --save removes the saved copy.
    assert run(["measure", "verify", str(folder), "--save"]) == 1
    assert not path.exists()


def test_a_failed_save_still_shows_the_report(parquet_dir: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    from pmm.measure import saved

    folder = tmp_path / "md"
    shutil.copytree(parquet_dir, folder)
    (saved.path_of(folder) / "in-the-way").mkdir(parents=True)  # the name is taken
    assert run(["measure", "verify", str(folder), "--save"]) == 2
    err = capsys.readouterr().err
    assert "0 errors" in err and "cannot save the verification there" in err
    assert not list(folder.glob("*.part"))
