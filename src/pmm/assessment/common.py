"""Small shared pieces of the assessment services: statuses, item keys (breakdown text is in
`pmm.conventions`)."""

from __future__ import annotations

import datetime as dt

ITEM_STATUSES = ("reported", "not_available")
KPI_STATUSES = ("reported", "not_applicable", "not_available")


def now_or(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)



def item_key(item: str, year: int, breakdown: str) -> str:
    """How a value is named in messages and in the audit trail: `declarations[2024]{flow=IM}`."""
    return f"{item}[{year}]" + (f"{{{breakdown}}}" if breakdown else "")
