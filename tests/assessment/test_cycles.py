"""Cycles: created by the Secretariat with valid dates, one per reporting year, opened and
closed; the framework is kept as it was at creation."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmm.assessment.cycles import framework_of, get_cycle
from pmm.cli import run
from pmm.store.engine import transaction
from tests.assessment.conftest import FRAMEWORK


@pytest.mark.parametrize(("args", "message"), [
    (["2023", "--opens", "2024-02-01", "--closes", "2024-01-01"], "before the opening date"),
    (["2023", "--opens", "2023-06-01", "--closes", "2024-01-01"], "after that year has ended"),
    (["1990", "--opens", "1991-01-01", "--closes", "1991-06-01"], "from 2000 to 2100"),
    (["2023", "--opens", "2024-13-01", "--closes", "2024-06-01"], "expected a date"),
    (["2024", "--opens", "2025-01-01", "--closes", "2025-06-01"], "already exists"),
])
def test_bad_cycles_are_refused(db: str, capsys, args: list[str], message: str) -> None:
    capsys.readouterr()
    assert run(["cycle", "create", *args, "--framework", str(FRAMEWORK), "--as", "sec"]) == 2
    assert message in capsys.readouterr().err


def test_only_the_secretariat_creates_cycles(db: str, capsys) -> None:
    assert run(["cycle", "create", "2023", "--opens", "2024-01-10", "--closes", "2024-06-01",
                "--framework", str(FRAMEWORK), "--as", "ncp-fra"]) == 4
    assert run(["cycle", "close", "2024", "--as", "rev"]) == 4


def test_cycle_keeps_its_framework_and_lists(db: str, tmp_path: Path, capsys) -> None:
    with transaction(db) as session:
        fw = framework_of(get_cycle(session, 2024))
    assert fw.id == "test-pmm" and len(fw.kpis) == 7
    capsys.readouterr()
    assert run(["cycle", "list", "--as", "sec"]) == 0
    assert "2024\ttest-pmm\t2025-01-01..2099-12-31\topen" in capsys.readouterr().out
    assert run(["cycle", "show", "2023", "--as", "sec"]) == 5
    err = capsys.readouterr().err
    assert "no cycle reports on 2023 (cycles: 2024)" in err
    # a member's NCP meets this message too: it is not told to run a Secretariat command
    assert "the Secretariat creates cycles" in err and "cycle create" not in err
    # a cycle made from a file keeps its copy when the file changes afterwards
    copy = tmp_path / "fw.yaml"
    copy.write_text(FRAMEWORK.read_text(encoding="utf-8"), encoding="utf-8")
    assert run(["cycle", "create", "2023", "--opens", "2024-01-10", "--closes", "2024-06-01",
                "--framework", str(copy), "--as", "sec"]) == 0
    copy.write_text(copy.read_text(encoding="utf-8").replace("Test framework", "Changed"),
                    encoding="utf-8")
    with transaction(db) as session:
        assert framework_of(get_cycle(session, 2023)).framework.title.en == "Test framework"
    assert run(["cycle", "show", "2023", "--as", "sec"]) == 0
