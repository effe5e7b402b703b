"""Small shared pieces of the assessment services: actors, roles, breakdown text, item keys."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pmm.errors import PermissionDenied, PmmError
from pmm.i18n import _
from pmm.store.models import User

ITEM_STATUSES = ("reported", "not_available")
KPI_STATUSES = ("reported", "not_applicable", "not_available")


@dataclass(frozen=True)
class Actor:
    """Who is acting: a platform user, with the role checked by every service."""

    username: str
    role: str
    member: str | None = None


def actor_for(session: Session, username: str | None) -> Actor:
    """The active user `username` as an actor (a clear error when unknown or missing)."""
    if not username:
        raise PmmError(_("Say who is acting: --as USER (or PMM_USER); every change is recorded "
                         "under a user name."))
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise PmmError(_("--as {name}: no such user (see `pmm user list`)").format(name=username))
    if not user.active:
        raise PermissionDenied(_("--as {name}: this user is disabled").format(name=username))
    return Actor(user.username, user.role, user.member)


def require(actor: Actor, action: str, *roles: str, member: str | None = None) -> None:
    """Refuse unless the actor has one of `roles` (and, for member roles, is of `member`)."""
    if actor.role not in roles:
        raise PermissionDenied(_("{user} ({role}) may not {action}: this needs the role {roles}.")
                               .format(user=actor.username, role=actor.role, action=action,
                                       roles=_(" or ").join(roles)))
    if member is not None and actor.role in ("ncp", "viewer") and actor.member != member:
        raise PermissionDenied(_("{user} is the {role} of {own}, not of {member}: may not "
                                 "{action}.").format(user=actor.username, role=actor.role,
                                                     own=actor.member, member=member,
                                                     action=action))


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
