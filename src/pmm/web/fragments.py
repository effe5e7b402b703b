"""Rendered fragments of the pages that read a release, shared by every worker through the
database.

The main content of the public results page and of a member's results page is rendered once per
inputs for the whole deployment, not once per worker process: stored in the `fragments` table
under the SHA-256 of everything it derives from, and kept in front of it in a small per-process
LRU. What varies per request (the header with the user's name, the CSRF token of the sign-out
form, the language switch, a notice) is rendered around it on every request.

A key holds, besides the page's own parameters, the identity of the release(s) and the cycles'
data digests as read in the same request, the reader's audience (role, member, assigned
submissions: what `pmm.access` decides from) and a digest of the installed package (code,
templates, catalogues), so a withdrawal, a new release, a new submission revision or a deploy
each simply lead to another key; a fragment is only ever served under the key it was rendered
for. The table is bounded (the oldest beyond `cap` go on each insert) and a fragment above
`max_bytes` is served but not kept.

Pages built here carry a weak ETag over the fragment's key and the per-request part (so a 304
is only ever given for exactly the bytes the reader would get), `Vary: Cookie, Accept-Language`
and `Cache-Control: private, no-cache`. They are sent gzip-compressed when the client accepts it,
at almost no cost: the fragment is compressed once, when stored (a raw deflate stream flushed to
a byte boundary, so it can be joined), and the per-request part goes in stored (uncompressed)
deflate blocks, so the CSRF token is never compressed together with anything (no BREACH oracle).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import struct
import threading
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastapi.responses import Response
from jinja2 import StrictUndefined
from markupsafe import Markup
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import pmm
from pmm.access import Principal
from pmm.analysis import release as rel_mod
from pmm.analysis.memo import Flights
from pmm.errors import PmmError
from pmm.store.engine import transaction
from pmm.store.models import Fragment as FragmentRow
from pmm.web.core import Ctx, render, templates

log = logging.getLogger("pmm.web")
MiB = 1024 * 1024
# fragments are rendered without the request: a template that asks for the reader (`who`,
# `csrf`, `ctx`) fails loudly instead of rendering it empty into a shared fragment
_ENV = templates.env.overlay(undefined=StrictUndefined)
_MARK = f"<!--fragment {secrets.token_hex(8)}-->"
_MAKING = threading.Lock()
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no mtime


@cache
def build() -> str:
    """A digest of the installed package's files (code, templates, catalogues, translations):
    a deploy never serves a fragment rendered by other code (computed once per process)."""
    root = Path(pmm.__file__).parent
    digest = hashlib.sha256(pmm.__version__.encode())
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def audience(who: Principal) -> tuple:
    """What the access policy decides from (the user name aside): role, member, assignments."""
    return (who.role, who.member, sorted(who.assigned))


def release_key(rel: rel_mod.Release | None) -> tuple | None:
    """A release as the shared key names it: `release.identity` without the database URL (the
    table lives in that database, and the URL may hold a password)."""
    if rel is None:
        return None
    return (rel.id, rel.number, rel.created_at, rel.data_digest, rel.withdrawn_at)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    return repr(value)  # dataclasses (disclosure rules): a stable text of their fields


def key(kind: str, *parts: Any, build_id: str | None = None) -> str:
    """The SHA-256 naming a fragment of `kind` derived from exactly `parts`."""
    text = json.dumps([build_id or build(), kind, parts], default=_plain,
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def render_fragment(name: str, **context: Any) -> str:
    """A fragment template rendered without the request (in the request's language)."""
    return _ENV.get_template(name).render(context)


@dataclass(frozen=True)
class Fragment:
    key: str
    html: bytes  # UTF-8
    deflated: bytes  # raw deflate, sync-flushed: joinable inside a longer stream

    @classmethod
    def of(cls, key: str, html: str) -> Fragment:
        raw = html.encode("utf-8")
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        return cls(key, raw, packer.compress(raw) + packer.flush(zlib.Z_SYNC_FLUSH))

    @property
    def size(self) -> int:
        return len(self.html) + len(self.deflated)


class Fragments:
    """The shared table of one database with a per-process LRU in front (one per application,
    that is per worker). `stats` counts where each fragment came from: `memory`, `shared` (the
    table: rendered by this or another worker) or `rendered` here."""

    def __init__(self, url: str, *, cap: int = 2000, max_bytes: int = 4 * MiB,
                 memory: int = 64 * MiB) -> None:
        self.url, self.cap, self.max_bytes, self.memory = url, cap, max_bytes, memory
        self.stats: Counter[str] = Counter()
        self._items: OrderedDict[str, Fragment] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()
        self._making = Flights()

    def get(self, session: Session, key: str) -> Fragment | None:
        """The fragment under `key`: from this process, else from the table (read in the
        caller's transaction), else None."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.stats["memory"] += 1
                return found
        row = session.execute(select(FragmentRow.content, FragmentRow.size)
                              .where(FragmentRow.key == key)).first()
        if row is None:
            return None
        blob, size = row
        try:
            html = zlib.decompressobj(-15).decompress(blob)
        except zlib.error:
            html = b""
        if len(html) != size:  # a damaged row is rendered again, never served
            log.warning("fragment %s is damaged; rendering it again", key)
            return None
        found = Fragment(key, html, bytes(blob))
        self._remember(found)
        self.stats["shared"] += 1
        return found

    def get_or_make(self, session: Session, key: str, make: Callable[[], str]
                    ) -> tuple[Fragment, bool]:
        """The fragment under `key`, rendered by `make` (reading through `session`) when neither
        this process nor the table has it, and whether it was rendered here. Threads of this
        process asking for the same key at once render it once (readers arriving together after
        a release wait for the first). The caller stores what it rendered with `share` AFTER
        its read transaction: writing now would take a second connection from the pool, whose
        connections the waiting threads hold."""
        found = self.get(session, key)
        if found is not None:
            return found, False
        with self._making.of(key):
            with self._lock:
                found = self._items.get(key)  # rendered by the thread this one waited for
            if found is not None:
                return found, False
            fragment = Fragment.of(key, make())
            self.stats["rendered"] += 1
            self._remember(fragment)
            return fragment, True

    def put(self, kind: str, key: str, html: str) -> Fragment:
        """Keep a fragment just rendered (in this process and in the table: `share`)."""
        fragment = Fragment.of(key, html)
        self.stats["rendered"] += 1
        self._remember(fragment)
        self.share(kind, fragment)
        return fragment

    def share(self, kind: str, fragment: Fragment) -> None:
        """Store a fragment rendered here in the table for every worker, within the size limit.
        The table is a cache: failing to write it is logged, and the page is served all the
        same."""
        if len(fragment.html) > self.max_bytes:
            return
        try:
            with transaction(self.url) as session:
                self._insert(session, kind, fragment)
        except (PmmError, SQLAlchemyError) as exc:
            log.warning("fragment %s not kept in the database: %s", fragment.key, exc)

    def _insert(self, session: Session, kind: str, fragment: Fragment) -> None:
        dialect = session.get_bind().dialect.name
        make = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # two workers rendering the same key at once both insert it: the second is ignored
        done = session.execute(make(FragmentRow).values(
            key=fragment.key, kind=kind, size=len(fragment.html), content=fragment.deflated,
            created_at=dt.datetime.now(dt.UTC)).on_conflict_do_nothing(index_elements=["key"]))
        if done.rowcount and session.scalar(select(func.count()).select_from(FragmentRow)) \
                > self.cap:
            oldest = select(FragmentRow.key).order_by(
                FragmentRow.created_at.desc(), FragmentRow.key.desc()).offset(self.cap)
            session.execute(delete(FragmentRow).where(FragmentRow.key.in_(oldest.subquery()
                                                                           .select())))

    def _remember(self, fragment: Fragment) -> None:
        if fragment.size > self.memory:
            return
        with self._lock:
            if fragment.key in self._items:
                return
            self._items[fragment.key] = fragment
            self._used += fragment.size
            while self._used > self.memory:
                _key, old = self._items.popitem(last=False)
                self._used -= old.size

    def clear(self) -> None:
        """Forget this process's copies (the table stays)."""
        with self._lock:
            self._items.clear()
            self._used = 0


def of(ctx: Ctx) -> Fragments:
    """The application's fragment cache (made on first use: one per application)."""
    state = ctx.request.app.state
    with _MAKING:
        if getattr(state, "fragments", None) is None:
            state.fragments = Fragments(ctx.settings.database_url)
    return state.fragments


def respond(ctx: Ctx, fragment: Fragment, title: str, *, lead: str | None = None,
            **context: Any) -> Response:
    """The page: the request's own header and footer around the fragment (and, before it, the
    template `lead` rendered for this reader with `context`), with an ETag (304 when the reader
    already has exactly these bytes) and gzip when the client accepts it."""
    shell = render(ctx, "fragment.html", fragment=Markup(_MARK), title=title, lead=lead,
                   **context)
    head, mark, tail = bytes(shell.body).partition(_MARK.encode())
    if not mark:
        raise RuntimeError("fragment.html lost its fragment")
    tag = 'W/"' + hashlib.sha256(fragment.key.encode() + b"\0" + bytes(shell.body)).hexdigest()[
        :40] + '"'
    extra = {"ETag": tag, "Vary": "Cookie, Accept-Language, Accept-Encoding",
             "Cache-Control": "private, no-cache"}
    if _matches(ctx.request.headers.get("if-none-match", ""), tag):
        unchanged = Response(status_code=304, headers=extra)
        unchanged.raw_headers += [(k, v) for k, v in shell.raw_headers if k == b"set-cookie"]
        return unchanged
    if _accepts_gzip(ctx.request.headers.get("accept-encoding", "")):
        body = _gzip(head, fragment, tail)
        extra["Content-Encoding"] = "gzip"
    else:
        body = head + fragment.html + tail
    shell.body = body
    shell.headers["content-length"] = str(len(body))
    for name, value in extra.items():
        shell.headers[name] = value
    return shell


def _matches(header: str, tag: str) -> bool:
    """If-None-Match, compared weakly as RFC 9110 asks for GET."""
    if header.strip() == "*":
        return True
    opaque = tag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == opaque for t in header.split(","))


def _accepts_gzip(header: str) -> bool:
    for item in header.split(","):
        name, _sep, params = item.strip().partition(";")
        if name.strip().lower() in ("gzip", "x-gzip"):
            q = params.strip().lower()
            if q.startswith("q="):
                try:
                    return float(q[2:]) > 0
                except ValueError:
                    return False
            return True
    return False


def _stored(data: bytes, final: bool) -> bytes:
    """Deflate blocks that hold `data` as it is (level 0): the per-request part, with the CSRF
    token, is never compressed."""
    packer = zlib.compressobj(0, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)


def _gzip(head: bytes, fragment: Fragment, tail: bytes) -> bytes:
    crc = zlib.crc32(tail, zlib.crc32(fragment.html, zlib.crc32(head)))
    size = len(head) + len(fragment.html) + len(tail)
    return b"".join((_GZIP_HEADER, _stored(head, False), fragment.deflated, _stored(tail, True),
                     struct.pack("<II", crc, size & 0xFFFFFFFF)))
