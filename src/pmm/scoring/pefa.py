"""PEFA 2016 aggregation of dimension scores into an indicator score: M1 and M2.

M1 (weakest link): the lowest dimension score, with "+" when any other dimension scored higher.
M2 (averaging): read from PEFA's conversion table for 2, 3 and 4 dimensions, held as data in
`data/pefa_m2.csv` (a different table can be passed in). D* (a D for insufficient information)
aggregates exactly like D and the indicator score never carries the asterisk. Dimensions that
are NA (not applicable) or NU (not used) are left out and the indicator is scored on the rest;
an indicator with no scored dimension is NA (NU if every dimension is NU). A legacy NR (not
rated) dimension makes the indicator NR: a missing score is never turned into a D silently.

Both functions take one indicator's dimension scores (a sequence of strings, returning a string)
or a table with one row per indicator (returning an array); absent cells are "" or None.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

POINTS = {"D": 1, "D*": 1, "C": 2, "B": 3, "A": 4}
LETTERS = {1: "D", 2: "C", 3: "B", 4: "A"}
NOT_SCORED = ("NA", "NU")
NOT_RATED = "NR"
#: numeric value of an indicator grade, for charts and summaries only (PEFA warns against
#: averaging grades across indicators)
GRADE_VALUES = {"D": 1.0, "D+": 1.5, "C": 2.0, "C+": 2.5, "B": 3.0, "B+": 3.5, "A": 4.0}

M2Table = dict[tuple[int, ...], str]


def load_m2_table(path: str | Path | None = None) -> M2Table:
    """Read an M2 conversion table (`dimensions,scores,grade`, '#' comment lines allowed).

    Keys are the dimension points sorted ascending (D=1 … A=4); the table must list every
    combination for each number of dimensions it covers.
    """
    if path is None:
        text = (resources.files("pmm.scoring") / "data" / "pefa_m2.csv").read_text("utf-8")
        name = "pefa_m2.csv"
    else:
        text = Path(path).read_text("utf-8")
        name = str(path)
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    table: M2Table = {}
    for lineno, row in enumerate(csv.DictReader(lines), start=2):
        letters = row["scores"].split()
        if len(letters) != int(row["dimensions"]) or any(g not in POINTS for g in letters):
            raise ValueError(f"{name}: row {lineno}: bad scores {row['scores']!r}")
        if row["grade"] not in GRADE_VALUES:
            raise ValueError(f"{name}: row {lineno}: bad grade {row['grade']!r}")
        key = tuple(sorted(POINTS[g] for g in letters))
        if key in table:
            raise ValueError(f"{name}: row {lineno}: combination {row['scores']!r} repeated")
        table[key] = row["grade"]
    for k in {len(key) for key in table}:
        expected = _combinations(k)
        if expected - set(table):
            raise ValueError(f"{name}: {len(expected - set(table))} combinations of {k} "
                             "dimensions are missing")
    return table


def _combinations(k: int) -> set[tuple[int, ...]]:
    if k == 0:
        return {()}
    return {tuple(sorted((*rest, p))) for rest in _combinations(k - 1) for p in range(1, 5)}


@cache
def _default_table() -> M2Table:
    return load_m2_table()


def _as_table(scores: Sequence[object] | NDArray[np.object_]) -> tuple[list[list[str]], bool]:
    arr = list(scores)
    single = all(isinstance(s, str) or s is None for s in arr)
    rows = [arr] if single else [list(r) for r in arr]
    clean: list[list[str]] = []
    for r, row in enumerate(rows):
        cells = []
        for c, s in enumerate(row):
            if s is None or (isinstance(s, float) and np.isnan(s)) or str(s).strip() == "":
                continue
            g = str(s).strip().upper()
            if g not in POINTS and g not in NOT_SCORED and g != NOT_RATED:
                raise ValueError(f"row {r}, dimension {c}: {s!r} is not a dimension score "
                                 "(expected A, B, C, D, D*, NA, NU or NR)")
            cells.append(g)
        clean.append(cells)
    return clean, single


def _state(cells: list[str]) -> str | None:
    """The indicator state when it cannot be scored, else None."""
    if NOT_RATED in cells:
        return NOT_RATED
    if not any(c in POINTS for c in cells):
        return "NU" if cells and all(c == "NU" for c in cells) else "NA"
    return None


def _per_indicator(scores: Sequence[object], grade: Callable[[tuple[int, ...]], str]
                   ) -> str | NDArray[np.str_]:
    """Apply `grade` to each indicator's scored points (sorted), after the no-score states."""
    rows, single = _as_table(scores)
    out = [_state(cells) or grade(tuple(sorted(POINTS[c] for c in cells if c in POINTS)))
           for cells in rows]
    return out[0] if single else np.asarray(out, dtype=str)


def pefa_m1(scores: Sequence[object]) -> str | NDArray[np.str_]:
    """M1 weakest link: the lowest score, plus "+" if any other dimension scored higher."""
    return _per_indicator(scores, lambda pts: LETTERS[pts[0]] + ("+" if pts[-1] > pts[0] else ""))


def pefa_m2(scores: Sequence[object], table: M2Table | None = None) -> str | NDArray[np.str_]:
    """M2 averaging, read from the conversion table (one dimension: its own score)."""
    tab = _default_table() if table is None else table

    def grade(key: tuple[int, ...]) -> str:
        if len(key) == 1:
            return LETTERS[key[0]]
        if key not in tab:
            raise ValueError(f"the M2 conversion table has no entry for {len(key)} dimensions "
                             f"({' '.join(LETTERS[p] for p in key)})")
        return tab[key]

    return _per_indicator(scores, grade)
