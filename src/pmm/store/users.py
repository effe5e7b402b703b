"""Users and roles, with argon2 password hashes (the web platform signs in against these).

Roles: `ncp` (National Contact Point of one member: edits and submits its data), `viewer` (reads
one member's data), `peer_reviewer`, `secretariat` (WCO Secretariat: cycles, users, validation,
publication) and `working_body` (member of a WCO working body: reads WCO-level results).
"""

from __future__ import annotations

import datetime as dt
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from pmm.access import ROLES, Principal
from pmm.errors import NotFound, PermissionDenied, PmmError
from pmm.i18n import _
from pmm.store.audit import entry, record, utcnow
from pmm.store.models import Cycle, ReviewAssignment, Submission, User

MEMBER_ROLES = ("ncp", "viewer")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
MIN_PASSWORD = 8
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise PmmError(_("The password is too short: at least {n} characters are needed.")
                       .format(n=MIN_PASSWORD))
    return _hasher.hash(password)


def check_member(iso3: str) -> str:
    """The member code, upper-cased, if it is a known member (raises PmmError otherwise)."""
    from pmm.members import member

    return member(iso3.upper()).iso3


def add_user(session: Session, username: str, role: str, password: str | None = None, *,
             member: str | None = None, name: str = "", email: str = "",
             password_hash: str | None = None, actor: str = "admin",
             now: dt.datetime | None = None) -> User:
    """Create a user; `password_hash` lets a caller reuse one hash (demo accounts)."""
    problems = []
    if not USERNAME.match(username):
        problems.append(_("user name {name!r}: expected 2–64 lower-case letters, digits or . _ @ -")
                        .format(name=username))
    if role not in ROLES:
        problems.append(_("role {role!r}: expected one of {roles}").format(
            role=role, roles=", ".join(ROLES)))
    if role in MEMBER_ROLES and not member:
        problems.append(_("role {role} needs a member (the ISO 3166-1 alpha-3 code of the "
                          "administration)").format(role=role))
    if member and role not in MEMBER_ROLES:
        problems.append(_("role {role} is not tied to a member: leave the member out").format(
            role=role))
    if problems:
        raise PmmError(*problems)
    if member:
        member = check_member(member)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise PmmError(_("user {name!r} already exists").format(name=username))
    if password_hash is None:
        if password is None:
            raise PmmError(_("a password is needed"))
        password_hash = hash_password(password)
    now = now or utcnow()
    user = User(username=username, role=role, member=member, name=name, email=email,
                password_hash=password_hash, active=True, created_at=now, version=1)
    session.add(user)
    session.flush()
    record(session, [entry(actor, "user.add", "user", key=username, field="role", new=role,
                           member=member, at=now)])
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(_("no user {name!r}").format(name=username))
    return user


def set_password(session: Session, username: str, password: str, *, actor: str = "admin",
                 now: dt.datetime | None = None) -> None:
    user = get_user(session, username)
    user.password_hash = hash_password(password)
    user.version += 1
    record(session, [entry(actor, "user.password", "user", key=username, field="password",
                           new="(changed)", member=user.member, at=now)])


def set_active(session: Session, username: str, active: bool, *, actor: str = "admin",
               reason: str = "", now: dt.datetime | None = None) -> None:
    user = get_user(session, username)
    if user.active != active:
        record(session, [entry(actor, "user.active", "user", key=username, field="active",
                               old=user.active, new=active, reason=reason, member=user.member,
                               at=now)])
        user.active = active
        user.version += 1


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this password, else None (same answer for every failure)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def principal_for(session: Session, username: str | None) -> Principal:
    """The active stored user `username` as a principal, with its review assignments."""
    if not username:
        raise PermissionDenied(_("Say who you are: name a user (see `pmm user list`); every "
                                 "read and change is made as a user and recorded."))
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(_("no user {name!r}").format(name=username))
    if not user.active:
        raise PermissionDenied(_("user {name!r} is disabled").format(name=username))
    return principal_of(session, user)


def principal_of(session: Session, user: User) -> Principal:
    """A stored user already read (and checked active) as a principal: one more query only for
    a peer reviewer's assignments."""
    assigned: frozenset[tuple[int, str]] = frozenset()
    if user.role == "peer_reviewer":
        rows = session.execute(
            select(Cycle.year, Submission.member)
            .join(Submission, Submission.cycle_id == Cycle.id)
            .join(ReviewAssignment, ReviewAssignment.submission_id == Submission.id)
            .where(ReviewAssignment.reviewer == user.username)).all()
        assigned = frozenset((int(y), str(m)) for y, m in rows)
    return Principal(user.username, user.role, user.member, assigned)
