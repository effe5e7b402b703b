"""Small shared pieces of the assessment services: statuses, breakdown text, item keys."""

from __future__ import annotations

import datetime as dt

from pmm.i18n import _

ITEM_STATUSES = ("reported", "not_available")
KPI_STATUSES = ("reported", "not_applicable", "not_available")


def now_or(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


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


def format_breakdown(pairs: dict[str, str] | tuple[tuple[str, str], ...]) -> str:
    """The canonical text: pairs in key order, `;`-joined; "" for the total."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return ";".join(f"{k}={v}" for k, v in sorted(items))


def item_key(item: str, year: int, breakdown: str) -> str:
    """How a value is named in messages and in the audit trail: `declarations[2024]{flow=IM}`."""
    return f"{item}[{year}]" + (f"{{{breakdown}}}" if breakdown else "")
