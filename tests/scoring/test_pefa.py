"""PEFA 2016 M1 and M2, row by row.

The M2 rows below are copied from the research note (methodology.md §2.3), which marks the
table as reconstructed from the published statistics about the official PEFA table (which could
not be retrieved). The shipped data file is tested against them, independently of how it is
stored.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pmm.scoring.pefa import GRADE_VALUES, load_m2_table, pefa_m1, pefa_m2

M2_ROWS = """
D D D; D C D+; D B C; D A C+; C C C; C B C+; C A B; B B B; B A B+; A A A
D D D D; D D C D+; D D B D+; D D A C; D C C D+; D C B C; D C A C+; D B B C+; D B A B; D A A B;
C C C C; C C B C+; C C A B; C B B B; C B A B; C A A B+; B B B B; B B A B+; B A A A; A A A A
D D D D D; D D D C D; D D D B D+; D D D A D+; D D C C D+; D D C B D+; D D C A C; D D B B C;
D D B A C+; D D A A C+; D C C C D+; D C C B C; D C C A C+; D C B B C+; D C B A C+; D C A A B;
D B B B C+; D B B A B; D B A A B; D A A A B+; C C C C C; C C C B C+; C C C A C+; C C B B C+;
C C B A B; C C A A B; C B B B B; C B B A B; C B A A B+; C A A A B+; B B B B B; B B B A B+;
B B A A B+; B A A A A; A A A A A
"""
ROWS = [r.split() for r in M2_ROWS.replace("\n", ";").split(";") if r.strip()]


def test_row_list_is_complete() -> None:
    assert len(ROWS) == 65
    assert sum(len(r) == 3 for r in ROWS) == 10
    assert sum(len(r) == 4 for r in ROWS) == 20
    assert sum(len(r) == 5 for r in ROWS) == 35


@pytest.mark.parametrize("row", ROWS, ids=[" ".join(r) for r in ROWS])
def test_m2_row(row: list[str]) -> None:
    *dims, expected = row
    for perm in set(itertools.permutations(dims)):  # order of dimensions is irrelevant
        assert pefa_m2(list(perm)) == expected


def test_m2_table_is_a_monotone_function_of_the_sum() -> None:
    """The reconstruction's defining property, and a guard against transcription slips:
    improving any dimension never lowers the indicator score."""
    table = load_m2_table()
    for key, grade in table.items():
        same_sum = [g for k, g in table.items() if len(k) == len(key) and sum(k) == sum(key)]
        assert set(same_sum) == {grade}
        for i in range(len(key)):
            if key[i] < 4:
                better = tuple(sorted((*key[:i], key[i] + 1, *key[i + 1:])))
                assert GRADE_VALUES[table[better]] >= GRADE_VALUES[grade]


def test_m1_weakest_link() -> None:
    assert pefa_m1(["B", "C", "C"]) == "C+"
    assert pefa_m1(["C", "C"]) == "C"
    assert pefa_m1(["D", "A"]) == "D+"
    assert pefa_m1(["A", "A", "A"]) == "A"  # A+ cannot happen
    assert pefa_m1(["B"]) == "B"


def test_d_star_aggregates_like_d_and_loses_the_asterisk() -> None:
    assert pefa_m1(["D*", "B"]) == "D+"
    assert pefa_m2(["D*", "B"]) == pefa_m2(["D", "B"]) == "C"
    assert pefa_m2(["D*"]) == "D"


def test_not_applicable_and_not_used_are_left_out() -> None:
    assert pefa_m2(["A", "NA", "C"]) == pefa_m2(["A", "C"]) == "B"
    assert pefa_m1(["NU", "B", "C"]) == "C+"
    assert pefa_m1(["NA", "NA"]) == "NA"
    assert pefa_m2(["NU", "NU"]) == "NU"
    assert pefa_m2(["NU", "NA"]) == "NA"
    assert pefa_m1(["NR", "A"]) == "NR"  # never silently a D


def test_table_of_indicators_and_ragged_rows() -> None:
    out = pefa_m2([["A", "B", None], ["D", "C", "C", "B"], ["C", "", "NA"]])
    assert out.tolist() == ["B+", "C", "C"]
    assert pefa_m1(np.array([["A", "B"], ["C", "D"]], dtype=object)).tolist() == ["B+", "D+"]


def test_bad_scores_and_too_many_dimensions() -> None:
    with pytest.raises(ValueError, match="not a dimension score"):
        pefa_m1(["A", "E"])
    with pytest.raises(ValueError, match="5 dimensions"):
        pefa_m2(["A", "B", "C", "D", "A"])


def test_custom_table_is_checked(tmp_path) -> None:
    bad = tmp_path / "m2.csv"
    bad.write_text("dimensions,scores,grade\n2,D D,D\n2,D C,D+\n", "utf-8")
    with pytest.raises(ValueError, match="missing"):
        load_m2_table(bad)
    wrong = tmp_path / "m2b.csv"
    wrong.write_text("dimensions,scores,grade\n2,D X,D\n", "utf-8")
    with pytest.raises(ValueError, match="bad scores"):
        load_m2_table(wrong)
