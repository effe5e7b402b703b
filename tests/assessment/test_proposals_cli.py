"""`pmm proposal ...` and `pmm draft ...`: the same services as the web, acting as `--as USER`."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from pmm.cli import run
from pmm.framework.loader import load_text
from tests.assessment.test_proposals import GOOD, WHY, _upload_text


def _write(path: Path, data: dict) -> Path:
    YAML(typ="safe", pure=True).dump(data, path.open("w", encoding="utf-8"))
    return path


def test_propose_accept_export_adopt_and_create_a_cycle(
        db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _write(tmp_path / "bad.yaml", {**GOOD, "formula": "100 * nothing", "rationale": WHY})
    assert run(["proposal", "submit", str(bad), "--as", "wb"]) == 2
    err = capsys.readouterr().err
    assert "formula: formula uses 'nothing', which is not a data item" in err
    good = _write(tmp_path / "kpi.yaml", {**GOOD, "rationale": WHY})
    assert run(["proposal", "submit", str(good), "--as", "wb"]) == 0
    out = capsys.readouterr()
    assert "KPI proposal 1 (TF.1.9) submitted." in out.out
    assert "warning: data_source_en: has no data source" in out.err
    assert run(["proposal", "accept", "1", "--new-draft", "v1-next", "--as", "wb"]) == 4
    capsys.readouterr()
    assert run(["proposal", "accept", "1", "--new-draft", "v1-next", "--as", "sec"]) == 0
    assert "accepted into draft v1-next" in capsys.readouterr().out
    assert run(["proposal", "list", "--as", "wb"]) == 0
    assert "\tTF.1.9\tRKC\twb\t" in capsys.readouterr().out
    assert run(["draft", "diff", "v1-next", "--as", "sec"]) == 0
    assert capsys.readouterr().out.startswith("kpi\tTF.1.9\tadded")
    assert run(["draft", "export", "v1-next", "--as", "sec"]) == 0
    assert load_text("x.yaml", capsys.readouterr().out)[0].kpi("TF.1.9").unit == "percent"
    assert run(["draft", "adopt", "v1-next", "--as", "sec"]) == 0
    assert run(["cycle", "create", "2030", "--framework", "v1-next", "--opens", "2031-01-01",
                "--closes", "2031-03-31", "--as", "sec"]) == 0
    assert "Created cycle 2030 (v1-next" in capsys.readouterr().out


def test_upload_reports_file_and_line_and_stores_nothing(
        db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = _upload_text().replace("unit: percent", "unit: percents", 1)
    line = text.splitlines().index("  unit: percents") + 1
    path = tmp_path / "v2.yaml"
    path.write_text(text, encoding="utf-8")
    assert run(["draft", "upload", str(path), "--as", "sec"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{line}: kpis TF.1.1: field 'unit': Input should be" in err
    assert "does not pass; nothing was stored." in err
    assert run(["draft", "list", "--as", "sec"]) == 0
    assert "No framework draft." in capsys.readouterr().out
    path.write_text(_upload_text(), encoding="utf-8")
    assert run(["draft", "upload", str(path), "--as", "sec"]) == 0
    assert "is now draft wco-pmm-v2" in capsys.readouterr().out
    assert run(["proposal", "reject", "9", "--reason", "x", "--as", "sec"]) == 5
