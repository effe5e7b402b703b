"""Signing in: sessions, API tokens, login throttling, CSRF tokens, the signing secret.

- A session is a random token in a signed, HttpOnly, SameSite=Lax cookie (Secure behind TLS);
  the database keeps only its SHA-256, so logging out or changing the password ends it on every
  worker at once.
- An API token is shown once to its owner and stored as its SHA-256; it can be revoked.
- Failed sign-ins are recorded; too many per user name or per address in a window are refused
  with 429 (in the database, so all workers count together).
- CSRF: a synchronizer token, the HMAC of the session token (or, before signing in, of a
  visitor cookie) under the platform's secret; forms carry it in a hidden field, htmx in the
  `X-CSRF-Token` header.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pmm.errors import NotFound, PmmError
from pmm.i18n import _
from pmm.store.audit import entry, record
from pmm.store.models import ApiToken, LoginAttempt, User, WebSecret, WebSession

SESSION_COOKIE = "pmm_session"
VISITOR_COOKIE = "pmm_visitor"
LANG_COOKIE = "pmm_lang"
TOKEN_PREFIX = "pmm_"
WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_USER = 5  # per user name in WINDOW
MAX_FAILURES_ADDRESS = 20  # per address in WINDOW


class Throttled(PmmError):
    """Too many failed sign-ins: try again later (HTTP 429)."""

    kind = "throttled"
    exit_code = 75
    http_status = 429


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def platform_secret(session: Session) -> str:
    """The signing secret kept in the database (made by the first worker that needs it)."""
    found = session.get(WebSecret, "signing")
    if found is not None:
        return found.value
    value = secrets.token_urlsafe(48)
    try:
        with session.begin_nested():
            session.add(WebSecret(name="signing", value=value))
            session.flush()
    except IntegrityError:  # another worker made it at the same moment
        return session.get(WebSecret, "signing").value  # type: ignore[union-attr]
    return value


class Signer:
    """Signs the session cookie and derives CSRF tokens from one secret."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()
        self._cookies = URLSafeSerializer(secret, salt="pmm-session")
        self._notices = URLSafeSerializer(secret, salt="pmm-notice")

    def sign(self, token: str) -> str:
        return self._cookies.dumps(token)

    def unsign(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            value = self._cookies.loads(cookie)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    def notice(self, text: str) -> str:
        """A one-line notice for the next page, signed so no link can make the site say it."""
        return self._notices.dumps(text)

    def read_notice(self, signed: str | None) -> str:
        if not signed:
            return ""
        try:
            value = self._notices.loads(signed)
        except BadSignature:
            return ""
        return value if isinstance(value, str) else ""

    def csrf(self, binding: str) -> str:
        return hmac.new(self._secret, b"csrf:" + binding.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, binding: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf(binding), token or "")


# ---------------------------------------------------------------- sign-in and sessions


def check_throttle(session: Session, username: str, address: str,
                   now: dt.datetime | None = None) -> None:
    since = (now or utcnow()) - WINDOW
    failed = select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.success.is_(False), LoginAttempt.at >= since)
    by_user = session.scalar(failed.where(LoginAttempt.username == username)) or 0
    by_address = session.scalar(failed.where(LoginAttempt.address == address)) or 0
    if by_user >= MAX_FAILURES_USER or by_address >= MAX_FAILURES_ADDRESS:
        raise Throttled(_("Too many failed sign-ins: wait {minutes} minutes and try again.")
                        .format(minutes=int(WINDOW.total_seconds() // 60)))


def note_attempt(session: Session, username: str, address: str, success: bool,
                 now: dt.datetime | None = None) -> None:
    now = now or utcnow()
    session.add(LoginAttempt(username=username[:64], address=address[:64], at=now,
                             success=success))
    # keep the table small: attempts older than a day say nothing any more
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - dt.timedelta(days=1)))


def open_session(session: Session, username: str, hours: int) -> str:
    """A new session for `username`; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(WebSession(token_hash=digest(token), username=username, created_at=now,
                           expires_at=now + dt.timedelta(hours=hours)))
    return token


def session_user(session: Session, token: str) -> str | None:
    found = session.get(WebSession, digest(token))
    if found is None or found.expires_at <= utcnow():
        return None
    return found.username


def session_owner(session: Session, token: str) -> User | None:
    """The user of an unexpired session, in one query (every signed-in page asks)."""
    row = session.execute(select(User, WebSession.expires_at)
                          .join(WebSession, WebSession.username == User.username)
                          .where(WebSession.token_hash == digest(token))).first()
    if row is None or row[1] <= utcnow():
        return None
    return row[0]


def close_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == digest(token)))


def close_all_sessions(session: Session, username: str, keep: str | None = None) -> None:
    query = delete(WebSession).where(WebSession.username == username)
    if keep is not None:
        query = query.where(WebSession.token_hash != digest(keep))
    session.execute(query)


# ---------------------------------------------------------------- API tokens


def create_token(session: Session, username: str, name: str) -> tuple[ApiToken, str]:
    """A new token for `username`; the clear token is returned once and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise PmmError(_("token name: expected 1–100 characters saying what the token is for"))
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(username=username, name=name, token_hash=digest(clear),
                     prefix=clear[:12], created_at=now)
    session.add(token)
    session.flush()
    record(session, [entry(username, "token.create", "user", key=username, field="token",
                           new=f"{name} ({token.prefix}…)", at=now)])
    return token, clear


def list_tokens(session: Session, username: str) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.username == username)
                                .order_by(ApiToken.id)).all())


