"""Spreadsheet-safe text: the one place that neutralises formula injection.

Exports prefix `'` to text that a spreadsheet would run as a formula (it starts with `=`, `+`,
`-` or `@`, possibly behind quotes already); imports strip one `'` again, so export → import is
a no-op for every text. Numbers are never touched: a negative number is a number, not a formula.
"""

from __future__ import annotations

import re

_RISKY = re.compile(r"'*[=+\-@]")
_NEUTRALISED = re.compile(r"'+[=+\-@]")


def neutralise(value: object) -> object:
    """Make a cell value safe to open in a spreadsheet."""
    if isinstance(value, str) and _RISKY.match(value):
        return "'" + value
    return value


def restore(value: object) -> object:
    """Undo `neutralise` on a value read back from a file."""
    if isinstance(value, str) and _NEUTRALISED.match(value):
        return value[1:]
    return value
