"""The public site: what the mechanism is, the framework browser, the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from pmm.errors import NotFound
from pmm.framework.loader import load, shipped_ids
from pmm.framework.model import Framework
from pmm.i18n import LANGUAGES, _
from pmm.web.auth import LANG_COOKIE
from pmm.web.core import Ctx, finish, guard, render, safe_next

router = APIRouter(include_in_schema=False)  # pages: not part of the JSON API


def shipped(fw_id: str) -> Framework:
    if fw_id not in shipped_ids():
        raise NotFound(_("no framework {id!r} (published: {known})").format(
            id=fw_id, known=", ".join(shipped_ids())))
    return load(fw_id)


def current_framework() -> Framework:
    return load(shipped_ids()[-1])


@router.get("/")
def home(ctx: Ctx = Depends(guard)) -> Response:
    fw = current_framework()
    return render(ctx, "public/home.html", fw=fw, title=_("Performance Measurement Mechanism"))


@router.get("/healthz")
def healthz() -> Response:
    """A bare endpoint (no database, no template): the baseline of the load benchmark."""
    return PlainTextResponse("ok")


@router.get("/language/{lang}")
def language(lang: str, next: str = "/", ctx: Ctx = Depends(guard)) -> Response:
    if lang not in LANGUAGES:
        raise NotFound(_("language {value!r}: expected one of {expected}").format(
            value=lang, expected=", ".join(LANGUAGES)))
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, lang, max_age=60 * 60 * 24 * 365, samesite="lax",
                        httponly=True, secure=ctx.settings.secure)
    return finish(ctx, response)


@router.get("/framework")
def framework_index(ctx: Ctx = Depends(guard)) -> Response:
    frameworks = [load(i) for i in shipped_ids()]
    return render(ctx, "public/frameworks.html", frameworks=frameworks,
                  title=_("Framework versions"))


@router.get("/framework/{fw}")
def framework(fw: str, ctx: Ctx = Depends(guard)) -> Response:
    model = shipped(fw)
    return render(ctx, "public/framework.html", fw=model, title=model.framework.title.get(ctx.lang))


@router.get("/framework/{fw}/outcomes/{code}")
def outcome(fw: str, code: str, ctx: Ctx = Depends(guard)) -> Response:
    model = shipped(fw)
    found = {o.code: o for o in model.outcomes}.get(code)
    if found is None:
        raise NotFound(_("framework {fw} has no outcome {code!r}").format(fw=fw, code=code))
    return render(ctx, "public/outcome.html", fw=model, outcome=found,
                  dimension=model.dimension(found.dimension), kpis=model.kpis_of_outcome(code),
                  targets=_targets(model, found.sdg_targets), tools=_tools(model, found.tools),
                  title=found.name.get(ctx.lang))


@router.get("/framework/{fw}/kpis/{code}")
def kpi(fw: str, code: str, ctx: Ctx = Depends(guard)) -> Response:
    model = shipped(fw)
    found = {k.code: k for k in model.kpis}.get(code)
    if found is None:
        raise NotFound(_("framework {fw} has no KPI {code!r}").format(fw=fw, code=code))
    out = model.outcome(found.outcome)
    return render(ctx, "public/kpi.html", fw=model, kpi=found, outcome=out,
                  dimension=model.dimension(out.dimension),
                  items=[model.data_item(i) for i in found.data_items],
                  targets=_targets(model, found.sdg_targets), tools=_tools(model, found.tools),
                  title=found.name.get(ctx.lang))


def _targets(fw: Framework, codes: list[str]) -> list:
    index = {t.code: t for t in fw.sdg_targets}
    return [index[c] for c in codes if c in index]


def _tools(fw: Framework, codes: list[str]) -> list:
    index = {t.code: t for t in fw.tools}
    bodies = {b.code: b for b in fw.working_bodies}
    return [(index[c], bodies.get(index[c].working_body)) for c in codes if c in index]
