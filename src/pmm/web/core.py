"""What every route shares: who is asking (the guard), the language, rendering, safe redirects.

`guard` runs before every route: it picks the language, identifies the principal (an API token
in `Authorization: Bearer`, else the session cookie, else the anonymous public), checks the CSRF
token of every state-changing request made with a cookie, and asks the access policy whether
the route's permission (`pmm.web.permissions.ROUTES`) is granted.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from pmm import access
from pmm.access import ANONYMOUS, Principal
from pmm.errors import PermissionDenied, PmmError
from pmm.i18n import LANGUAGES, _, set_language
from pmm.store.engine import reading, transaction
from pmm.store.users import principal_of
from pmm.web import auth
from pmm.web.permissions import check, permission
from pmm.web.settings import Settings

HERE = Path(__file__).parent
# Path parameters bounded like the database's integers (an address is never a crash)
Year = Annotated[int, PathParam(ge=1000, le=9999)]
RowId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
Version = Annotated[int, Form(ge=0, le=2**31 - 1)]
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(_=lambda text: _(text), state_label=access.state_label,
                             role_label=access.role_label, action_label=access.action_label)


class NotSignedIn(PmmError):
    """A route for signed-in users, asked anonymously (HTTP 401; pages redirect to sign-in)."""

    kind = "unauthenticated"
    exit_code = 4
    http_status = 401


class CsrfFailed(PmmError):
    """A state-changing request without the page's CSRF token (HTTP 403)."""

    kind = "forbidden"
    exit_code = 4
    http_status = 403


@dataclass
class Ctx:
    """One request: its principal, language, CSRF token and the cookies to set."""

    request: Request
    settings: Settings
    principal: Principal
    lang: str
    csrf: str
    session_token: str | None = None
    via_token: bool = False
    set_cookies: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.settings.database_url

    @property
    def signed_in(self) -> bool:
        return self.principal.role != "public"

    def db(self):  # type: ignore[no-untyped-def]
        """A transaction on the platform's database (committed at the end, or rolled back)."""
        return transaction(self.url)

    def read(self):  # type: ignore[no-untyped-def]
        """A transaction for reading only (no write lock on SQLite)."""
        return reading(self.url)


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def signer_of(request: Request) -> auth.Signer:
    return request.app.state.signer


def pick_language(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get(auth.LANG_COOKIE)
    if lang not in LANGUAGES:
        header = request.headers.get("accept-language", "")
        lang = "fr" if header[:2].lower() == "fr" else "en"
    return lang


async def _form_token(request: Request) -> str | None:
    """The CSRF token a form sent in its hidden field (read here: the body is cached)."""
    if request.method not in UNSAFE:
        return None
    kind = request.headers.get("content-type", "")
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        try:
            form = await request.form()
        except Exception:  # a malformed body: the route's own parsing reports it
            return None
        value = form.get("csrf_token")
        return value if isinstance(value, str) else None
    return None


def guard(request: Request, form_token: str | None = Depends(_form_token)) -> Ctx:
    lang = pick_language(request)
    set_language(lang)
    settings = settings_of(request)
    signer = signer_of(request)
    route = request.scope.get("route")
    needed = permission(request.method, getattr(route, "path", ""))
    if needed is None:
        raise PermissionDenied(_("This address has no declared permission."))
    principal, token, via_token = ANONYMOUS, None, False
    header = request.headers.get("authorization", "")
    cookie_token = signer.unsign(request.cookies.get(auth.SESSION_COOKIE))
    if header or cookie_token:
        used = None  # the id of a token whose use is due to be recorded
        # only read here: a request that reads writes nothing (a token's use at most once a
        # minute, below), so readers never queue on the database's writers
        with reading(settings.database_url) as session:
            user = None
            if header:
                scheme, _sep, clear = header.partition(" ")
                if scheme.lower() != "bearer" or not clear.strip():
                    raise NotSignedIn(_("Authorization: expected 'Bearer <token>'."))
                user, api_token = auth.token_owner(session, clear.strip())
                if api_token is None:
                    raise NotSignedIn(_("This API token is not valid or was revoked."))
                via_token = True
                if auth.token_use_due(api_token):
                    used = api_token.id
            elif cookie_token:
                user = auth.session_owner(session, cookie_token)
                token = cookie_token if user is not None else None
            if user is not None and user.active:
                principal = principal_of(session, user)
            elif via_token:
                raise NotSignedIn(_("The owner of this API token is disabled."))
        if used is not None:
            with transaction(settings.database_url) as session:
                auth.note_token_use(session, used)
    visitor = request.cookies.get(auth.VISITOR_COOKIE, "")
    set_cookies: dict[str, str] = {}
    if not token and len(visitor) < 20:
        visitor = secrets.token_urlsafe(24)
        set_cookies[auth.VISITOR_COOKIE] = visitor
    binding = token or visitor
    ctx = Ctx(request, settings, principal, lang, signer.csrf(binding), token, via_token,
              set_cookies)
    if request.method in UNSAFE and not via_token:
        sent = request.headers.get("x-csrf-token") or form_token
        if not signer.csrf_ok(binding, sent):
            raise CsrfFailed(_("This form has expired or did not come from this site: reload "
                               "the page and try again."))
    verdict = check(principal, needed, dict(request.path_params))
    if not verdict:
        if principal.role == "public":
            raise NotSignedIn(verdict.reason)
        raise PermissionDenied(verdict.reason)
    return ctx


def finish(ctx: Ctx, response: Response) -> Response:
    """Set the cookies the request decided on (visitor cookie for CSRF before signing in)."""
    for name, value in ctx.set_cookies.items():
        response.set_cookie(name, value, httponly=True, samesite="lax",
                            secure=ctx.settings.secure, max_age=60 * 60 * 24 * 30)
    return response


def render(ctx: Ctx, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    set_language(ctx.lang)
    context.update(ctx=ctx, who=ctx.principal, lang=ctx.lang, csrf=ctx.csrf,
                   path=ctx.request.url.path, query=ctx.request.url.query,
                   notice=signer_of(ctx.request).read_notice(
                       ctx.request.query_params.get("notice")))
    context.setdefault("title", "")
    response = templates.TemplateResponse(ctx.request, name, context, status_code=status)
    return finish(ctx, response)  # type: ignore[return-value]


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after a form, never another site (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    return target


def redirect(ctx: Ctx, target: str, message: str = "") -> Response:
    """After a successful form: see-other to a local page (with a one-line notice)."""
    target = safe_next(target)
    if message:
        from urllib.parse import quote

        signed = signer_of(ctx.request).notice(message)
        target += ("&" if "?" in target else "?") + "notice=" + quote(signed)
    return finish(ctx, RedirectResponse(target, status_code=303))
