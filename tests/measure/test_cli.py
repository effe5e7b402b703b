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


def test_messages_in_french(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        assert run(["--lang", "fr", "measure", "verify", str(tmp_path / "nope")]) == 1
    finally:
        set_language(None)
    out = capsys.readouterr().out
    assert "dossier inexistant" in out and "erreur" in out
