"""`pmm members ...` through the CLI entry point."""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from rich.console import Console

from pmm.cli import run
from pmm.i18n import set_language
from pmm.members import cli as members_cli


@pytest.fixture(autouse=True)
def _wide_english(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A wide console, so table cells are not wrapped in the captured output.
    monkeypatch.setattr(members_cli, "out", Console(highlight=False, soft_wrap=True, width=400))
    yield
    set_language(None)


def test_list_csv_filtered(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["members", "list", "--csv", "--region", "ESA"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 24 and {r["region"] for r in rows} == {"ESA"}
    assert run(["members", "list", "--csv", "--geography", "landlocked", "--income", "high"]) == 0
    codes = {r["iso3"] for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert codes == {"AND", "AUT", "CHE", "CZE", "HUN", "LUX", "SVK"}


def test_list_table_and_bad_filter(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["members", "list", "--admin-type", "border_agency"]) == 0
    out = capsys.readouterr().out
    assert "WCO Members (4)" in out and "United States" in out
    assert run(["members", "list", "--region", "AFR"]) == 2
    assert "--region AFR: unknown code; expected one of: AMS, AP" in capsys.readouterr().err


def test_show_with_sources(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["members", "show", "ken"]) == 0
    out = capsys.readouterr().out
    assert "Kenya (KEN)" in out
    assert "Revenue authority (customs and taxes) (Kenya Revenue Authority (KRA)" in out
    assert "admin_type: https://docslib.org/doc/11454299/customs-border-control-department" in out


def test_show_in_french(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--lang", "fr", "members", "show", "HKG"]) == 0
    out = capsys.readouterr().out
    assert "Hong Kong, Chine (HKG)" in out
    assert "Revenu élevé (FY27)" in out
    assert "Sources :" in out


def test_show_unknown_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["members", "show", "KOS"]) == 2
    assert "Unknown WCO Member code 'KOS'" in capsys.readouterr().err


def test_groups(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(["members", "groups", "--by", "geography"]) == 0
    out = capsys.readouterr().out
    assert "Peer groups (187 Members)" in out and "Small island developing State" in out
    good = tmp_path / "g.csv"
    good.write_text("group,iso3\nEAC,KEN\nEAC,UGA\n", encoding="utf-8")
    assert run(["members", "groups", "--file", str(good)]) == 0
    assert "KEN UGA" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("group,iso3\nEAC,KEN\nEAC,XYZ\n", encoding="utf-8")
    assert run(["members", "groups", "--file", str(bad)]) == 2
    assert f"{bad}:3: iso3: 'XYZ' is not the code of a WCO Member." in capsys.readouterr().err
    assert run(["members", "groups", "--by", "size"]) == 2


def test_every_message_has_a_french_translation() -> None:
    package = resources.files("pmm.members")
    used = {node.args[0].value
            for source in package.iterdir() if source.name.endswith(".py")
            for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_"
            and node.args and isinstance(node.args[0], ast.Constant)}
    po = resources.files("pmm") / "locale" / "fr" / "members.po"
    with po.open("rb") as fh:
        translated = {m.id for m in read_po(fh) if m.id and m.string}
    assert used and used <= translated, sorted(used - translated)
