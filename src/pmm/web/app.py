"""The application: routers, security headers, upload limits, one error shape for pages and API."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pmm.errors import PmmError
from pmm.i18n import _, set_language, use_locale
from pmm.store.engine import transaction
from pmm.web import auth
from pmm.web.core import HERE, NotSignedIn, pick_language, templates
from pmm.web.settings import Settings

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
       "object-src 'none'; frame-ancestors 'none'")


class RequestLanguage:
    """Each request speaks its own language (`pmm.i18n.use_locale`, a context variable): set
    here, around the whole request, so dependencies, routes, services and error pages that run
    in worker threads all inherit it, and concurrent requests never mix languages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with use_locale(pick_language(Request(scope))):
            await self.app(scope, receive, send)


class SecurityHeaders:
    """Headers on every response: CSP without inline script, no framing, no sniffing, HSTS
    behind TLS; and a limit on the size of every request body (413 above it)."""

    def __init__(self, app: ASGIApp, secure: bool, max_body: int) -> None:
        self.app, self.secure, self.max_body = app, secure, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_body:
            await self._refuse(scope, receive, send, 413, "too_large", _(
                "The upload is too large: at most {n} MB.").format(n=self.max_body // 2**20))
            return
        if not length and headers.get(b"transfer-encoding"):
            # a body of unknown size could be any size: ask for its length
            await self._refuse(scope, receive, send, 411, "length_required", _(
                "Send the request with a Content-Length."))
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"content-security-policy", CSP.encode()),
                         (b"x-content-type-options", b"nosniff"),
                         (b"x-frame-options", b"DENY"),
                         (b"referrer-policy", b"same-origin")]
                if self.secure:
                    extra.append((b"strict-transport-security",
                                  b"max-age=31536000; includeSubDomains"))
                present = {k.lower() for k, _v in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in extra if k not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, kind: str,
                      text: str) -> None:
        response = JSONResponse({"error": {"status": status, "kind": kind, "messages": [text]}},
                                status_code=status, headers={"Connection": "close"})
        await response(scope, receive, send)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(request: Request, status: int, kind: str, messages: list[str],
                   headers: dict[str, str] | None = None) -> Response:
    """The one error shape: JSON `{"error": {status, kind, messages}}` or the error page."""
    if wants_json(request):
        return JSONResponse({"error": {"status": status, "kind": kind, "messages": messages}},
                            status_code=status, headers=headers)
    lang = pick_language(request)
    set_language(lang)
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "kind": kind, "messages": messages,
                                "lang": lang, "who": None, "ctx": None, "csrf": "",
                                "path": request.url.path, "query": "", "notice": "",
                                "title": _("Error")},
        status_code=status, headers=headers)


def create_app(settings: Settings) -> FastAPI:
    """The platform on `settings.database_url` (the schema must be current)."""
    from pmm.web import (
        api,
        api_results,
        pages_account,
        pages_frameworks,
        pages_oversight,
        pages_public,
        pages_releases,
        pages_reports,
        pages_results,
        pages_secretariat,
        pages_submission,
    )

    app = FastAPI(title="customs-pmm", version="1", docs_url=None, redoc_url=None,
                  openapi_url="/api/v1/openapi.json",
                  description="The WCO Performance Measurement Mechanism platform's JSON API.")
    app.state.settings = settings
    secret = settings.secret_key
    if not secret:
        with transaction(settings.database_url) as session:
            secret = auth.platform_secret(session)
    app.state.signer = auth.Signer(secret)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.routers = [m.router for m in (pages_public, pages_results, pages_account,
                                            pages_submission,
                                            pages_secretariat, pages_frameworks, api,
                                            api_results)]
    app.state.routers += [pages_releases.router, pages_oversight.router,
                          pages_reports.router]  # secpages
    for router in app.state.routers:
        app.include_router(router)

    @app.exception_handler(PmmError)
    async def _domain(request: Request, exc: PmmError) -> Response:
        if isinstance(exc, NotSignedIn) and not wants_json(request) \
                and request.method in ("GET", "HEAD"):
            return RedirectResponse("/login?next=" + quote(request.url.path), status_code=303)
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
        return error_response(request, exc.http_status, exc.kind, exc.lines or [str(exc)],
                              headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
            lines.append(f"{where}: {err.get('msg', '')}")
        return error_response(request, 422, "invalid", lines)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        kinds = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
        text = {404: _("There is no page at this address."),
                405: _("This address does not accept this method.")}.get(
            exc.status_code, str(exc.detail))
        return error_response(request, exc.status_code, kinds.get(exc.status_code, "error"),
                              [text], getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        import logging

        logging.getLogger("pmm.web").exception("unexpected error on %s", request.url.path)
        return error_response(request, 500, "internal", [
            _("Something went wrong on the platform; nothing was saved. The error was logged.")])

    app.add_middleware(SecurityHeaders, secure=settings.secure, max_body=settings.max_upload)
    app.add_middleware(RequestLanguage)  # outermost: even a refused upload speaks French
    return app


def served(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the application serves (HEAD aside)."""
    found = {("GET", app.openapi_url or "")}
    for router in app.state.routers:
        for route in router.routes:
            found |= {(m, route.path) for m in getattr(route, "methods", ()) if m != "HEAD"}
    return found


def make_app() -> Any:
    """The uvicorn factory for `pmm serve` (settings from the environment)."""
    return create_app(Settings.from_env())


__all__ = ["HTMLResponse", "create_app", "make_app"]
