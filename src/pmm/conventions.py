"""The exchange conventions (DESIGN.md "Exchange conventions"), written once for every layer.

Breakdown text, number text, the submission CSV's columns and dialect, and the neutralising of
formula injection. This module is part of the shared kernel: it imports nothing from pmm but
`errors` and `i18n`, so every layer (framework, measure, assessment, analysis, ...) may use it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from typing import IO, Any

import pandas as pd

from pmm.i18n import _, language

# --- breakdown text --------------------------------------------------------------------------


def parse_breakdown(text: str) -> dict[str, str]:
    """`flow=IM;transport_mode=1` → {"flow": "IM", "transport_mode": "1"}; "" → {}.

    Raises ValueError with a short reason for malformed text.
    """
    text = text.strip()
    if not text:
        return {}
    pairs: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ValueError(_("expected key=value pairs joined by ';', e.g. flow=IM"))
        if key in pairs:
            raise ValueError(_("key {key} given twice").format(key=key))
        pairs[key] = value
    return pairs


def format_breakdown(pairs: Mapping[str, object] | Iterable[tuple[str, object]] = (),
                     /, **more: object) -> str:
    """The canonical text: `key=value` pairs in key order joined by `;`; "" for the total.

    `format_breakdown({"flow": "IM"})`, `format_breakdown((("flow", "IM"),))` and
    `format_breakdown(flow="IM")` all give `flow=IM`.
    """
    items = dict(pairs.items() if isinstance(pairs, Mapping) else pairs)
    items.update(more)
    return ";".join(f"{k}={v}" for k, v in sorted(items.items()))


# --- number text -----------------------------------------------------------------------------

NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
# A number written with a decimal comma (French, and what French Excel writes): 12,5. Digit
# grouping (1 234,5 or 1.234,5) is not accepted: too easily misread.
DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
TRUE = {"true", "yes", "oui", "vrai", "1"}
FALSE = {"false", "no", "non", "faux", "0"}


def format_value(kind: str | None, value: float | None) -> str:
    """A value as written in files: whole numbers without '.0', yes/no as true/false."""
    if value is None or pd.isna(value):
        return ""
    if kind == "yes_no" and value in (0.0, 1.0):
        return "true" if value == 1.0 else "false"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def parse_value(kind: str | None, text: str, *, decimal_comma: bool | None = None) -> float | None:
    """Parse a cell; raises ValueError when it is not a value of that type. Empty → None.

    A decimal comma (`12,5`) is read as such when `decimal_comma`, by default when the call
    speaks French; otherwise it raises `DecimalCommaError`, whose message says how to write it.
    """
    text = text.strip()
    if not text:
        return None
    if kind == "yes_no":
        low = text.lower()
        if low in TRUE:
            return 1.0
        if low in FALSE:
            return 0.0
        raise ValueError
    if DECIMAL_COMMA.match(text):
        if not (language() == "fr" if decimal_comma is None else decimal_comma):
            raise DecimalCommaError(decimal_comma_hint())
        text = text.replace(",", ".")
    if not NUMBER.match(text):
        raise ValueError
    return float(text)


class DecimalCommaError(ValueError):
    """A number written with a decimal comma where a decimal point was expected."""


def decimal_comma_hint() -> str:
    return _("a decimal comma is read as such only in French (--lang fr or PMM_LANG=fr); "
             "otherwise write a decimal point, e.g. 12.5")


# --- the submission CSV ----------------------------------------------------------------------

SUBMISSION_COLUMNS = ("kpi", "data_item", "year", "breakdown", "value", "status", "disclosure",
                      "note")


class Dialect(csv.excel):
    """The dialect of every CSV pmm writes: comma-separated, minimal quoting, CRLF line ends
    (RFC 4180: the csv module then also quotes a lone "\\r" inside a note)."""

    lineterminator = "\r\n"


def csv_writer(fh: IO[str]) -> Any:
    """A csv.writer in the exchange dialect."""
    return csv.writer(fh, dialect=Dialect)


def sniff_delimiter(header_line: str, columns: Iterable[str]) -> str | None:
    """`;` when the header line is `columns` separated by semicolons (what French Excel
    writes), `,` when it has commas or is one column, None when it is neither."""
    names = [c.strip().strip('"').lstrip("\ufeff") for c in header_line.split(";")]
    if ";" in header_line and set(columns) <= set(names):
        return ";"
    return ","


def semicolon_hint() -> str:
    return _("this file separates its columns with semicolons (as French Excel writes it): "
             "import it in French (--lang fr or PMM_LANG=fr), or save it with commas")


# --- formula injection -----------------------------------------------------------------------

_RISKY = re.compile(r"'*[=+\-@]")
_NEUTRALISED = re.compile(r"'+[=+\-@]")


def neutralise(value: object) -> object:
    """Make a cell value safe to open in a spreadsheet.

    Text that a spreadsheet would run as a formula (it starts with `=`, `+`, `-` or `@`, possibly
    behind quotes already) gets one more `'` in front; `restore` takes one away, so export →
    import is a no-op for every text. Numbers are never touched: -5 is a number, not a formula.
    """
    if isinstance(value, str) and _RISKY.match(value):
        return "'" + value
    return value


def restore(value: object) -> object:
    """Undo `neutralise` on a value read back from a file."""
    if isinstance(value, str) and _NEUTRALISED.match(value):
        return value[1:]
    return value


def neutralise_row(row: Iterable[object]) -> list[object]:
    """`neutralise` every cell of a row."""
    return [neutralise(v) for v in row]
