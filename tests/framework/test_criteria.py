"""`pmm framework validate`: the shipped catalogue passes; broken copies fail with one line each."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from pmm.cli import run
from pmm.framework.criteria import validate
from pmm.framework.loader import CATALOG

yaml = YAML(typ="rt")
yaml.width = 4096


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    """A writable copy of the shipped catalogue."""
    target = tmp_path / "copy"
    shutil.copytree(str(CATALOG / "wco-pmm-v1"), target)
    return target


def edit(folder: Path, section: str, code: str | None, change: Callable[[dict], None]) -> Path:
    """Apply `change` to the item `code` of `section` (or to the whole section list if code is
    None) where it is defined, and save that file. Returns the file changed."""
    for file in sorted(folder.glob("*.yaml")):
        doc = yaml.load(file)
        if not doc or section not in doc:
            continue
        items = doc[section]
        if code is None:
            change(items)
        else:
            found = [i for i in items if i.get("code", i.get("key")) == code]
            if not found:
                continue
            change(found[0])
        with file.open("w") as fh:
            yaml.dump(doc, fh)
        return file
    raise AssertionError(f"{section} {code} not found")


def first(folder: Path, section: str, where: Callable[[dict], bool] = lambda i: True) -> dict:
    for file in sorted(folder.glob("*.yaml")):
        doc = yaml.load(file)
        for item in (doc or {}).get(section, []) or []:
            if where(item):
                return item
    raise AssertionError(f"no {section} item matches")


def test_shipped_catalogue_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["framework", "validate"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"wco-pmm-v1: OK: 0 errors", out)


def test_shipped_catalogue_has_no_error_findings() -> None:
    _, findings = validate("wco-pmm-v1")
    assert [str(f) for f in findings if f.severity == "error"] == []


def _variation_kpi(item: dict) -> bool:
    return "[T-1]" in item["formula"]


def _plain_kpi(item: dict) -> bool:
    return "[T-1]" not in item["formula"] and "{" not in item["formula"]


# (name, section, item selector, mutation, expected phrase in the defect line)
DEFECTS: list[tuple[str, str, Callable[[dict], bool], Callable[[dict], None], str]] = [
    ("unknown data item", "kpis", _plain_kpi,
     lambda k: k.update(formula=k["formula"] + " + ghost_item"), "'ghost_item', which is not"),
    ("formula syntax", "kpis", _plain_kpi,
     lambda k: k.update(formula="100 * (declarations"), "formula error"),
    ("formula injection", "kpis", _plain_kpi,
     lambda k: k.update(formula="__import__('os').system('id')"), "formula error"),
    ("attribute access", "kpis", _plain_kpi,
     lambda k: k.update(formula="declarations.__class__"), "formula error"),
    ("year rule too narrow", "kpis", _variation_kpi,
     lambda k: k.update(years="T"), "expected 'T,T-1'"),
    ("year rule too wide", "kpis", _plain_kpi,
     lambda k: k.update(years="T,T-1"), "expected 'T'"),
    ("unknown dimension", "outcomes", lambda o: True,
     lambda o: o.update(dimension="XX"), "dimension 'XX' does not exist"),
    ("unknown outcome", "kpis", lambda k: True,
     lambda k: k.update(outcome="ZZ.9"), "outcome 'ZZ.9' does not exist"),
    ("missing French name", "kpis", lambda k: True,
     lambda k: k["name"].update(fr=""), "name has no 'fr' text"),
    ("missing English definition", "outcomes", lambda o: True,
     lambda o: o["definition"].update(en=" "), "definition has no 'en' text"),
    ("no SDG target", "kpis", lambda k: True,
     lambda k: k.update(sdg_targets=[]), "no SDG target"),
    ("no tool", "kpis", lambda k: True, lambda k: k.update(tools=[]), "no WCO tool"),
    ("unknown tool", "kpis", lambda k: True,
     lambda k: k["tools"].append("NO_SUCH_TOOL"), "tool 'NO_SUCH_TOOL' does not exist"),
    ("unknown SDG target", "kpis", lambda k: True,
     lambda k: k["sdg_targets"].append("99.9"), "SDG target '99.9' is not"),
    ("data item listed but unused", "kpis", _plain_kpi,
     lambda k: k["data_items"].append("aeo_count"), "not used by the formula"),
    ("bad breakdown value", "kpis", _plain_kpi,
     lambda k: k.update(formula="declarations{flow=XX}", data_items=["declarations"]),
     "'XX' is not a value of 'flow'"),
    ("unknown working body", "tools", lambda t: True,
     lambda t: t.update(working_body="NOBODY"), "working body 'NOBODY' does not exist"),
    ("unknown whole", "data_items", lambda d: d.get("part_of") is not None,
     lambda d: d.update(part_of="no_whole"), "whole 'no_whole' is not a data item"),
    ("bad restricted breakdown value", "data_items", lambda d: bool(d.get("breakdown_values")),
     lambda d: d.update(breakdown_values={"flow": ["IM", "XX"]}), "XX: not values of 'flow'"),
    ("breakdown value the item does not use", "kpis", _plain_kpi,
     lambda k: k.update(formula="trade_value{flow=TR}", data_items=["trade_value"]),
     "'TR' is not a value of 'flow' for trade_value"),
    ("confirmed without source", "kpis", lambda k: k["provenance"]["status"] == "confirmed",
     lambda k: k["provenance"].pop("source"), "needs the source URL"),
    ("bands out of order", "kpis", lambda k: k["scoring"]["method"] == "bands",
     lambda k: k["scoring"]["bands"].reverse(), "expected distinct levels in order A, B, C"),
    ("unknown unit", "kpis", lambda k: True,
     lambda k: k.update(unit="furlongs"), "unit"),
    ("missing direction", "kpis", lambda k: True,
     lambda k: k.pop("direction"), "direction"),
    ("typo in a field name", "kpis", lambda k: True,
     lambda k: k.update(defintion={"en": "x", "fr": "x"}), "defintion"),
    ("bad disclosure", "kpis", lambda k: True,
     lambda k: k.update(disclosure="secret"), "disclosure"),
    ("KPI breakdown absent from its items", "kpis", _plain_kpi,
     lambda k: k.update(breakdowns=["category"]), "no such breakdown"),
]


@pytest.mark.parametrize(("name", "section", "where", "change", "phrase"), DEFECTS,
                         ids=[d[0] for d in DEFECTS])
def test_defect_is_reported(catalogue: Path, capsys: pytest.CaptureFixture[str], name: str,
                            section: str, where: Callable, change: Callable,
                            phrase: str) -> None:
    item = first(catalogue, section, where)
    code = item.get("code", item.get("key"))
    changed = edit(catalogue, section, code, change)
    assert run(["framework", "validate", str(catalogue)]) != 0
    captured = capsys.readouterr()
    lines = [line for line in (captured.err + captured.out).splitlines() if phrase in line]
    assert lines, f"no line mentions {phrase!r}:\n{captured.err}{captured.out}"
    # each defect line names the file and line of the item, and the item itself
    assert any(re.search(re.escape(str(changed)) + r":\d+: ", line) for line in lines), lines
    assert any(str(code) in line for line in lines), lines


def test_duplicate_code(catalogue: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kpi = first(catalogue, "kpis")
    edit(catalogue, "kpis", None, lambda items: items.append(dict(kpi)))
    assert run(["framework", "validate", str(catalogue)]) == 1
    err = capsys.readouterr().err
    assert f"KPI {kpi['code']}: code is used 2 times" in err


def test_outcome_without_kpi(catalogue: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outcome = first(catalogue, "outcomes")
    new = dict(outcome, code="TF.99")
    edit(catalogue, "outcomes", None, lambda items: items.append(new))
    assert run(["framework", "validate", str(catalogue)]) == 1
    assert "outcome TF.99: has no KPI" in capsys.readouterr().err


def test_dimension_without_outcome(catalogue: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dim = first(catalogue, "dimensions")
    edit(catalogue, "dimensions", None, lambda items: items.append(dict(dim, code="XX")))
    assert run(["framework", "validate", str(catalogue)]) == 1
    assert "dimension XX: has no expected outcome" in capsys.readouterr().err


def test_invalid_yaml_names_file_and_line(catalogue: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    broken = catalogue / "zz_broken.yaml"
    broken.write_text("kpis:\n  - code: X\n    name: [unclosed\n", encoding="utf-8")
    assert run(["framework", "validate", str(catalogue)]) != 0
    err = capsys.readouterr().err
    assert re.search(re.escape(str(broken)) + r":\d+: not valid YAML", err), err


def test_unknown_section(catalogue: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (catalogue / "zz_extra.yaml").write_text("kpi_list: []\n", encoding="utf-8")
    assert run(["framework", "validate", str(catalogue)]) != 0
    assert "unknown section 'kpi_list'" in capsys.readouterr().err


def test_several_defects_one_line_each(catalogue: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    kpis = [first(catalogue, "kpis", _plain_kpi)]
    edit(catalogue, "kpis", kpis[0]["code"], lambda k: k.update(tools=[], sdg_targets=[]))
    assert run(["framework", "validate", str(catalogue), "--quiet"]) == 1
    err_lines = capsys.readouterr().err.splitlines()
    assert len([line for line in err_lines if kpis[0]["code"] in line]) == 2


def test_missing_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["framework", "validate", "/no/such/framework"]) == 2
    assert "no such framework file, folder or shipped id" in capsys.readouterr().err


def test_pefa_m2_node_with_more_than_four_children_fails_validation(
        catalogue: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """PEFA's M2 table stops at four dimensions: an outcome of five KPIs aggregated by M2 is
    refused by `pmm framework validate`, not later at scoring."""
    from pmm.framework.loader import load

    fw = load(str(catalogue))
    big = max(fw.outcomes, key=lambda o: len(fw.kpis_of_outcome(o.code)))
    n = len(fw.kpis_of_outcome(big.code))
    framework_file = catalogue / "00-framework.yaml"
    doc = yaml.load(framework_file)
    doc["aggregation"]["outcome"]["method"] = "pefa_m2"
    with framework_file.open("w") as fh:
        yaml.dump(doc, fh)
    if n <= 4:  # give the largest outcome a fifth KPI
        kpi = dict(first(catalogue, "kpis", lambda k: k["outcome"] == big.code))
        for extra in range(5 - n):
            edit(catalogue, "kpis", None, lambda items, e=extra: items.append(
                dict(kpi, code=f"{kpi['code']}9{e}")))
        n = 5
    assert run(["framework", "validate", str(catalogue)]) == 1
    err = capsys.readouterr().err
    assert re.search(re.escape(str(framework_file)) + r":\d+: error: aggregation outcome: "
                     + re.escape(f"{big.code} has {n} children, but PEFA's M2 conversion "
                                 "table covers 2 to 4 dimensions"), err), err
    # four or fewer children pass
    doc["aggregation"]["outcome"]["method"] = "pefa_m1"
    doc["aggregation"]["dimension"]["method"] = "pefa_m2"
    with framework_file.open("w") as fh:
        yaml.dump(doc, fh)
    outcomes = max(len(fw.outcomes_of_dimension(d.code)) for d in fw.dimensions)
    assert (run(["framework", "validate", str(catalogue)]) == 0) == (outcomes <= 4)
