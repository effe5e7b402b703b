"""`pmm serve`: the web platform, with uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from pmm.i18n import _

app = typer.Typer(no_args_is_help=False)


@app.command("serve", help=_(
    "Serve the web platform (pages for Members, peer reviewers, the Secretariat and the "
    "public; the JSON API under /api/v1)."))
def serve(
    host: Annotated[str, typer.Option("--host", help=_("Address to listen on."))] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535,
                                      help=_("Port to listen on."))] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help=_(
        "Worker processes (they share sessions and limits through the database)."))] = 1,
    database_url: Annotated[str | None, typer.Option(
        "--database-url", envvar="PMM_DATABASE_URL", show_envvar=True,
        help=_("Database: sqlite:///FILE (default sqlite:///pmm.db) or "
               "postgresql://user@host/db."))] = None,
    secure: Annotated[bool, typer.Option(
        "--secure", envvar="PMM_SECURE", help=_(
            "The site is reached over HTTPS (behind a TLS proxy): Secure cookies and HSTS."))
    ] = False,
) -> None:
    import uvicorn

    from pmm.store.engine import dispose, resolve_url
    from pmm.web.app import create_app
    from pmm.web.settings import Settings

    url = resolve_url(database_url)
    create_app(Settings(url, secure=secure))  # refuses now, clearly, if the database is not ready
    dispose(url)
    os.environ["PMM_DATABASE_URL"] = url  # the workers build the same application
    os.environ["PMM_SECURE"] = "true" if secure else "false"
    typer.echo(_("Serving the PMM platform at http://{host}:{port}/ (stop with Ctrl+C)").format(
        host=host, port=port))
    # idle connections kept 75 s (uvicorn's default, 5 s, is also common clients' own expiry:
    # a client reusing a connection as the server closes it gets a transport error)
    uvicorn.run("pmm.web.app:make_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", proxy_headers=secure, server_header=False,
                timeout_keep_alive=75)
