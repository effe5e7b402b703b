"""Signing in and out, the password, API tokens, and each role's start page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response
from sqlalchemy import select

from pmm.access import may_read_submission
from pmm.assessment.cycles import list_cycles
from pmm.errors import PmmError
from pmm.i18n import _
from pmm.store.engine import transaction
from pmm.store.models import Cycle, ReviewAssignment, Submission
from pmm.store.users import authenticate, set_password
from pmm.web import auth
from pmm.web.core import Ctx, RowId, finish, guard, redirect, render, safe_next
from pmm.web.submission_view import released_members

router = APIRouter(include_in_schema=False)  # pages: not part of the JSON API


def client_address(ctx: Ctx) -> str:
    client = ctx.request.client
    return client.host if client else "unknown"


@router.get("/login")
def login_form(next: str = "/home", ctx: Ctx = Depends(guard)) -> Response:
    return render(ctx, "account/login.html", next=safe_next(next, "/home"), error="",
                  username="", title=_("Sign in"))


@router.post("/login")
def login(username: str = Form(..., max_length=64), password: str = Form(..., max_length=1024),
          next: str = Form("/home"), ctx: Ctx = Depends(guard)) -> Response:
    username = username.strip().lower()
    address = client_address(ctx)
    target = safe_next(next, "/home")
    try:
        with transaction(ctx.url) as session:
            auth.check_throttle(session, username, address)
    except auth.Throttled as exc:  # said next to the form, which stays filled in
        page = render(ctx, "account/login.html", status=429, next=target, username=username,
                      error=str(exc), title=_("Sign in"))
        page.headers["Retry-After"] = str(int(auth.WINDOW.total_seconds()))
        return page
    with transaction(ctx.url) as session:
        user = authenticate(session, username, password)
        auth.note_attempt(session, username, address, user is not None)
        token = auth.open_session(session, user.username, ctx.settings.session_hours) \
            if user is not None else None
    if token is None:
        return render(ctx, "account/login.html", status=401, next=target, username=username,
                      error=_("The user name or the password is wrong."), title=_("Sign in"))
    response = redirect(ctx, target)
    response.set_cookie(auth.SESSION_COOKIE, ctx.request.app.state.signer.sign(token),
                        httponly=True, samesite="lax", secure=ctx.settings.secure,
                        max_age=ctx.settings.session_hours * 3600)
    return response


@router.post("/logout")
def logout(ctx: Ctx = Depends(guard)) -> Response:
    if ctx.session_token:
        with transaction(ctx.url) as session:
            auth.close_session(session, ctx.session_token)
    response = redirect(ctx, "/", _("You are signed out."))
    response.delete_cookie(auth.SESSION_COOKIE)
    return response


@router.get("/account")
def account(ctx: Ctx = Depends(guard)) -> Response:
    with ctx.read() as session:
        tokens = auth.list_tokens(session, ctx.principal.username)
    return render(ctx, "account/account.html", tokens=tokens, new_token="", errors=[],
                  title=_("Your account"))


@router.post("/account/password")
def change_password(current: str = Form(..., max_length=1024),
                    new: str = Form(..., max_length=1024),
                    confirm: str = Form(..., max_length=1024),
                    ctx: Ctx = Depends(guard)) -> Response:
    name = ctx.principal.username
    errors = []
    if new != confirm:
        errors.append(_("The new password and its confirmation differ."))
    try:
        with transaction(ctx.url) as session:
            if authenticate(session, name, current) is None:
                errors.append(_("The current password is wrong."))
            if errors:
                raise PmmError(*errors)
            set_password(session, name, new, actor=name)
            # every other browser signed in as this user is signed out
            auth.close_all_sessions(session, name, keep=ctx.session_token)
    except PmmError as exc:
        with transaction(ctx.url) as session:
            tokens = auth.list_tokens(session, name)
        return render(ctx, "account/account.html", status=422, tokens=tokens, new_token="",
                      errors=exc.lines, title=_("Your account"))
    return redirect(ctx, "/account", _("Your password was changed."))


@router.post("/account/tokens")
def new_token(name: str = Form(..., max_length=200), ctx: Ctx = Depends(guard)) -> Response:
    with transaction(ctx.url) as session:
        _token, clear = auth.create_token(session, ctx.principal.username, name)
    with transaction(ctx.url) as session:
        tokens = auth.list_tokens(session, ctx.principal.username)
    # shown once, on this page only; never stored in clear
    response = render(ctx, "account/account.html", tokens=tokens, new_token=clear, errors=[],
                      title=_("Your account"))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/account/tokens/{token_id}/revoke")
def revoke(token_id: RowId, ctx: Ctx = Depends(guard)) -> Response:
    with transaction(ctx.url) as session:
        auth.revoke_token(session, ctx.principal.username, token_id)
    return redirect(ctx, "/account", _("The token was revoked."))


@router.get("/home")
def home(ctx: Ctx = Depends(guard)) -> Response:
    """The signed-in start page: the submissions this user works on, per cycle."""
    who = ctx.principal
    with ctx.read() as session:
        cycles = list_cycles(session)
        query = select(Cycle.year, Submission.member, Submission.state, Submission.version) \
            .join(Submission, Submission.cycle_id == Cycle.id).order_by(Cycle.year.desc(),
                                                                        Submission.member)
        if who.role in ("ncp", "viewer"):
            query = query.where(Submission.member == who.member)
        elif who.role == "peer_reviewer":
            query = query.join(ReviewAssignment, ReviewAssignment.submission_id == Submission.id
                               ).where(ReviewAssignment.reviewer == who.username)
        elif who.role != "secretariat":
            query = query.where(Submission.id < 0)
        rows = [r for r in session.execute(query).all()
                if may_read_submission(who, r.year, r.member)]
        if who.role == "secretariat":
            rows = [r for r in rows if r.state in ("submitted", "review_requested",
                                                   "resubmitted", "in_review")]
        released = released_members(session, {r.year for r in rows})
    started = {r.year for r in rows}
    open_cycles = [c for c in cycles if c.state == "open" and c.year not in started]
    results = {(r.year, r.member) for r in rows if r.member in released.get(r.year, ())}
    return render(ctx, "account/home.html", rows=rows, open_cycles=open_cycles,
                  results=results, title=_("My work"))


__all__ = ["finish"]
