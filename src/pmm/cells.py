"""Spreadsheet-safe text: the one place that neutralises formula injection.

Exports prefix `'` to text that a spreadsheet would run as a formula (it starts with `=`, `+`,
`-` or `@`); imports strip that prefix again, so export → import is a no-op. Numbers are never
touched: a negative number is a number, not a formula.
"""

from __future__ import annotations

TRIGGERS = ("=", "+", "-", "@")


def neutralise(value: object) -> object:
    """Make a cell value safe to open in a spreadsheet."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def restore(value: object) -> object:
    """Undo `neutralise` on a value read back from a file."""
    if isinstance(value, str) and value.startswith("'") and value[1:2] in TRIGGERS:
        return value[1:]
    return value
