"""Bounds on what a file may make the platform do, and how a long list of defects is shown.

A submission holds a few hundred values; a file far bigger than that is a mistake (or an attack),
and is refused before it is read, with a message saying which limit and how to change it. Every
limit has a default and an environment variable (documented in docs/ncp-guide.md):

| variable | default | what it bounds |
|---|---|---|
| `PMM_IMPORT_MAX_BYTES` | 20 MiB | size of an imported CSV or workbook file |
| `PMM_IMPORT_MAX_ROWS` | 100 000 | rows of an imported CSV or workbook |
| `PMM_XLSX_MAX_UNCOMPRESSED_BYTES` | 100 MiB | a workbook's size once unpacked |
| `PMM_XLSX_MAX_RATIO` | 100 | unpacked size over packed size, per part and in all (zip bombs) |
| `PMM_EVIDENCE_MAX_BYTES` | 20 MiB | an evidence file |
| `PMM_MAX_ERRORS` | 100 | error lines shown before the rest are counted per kind |

Limits are read when used, so a server picks up a change at its next request.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from pmm.errors import PmmError
from pmm.i18n import _

MIB = 1024 * 1024
DEFAULTS = {
    "PMM_IMPORT_MAX_BYTES": 20 * MIB,
    "PMM_IMPORT_MAX_ROWS": 100_000,
    "PMM_XLSX_MAX_UNCOMPRESSED_BYTES": 100 * MIB,
    "PMM_XLSX_MAX_RATIO": 100,
    "PMM_EVIDENCE_MAX_BYTES": 20 * MIB,
    "PMM_MAX_ERRORS": 100,
}
PROGRESS_BYTES = MIB  # imports of files at least this big report their progress


@dataclass(frozen=True)
class Limits:
    import_bytes: int
    import_rows: int
    xlsx_uncompressed_bytes: int
    xlsx_ratio: int
    evidence_bytes: int
    errors: int


def limits() -> Limits:
    """The limits in force (environment variables over the defaults)."""
    values = {}
    for name, default in DEFAULTS.items():
        text = os.environ.get(name, "").strip().replace("_", "")
        if not text:
            values[name] = default
            continue
        if not text.isdigit() or int(text) < 1:
            raise PmmError(_("{name}={value!r}: expected a whole number of at least 1 "
                             "(default {default})").format(name=name, value=os.environ[name],
                                                          default=default))
        values[name] = int(text)
    return Limits(*values.values())


class Defect(str):
    """One error line that knows its kind (e.g. `range`, `duplicate`), for the summary that
    replaces the lines beyond the limit. It is a `str`, so every caller can print it."""

    kind: str

    def __new__(cls, text: str, kind: str = "other") -> Defect:
        line = super().__new__(cls, text)
        line.kind = kind
        return line


def kind_of(line: str) -> str:
    return getattr(line, "kind", "other")


def kind_label(kind: str) -> str:
    """A kind of defect in words."""
    labels = {
        "number": _("not a number"), "year": _("not a year of the cycle"),
        "duplicate": _("given twice"), "cells": _("wrong number of cells"),
        "row_kind": _("neither a KPI nor a data-item row"),
        "kpi_row": _("a KPI row with data-item cells"),
        "disclosure": _("disclosure on a data-item row"),
        "unknown_item": _("unknown data item"), "unknown_kpi": _("unknown KPI"),
        "breakdown": _("bad breakdown"), "status": _("bad status"),
        "type": _("wrong type of value"), "range": _("out of range"),
        "part_of": _("part above its whole"), "parts_sum": _("parts above their total"),
    }
    return labels.get(kind, _("other"))


# FILE:LINE: (CSV) and FILE!Sheet!B12 or FILE!Sheet!12 (workbook) at the start of a line
_CSV_AT = re.compile(r"^(?P<file>.*?):(?P<line>\d+):")
_SHEET_AT = re.compile(r"^(?P<file>[^!]*)!(?P<sheet>[^!]*)!(?P<col>[A-Z]*)(?P<row>\d+)\b")


def _column(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def in_file_order(lines: Iterable[str], sheets: list[str] | None = None) -> list[str]:
    """Error lines in the order of the file: by line (CSV) or by sheet, row and column
    (workbook, sheets in `sheets` order); lines without a location keep their place at the end.
    """
    order = {name: i for i, name in enumerate(sheets or [])}

    def key(pair: tuple[int, str]) -> tuple:
        index, line = pair
        found = _SHEET_AT.match(line)
        if found:
            return (0, order.get(found["sheet"], len(order)), found["sheet"], int(found["row"]),
                    _column(found["col"]), index)
        found = _CSV_AT.match(line)
        if found:
            return (0, 0, "", int(found["line"]), 0, index)
        return (1, 0, "", 0, 0, index)

    return [line for _i, line in sorted(enumerate(lines), key=key)]


def capped(lines: list[str], limit: int | None = None) -> list[str]:
    """The first `limit` lines, then one line counting the others per kind."""
    limit = limits().errors if limit is None else limit
    if len(lines) <= limit:
        return list(lines)
    rest = Counter(kind_of(line) for line in lines[limit:])
    counts = ", ".join(f"{kind_label(kind)}: {n}" for kind, n in rest.most_common())
    return [*lines[:limit], _("... and {n} more errors of the same kinds ({counts}); nothing "
                              "was saved").format(n=len(lines) - limit, counts=counts)]


def check_size(name: str, size: int, limit: int, variable: str) -> None:
    """Refuse a file above `limit` bytes before reading it."""
    if size > limit:
        raise PmmError(_("{file}: {size} bytes is above the limit of {limit} bytes for this kind "
                         "of file (set {variable} to change it); nothing was read").format(
            file=name, size=size, limit=limit, variable=variable))