def revoke_token(session: Session, username: str, token_id: int) -> None:
    """Revoke one of the user's own tokens (another user's token is 'not found')."""
    token = session.get(ApiToken, token_id)
    if token is None or token.username != username:
        raise NotFound(_("no API token #{id} of yours").format(id=token_id))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(session, [entry(username, "token.revoke", "user", key=username, field="token",
                               old=f"{token.name} ({token.prefix}…)", at=token.revoked_at)])


# A token's last use is written at most once per interval: a read through the API then costs no
# write (on SQLite one writer at a time serves every worker), and the owner's "last used" is
# right to within the interval.
LAST_USE_INTERVAL = dt.timedelta(minutes=1)


def token_owner(session: Session, clear: str) -> tuple[User | None, ApiToken | None]:
    """The owner of an unrevoked token and the token, in one query (None, None if unknown or
    revoked). Nothing is written: see `note_token_use`."""
    row = session.execute(select(ApiToken, User).outerjoin(User, User.username == ApiToken.username)
                          .where(ApiToken.token_hash == digest(clear))).first()
    if row is None or row[0].revoked_at is not None:
        return None, None
    return row[1], row[0]


def token_use_due(token: ApiToken, now: dt.datetime | None = None) -> bool:
    """Whether this use of `token` should be recorded (its last recorded use is older than
    `LAST_USE_INTERVAL`)."""
    now = now or utcnow()
    return token.last_used_at is None or now - token.last_used_at >= LAST_USE_INTERVAL


def note_token_use(session: Session, token_id: int, now: dt.datetime | None = None) -> bool:
    """Record a use of the token unless one was recorded less than `LAST_USE_INTERVAL` ago.

    The condition is in the UPDATE itself, so workers that see the same stale time at once
    write it once: the second finds the row already fresh (SQLite queues writers; PostgreSQL
    re-checks the condition on the row the first one committed). Returns whether it wrote."""
    now = now or utcnow()
    done = session.execute(
        update(ApiToken).where(ApiToken.id == token_id)
        .where((ApiToken.last_used_at.is_(None))
               | (ApiToken.last_used_at <= now - LAST_USE_INTERVAL))
        .values(last_used_at=now).execution_options(synchronize_session=False))
    return bool(done.rowcount)


def active_user(session: Session, username: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    return user if user is not None and user.active else None
