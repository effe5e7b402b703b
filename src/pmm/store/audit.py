"""The audit trail: append-only rows saying who changed what, when, from what, to what, and why.

Services add entries with `record` in the same transaction as the change itself, so a change and
its trace are committed (or rolled back) together. There is no update or delete path here, and
the database refuses both (triggers created by the first migration).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from pmm.access import Principal, may_read_audit
from pmm.store.models import AuditEntry


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def text_of(value: Any) -> str | None:
    """How a value is written in the trail: None stays None, numbers in their shortest form."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def entry(actor: str, action: str, entity: str, *, key: str = "", field: str = "",
          old: Any = None, new: Any = None, reason: str = "", cycle: int | None = None,
          member: str | None = None, at: dt.datetime | None = None) -> dict[str, Any]:
    """One audit row as a mapping (pass a list of them to `record`)."""
    return {"at": at or utcnow(), "actor": actor, "action": action, "entity": entity, "key": key,
            "field": field, "old": text_of(old), "new": text_of(new), "reason": reason or "",
            "cycle": cycle, "member": member}


def record(session: Session, entries: list[dict[str, Any]]) -> None:
    """Append entries (one bulk insert)."""
    if entries:
        session.execute(insert(AuditEntry), entries)


def trail(session: Session, who: Principal, *, cycle: int | None = None,
          member: str | None = None, actor: str | None = None,
          limit: int | None = None) -> list[AuditEntry]:
    """The entries `who` may read (`pmm.access.may_read_audit`), in the order they were made,
    filtered; `limit` keeps the newest ones."""
    query = select(AuditEntry)
    if cycle is not None:
        query = query.where(AuditEntry.cycle == cycle)
    if member is not None:
        query = query.where(AuditEntry.member == member.upper())
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    rows = [r for r in session.scalars(query.order_by(AuditEntry.id))
            if may_read_audit(who, r.member, r.cycle, r.entity)]
    return rows[-limit:] if limit is not None and limit > 0 else ([] if limit else rows)
