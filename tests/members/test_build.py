"""The shipped data is what the build script makes of the compiled reference files.

These tests need `../shared/reference/` (the build's input, not shipped); without it they skip.
"""

from __future__ import annotations

import csv
import re
import shutil
from importlib import resources
from pathlib import Path

import pytest

from pmm.members import build_members

REFERENCE = build_members.DEFAULT_REFERENCE
needs_reference = pytest.mark.skipif(not (REFERENCE / "wco_members.csv").is_file(),
                                     reason=f"build input {REFERENCE} not present")
URL = re.compile(r"https?://[^\s;,()]+")


@needs_reference
def test_shipped_files_are_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert build_members.main(["--check"]) == 0, capsys.readouterr().err


@needs_reference
def test_every_reference_source_is_kept() -> None:
    shipped = (resources.files("pmm.members") / "sources.csv").read_text(encoding="utf-8")
    for name in ("wco_members.csv", "income_groups.csv", "geography.csv"):
        with (REFERENCE / name).open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                for url in URL.findall(row["source"]):
                    assert url in shipped, (name, row["iso3"], url)


@needs_reference
def test_bad_reference_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "reference"
    shutil.copytree(REFERENCE, copy)
    wco = copy / "wco_members.csv"
    wco.write_text(wco.read_text(encoding="utf-8").replace(",Europe,", ",Eurasia,", 1),
                   encoding="utf-8")
    assert build_members.main(["--reference", str(copy), "--check"]) == 2
    assert "wco_region: unknown region 'Eurasia'" in capsys.readouterr().err
    (copy / "geography.csv").unlink()
    assert build_members.main(["--reference", str(copy), "--check"]) == 2
    assert "geography.csv: file not found" in capsys.readouterr().err
