"""Everyday use of the analysis commands on the demo data: SDG goals in UN order, what-if
bounded like a submission, tables that print user text as it is."""

from __future__ import annotations

import csv
import io

import pytest

from pmm.cli import run

pytestmark = pytest.mark.slow


def pmm(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _numeric(code: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 10_000 + ord(p[0]) for p in code.split("."))


def test_sdg_goals_and_targets_are_in_un_order(demo_db: str, capsys) -> None:
    code, out, err = pmm(capsys, "sdg", "--cycle", "2024", "--as", "secretariat",
                         "--by", "region", "--database-url", demo_db)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    for level in ("sdg_goal", "sdg_target"):
        codes = list(dict.fromkeys(r["sdg"] for r in rows if r["level"] == level))
        assert len(codes) > 3
        assert codes == sorted(codes, key=_numeric), codes  # 3 before 12, 17.2 before 17.10
    code, out, err = pmm(capsys, "sdg", "--cycle", "2024", "--member", "ALB", "--as",
                         "secretariat", "--database-url", demo_db)
    assert code == 0, err
    goals = [r["code"] for r in csv.DictReader(io.StringIO(out)) if r["level"] == "sdg_goal"]
    assert goals == sorted(goals, key=_numeric) and goals[0] == "3", goals


@pytest.mark.parametrize(("change", "message"), [
    ("TF.1.1=500", "--set TF.1.1: 500 is outside 0 to 100"),
    ("TF.1.1=-1", "--set TF.1.1: -1 is outside 0 to 100"),
    ("declarations=1e308", "--set declarations: 1e+308 is outside 0 to 1e+12"),
])
def test_whatif_refuses_values_no_submission_could_hold(demo_db: str, capsys, change: str,
                                                        message: str) -> None:
    code, _, err = pmm(capsys, "whatif", "--cycle", "2024", "--member", "ALB", "--set", change,
                       "--as", "ncp-alb", "--database-url", demo_db)
    assert code == 2
    assert message in err


def test_whatif_accepts_a_value_within_the_kpi_range(demo_db: str, capsys) -> None:
    code, out, err = pmm(capsys, "whatif", "--cycle", "2024", "--member", "ALB", "--set",
                         "TF.1.1=100", "--as", "ncp-alb", "--database-url", demo_db)
    assert code == 0, err
    assert "TF.1.1" in out


def test_table_output_prints_user_text_literally(demo_db: str, capsys, tmp_path) -> None:
    groups = tmp_path / "groups.csv"
    # group names are user text: markup and emoji codes must come out as typed
    groups.write_text("group,iso3\n" + "".join(
        f"[red]North:100:,{iso}\n" for iso in ("ALB", "ARE", "ARG", "AUS", "AUT"))
        + "".join(f"South :smile:,{iso}\n" for iso in ("BDI", "BEL", "BEN", "BFA", "BGD")),
        encoding="utf-8")
    code, out, err = pmm(capsys, "benchmark", "--cycle", "2024", "--kpi", "TF.1.1", "--by",
                         "custom", "--groups", str(groups), "--as", "secretariat",
                         "--format", "table", "--database-url", demo_db)
    assert code == 0, err
    assert "[red]North:100:" in out and "South :smile:" in out
    assert "💯" not in out and "😄" not in out


@pytest.mark.parametrize("command", [["sdg"], ["trends"], ["secretariat", "demand"]])
def test_custom_groups_are_refused_where_only_standard_groupings_apply(
        demo_db: str, capsys, command: list[str]) -> None:
    """These commands have no --groups: --by custom used to print the global rows only."""
    code, out, err = pmm(capsys, *command, "--cycle", "2024", "--by", "custom", "--as",
                         "secretariat", "--database-url", demo_db)
    assert code == 2 and out == ""
    assert "--by custom: user-defined groups are compared by pmm benchmark only" in err
    assert "region, income, geography, admin_type, size" in err
