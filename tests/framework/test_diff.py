"""`pmm framework diff`: additions, removals, changes, and what breaks comparability."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from pmm.cli import run
from pmm.framework.diff import diff
from pmm.framework.loader import CATALOG, load

yaml = YAML(typ="rt")
yaml.width = 4096


@pytest.fixture
def v2(tmp_path: Path) -> Path:
    """A successor of wco-pmm-v1 with known changes."""
    target = tmp_path / "v2"
    shutil.copytree(str(CATALOG / "wco-pmm-v1"), target)
    for file in sorted(target.glob("*.yaml")):
        doc = yaml.load(file)
        if not doc:
            continue
        if "framework" in doc:
            doc["framework"]["id"] = "wco-pmm-v2-draft"
            doc["framework"]["parent"] = "wco-pmm-v1"
            doc["framework"]["status"] = "draft"
        for kpi in doc.get("kpis", []) or []:
            if kpi["name"]["en"] == "Rate of electronic declarations":
                kpi["formula"] = "  100*declarations_electronic/ declarations "  # layout only
                kpi["name"]["en"] = "Rate of electronic declarations (all flows)"
            if kpi["name"]["en"] == "Effectiveness of post-clearance controls":
                kpi["direction"] = "lower" if kpi["direction"] == "higher" else "higher"
        kpis = doc.get("kpis")
        if kpis:
            removed = kpis[-1]["code"]
            del kpis[-1]
            doc.setdefault("_removed", removed)
            added = dict(kpis[0])
            added["code"] = added["code"] + "x"
            kpis.append(added)
            doc.pop("_removed")
        with file.open("w") as fh:
            yaml.dump(doc, fh)
    return target


def test_diff_identical_is_empty(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["framework", "diff", "wco-pmm-v1", "wco-pmm-v1"]) == 0
    assert "No difference" in capsys.readouterr().out


def test_diff_classifies_changes(v2: Path) -> None:
    old, new = load("wco-pmm-v1"), load(v2)
    result = diff(old, new)
    by_code = {(c.kind, c.code): c for c in result.changes}
    old_codes = {k.code for k in old.kpis}
    new_codes = {k.code for k in new.kpis}
    for code in new_codes - old_codes:
        assert by_code[("kpi", code)].change == "added"
        assert not by_code[("kpi", code)].breaking
    for code in old_codes - new_codes:
        assert by_code[("kpi", code)].change == "removed"
        assert by_code[("kpi", code)].breaking
    renamed = next(k for k in new.kpis if k.name.en.startswith("Rate of electronic"))
    change = by_code[("kpi", renamed.code)]
    assert [f.field for f in change.fields] == ["name"]  # formula layout is not a change
    assert not change.breaking
    flipped = next(k for k in new.kpis if k.name.en == "Effectiveness of post-clearance controls")
    assert by_code[("kpi", flipped.code)].reason == "direction changed"
    assert flipped.code in result.breaking_kpis()
    assert renamed.code not in result.breaking_kpis()


def test_diff_cli_formats(v2: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["framework", "diff", "wco-pmm-v1", str(v2), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["old"] == "wco-pmm-v1" and data["new"] == "wco-pmm-v2-draft"
    assert any(c["breaks_comparability"] for c in data["changes"])
    assert run(["framework", "diff", "wco-pmm-v1", str(v2), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {"kind", "code", "change", "fields", "breaks_comparability", "reason"} <= rows[0].keys()
    assert run(["framework", "diff", "wco-pmm-v1", str(v2)]) == 0
    assert "no longer comparable" in capsys.readouterr().out


def test_data_item_change_breaks_its_kpis(tmp_path: Path) -> None:
    target = tmp_path / "v3"
    shutil.copytree(str(CATALOG / "wco-pmm-v1"), target)
    for file in sorted(target.glob("*.yaml")):
        doc = yaml.load(file)
        for item in (doc or {}).get("data_items", []) or []:
            if item["code"] == "aeo_count":
                item["type"] = "number"
        if doc:
            with file.open("w") as fh:
                yaml.dump(doc, fh)
    old, new = load("wco-pmm-v1"), load(target)
    result = diff(old, new)
    users = {k.code for k in old.kpis if "aeo_count" in k.data_items}
    assert users and users <= result.breaking_kpis()


def test_diff_csv_neutralises_text_cells(v2: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Every text cell of the CSV goes through the one neutraliser (a reason or field list that
    starts with a formula trigger opens as text in a spreadsheet); booleans stay booleans."""
    from pmm.framework.diff import Diff

    real = Diff.rows

    def risky(self: Diff) -> list[dict[str, object]]:
        return [{**row, "reason": "=cmd|' /C calc'!A0", "fields": "@SUM(A1)"}
                for row in real(self)]

    monkeypatch.setattr(Diff, "rows", risky)
    assert run(["framework", "diff", "wco-pmm-v1", str(v2), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows and {r["reason"] for r in rows} == {"'=cmd|' /C calc'!A0"}
    assert {r["fields"] for r in rows} == {"'@SUM(A1)"}
    assert {r["breaks_comparability"] for r in rows} <= {"True", "False"}
