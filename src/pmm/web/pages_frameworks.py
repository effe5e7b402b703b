"""Framework versions in the making, on the web: a working-body member proposes a KPI for a tool
and follows it; the Secretariat accepts or rejects proposals, keeps drafts (from a version, an
upload or accepted proposals), compares a draft with its base and adopts it.

The proposal form is generated from the framework version it is checked against (tools,
outcomes by dimension, data items, breakdowns, SDG targets) and from the model's choices (units,
directions, scoring methods, disclosure levels). The services decide and check everything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import Response

from pmm.assessment import frameworks as drafts
from pmm.assessment import proposals
from pmm.errors import NotFound, PmmError
from pmm.framework.drafting import (
    BAND_LEVELS,
    DIRECTIONS,
    DISCLOSURES,
    LIST_FIELDS,
    SCORING_METHODS,
    TEXT_FIELDS,
    UNITS,
    KpiCheck,
    UploadCheck,
    kpi_findings,
    to_yaml,
)
from pmm.framework.model import KPI, Framework
from pmm.i18n import _
from pmm.web.core import Ctx, RowId, Version, guard, redirect, render

router = APIRouter(include_in_schema=False)  # pages: not part of the JSON API
DraftId = Annotated[str, PathParam(max_length=64)]
MAX_LIST = 100  # values of one multiple-choice field


def labels() -> dict[str, dict[str, str]]:
    """The model's choices in the reader's language."""
    return {
        "unit": {"percent": _("percent"), "percentage_points": _("percentage points"),
                 "count": _("count"), "hours": _("hours"), "days": _("days"),
                 "ratio": _("ratio"), "currency": _("currency"), "score": _("score"),
                 "yes_no": _("yes or no")},
        "direction": {"higher": _("higher is better"), "lower": _("lower is better")},
        "disclosure": {"public": _("public"), "wco": _("WCO level"),
                       "restricted": _("restricted")},
        "scoring_method": {"goalposts": _("goalposts (low and high)"),
                           "distance_to_target": _("distance to a target"),
                           "bands": _("bands A, B, C"), "percentile_rank": _("percentile rank"),
                           "zscore": _("z-score")},
    }


async def form_data(request: Request) -> dict[str, Any]:
    """The posted form as texts (and lists for the multiple-choice fields)."""
    form = await request.form()
    data: dict[str, Any] = {}
    for name in (*TEXT_FIELDS, "rationale", "framework"):
        value = form.get(name)
        data[name] = value if isinstance(value, str) else ""
    for name in LIST_FIELDS:
        values = [v for v in form.getlist(name) if isinstance(v, str)]
        data[name] = list(dict.fromkeys(values))[:MAX_LIST]
    return data


def _form_page(ctx: Ctx, fw: Framework, choices: dict[str, Framework], values: dict[str, Any],
               result: KpiCheck | None = None, status: int = 200) -> Response:
    bodies = {w.code: w.name.get(ctx.lang) for w in fw.working_bodies}
    return render(ctx, "frameworks/propose.html", status=status, fw=fw, versions=choices,
                  values=values, errors=result.errors if result else {},
                  warnings=result.warnings if result else {}, bodies=bodies, labels=labels(),
                  units=UNITS, directions=DIRECTIONS, disclosures=DISCLOSURES,
                  methods=SCORING_METHODS, band_levels=BAND_LEVELS,
                  title=_("Propose a KPI"))


DEFAULTS = {"unit": "percent", "direction": "higher", "disclosure": "public",
            "scoring_method": "goalposts", "breakdowns": [], "sdg_targets": []}


@router.get("/proposals/new")
def propose_form(framework: str = "", tool: str = "", ctx: Ctx = Depends(guard)) -> Response:
    with ctx.read() as session:
        choices = drafts.versions(session)
    fw = choices.get(framework) or list(choices.values())[-1]
    return _form_page(ctx, fw, choices, {**DEFAULTS, "tool": tool[:64]})


@router.post("/proposals")
def propose_submit(data: dict[str, Any] = Depends(form_data),
                   ctx: Ctx = Depends(guard)) -> Response:
    try:
        with ctx.db() as session:
            choices = drafts.versions(session)
            proposal, result = proposals.propose(session, ctx.principal, data["framework"],
                                                 data, data["rationale"])
            pid = proposal.id
    except proposals.ProposalRefused as exc:
        fw = choices[data["framework"]]
        return _form_page(ctx, fw, choices, data, exc.check, status=422)
    message = _("Your KPI proposal {id} was submitted to the Secretariat.").format(id=pid)
    if result.warnings:
        message += " " + _("The KPI criteria give {n} warning(s): see below.").format(
            n=sum(len(w) for w in result.warnings.values()))
    return redirect(ctx, f"/proposals/{pid}", message)


@router.get("/proposals")
def my_proposals(ctx: Ctx = Depends(guard)) -> Response:
    with ctx.read() as session:
        rows = proposals.list_proposals(session, ctx.principal)
        draft_ids = {p.id: proposals.draft_of(session, p) for p in rows}
    return render(ctx, "frameworks/proposals.html", rows=rows, draft_ids=draft_ids,
                  status_label=proposals.status_label, shown="", secretariat=False,
                  title=_("My KPI proposals"))


def _detail(ctx: Ctx, proposal_id: int, secretariat: bool, status: int = 200,
            errors: list[str] | None = None, form: dict[str, str] | None = None) -> Response:
    with ctx.read() as session:
        proposal = proposals.get_proposal(session, ctx.principal, proposal_id)
        kpi = proposals.proposed_kpi(proposal)
        draft_id = proposals.draft_of(session, proposal)
        known = drafts.versions(session)
        open_drafts = [d.framework_id for d in drafts.list_drafts(session, ctx.principal)
                       if d.state == "draft"] if secretariat else []
    fw = known.get(proposal.framework_id)
    warnings = []
    if fw is not None:
        check = kpi_findings(fw, kpi)  # the same check as when it was made
        warnings = check.lines("warnings") + check.lines("errors")
    return render(ctx, "frameworks/proposal.html", status=status, p=proposal, kpi=kpi, fw=fw,
                  draft_id=draft_id, warnings=warnings, secretariat=secretariat,
                  open_drafts=open_drafts, versions=list(known), errors=errors or [],
                  form=form or {}, status_label=proposals.status_label, labels=labels(),
                  scoring=_scoring_text(kpi), title=_("KPI proposal {id}").format(id=proposal.id))


def _scoring_text(kpi: KPI) -> str:
    """The scoring rule's parameters, e.g. `low 0, high 100` or `A ≥ 95, B ≥ 75`."""
    rule = kpi.scoring.model_dump(exclude={"method"}, exclude_none=True)
    if "bands" in rule:
        sign = "≥" if kpi.direction == "higher" else "≤"
        return ", ".join(f"{b['level']} {sign} {b['threshold']:g}" for b in rule["bands"])
    return ", ".join(f"{k} {v:g}" for k, v in rule.items())


@router.get("/proposals/{proposal_id}")
def my_proposal(proposal_id: RowId, ctx: Ctx = Depends(guard)) -> Response:
    return _detail(ctx, proposal_id, secretariat=False)


# ---------------------------------------------------------------- the Secretariat


@router.get("/secretariat/proposals")
def proposal_queue(status: str = "submitted", ctx: Ctx = Depends(guard)) -> Response:
    status = status if status in (*proposals.STATUSES, "all") else "submitted"
    with ctx.read() as session:
        rows = proposals.list_proposals(session, ctx.principal,
                                        None if status == "all" else status)
        draft_ids = {p.id: proposals.draft_of(session, p) for p in rows}
    return render(ctx, "frameworks/proposals.html", rows=rows, draft_ids=draft_ids,
                  status_label=proposals.status_label, shown=status, secretariat=True,
                  statuses=proposals.STATUSES, title=_("KPI proposals"))


@router.get("/secretariat/proposals/{proposal_id}")
def proposal_page(proposal_id: RowId, ctx: Ctx = Depends(guard)) -> Response:
    return _detail(ctx, proposal_id, secretariat=True)


@router.post("/secretariat/proposals/{proposal_id}/accept")
def proposal_accept(proposal_id: RowId, version: Version, draft: str = Form("", max_length=64),
                    base: str = Form("", max_length=64),
                    new_draft: str = Form("", max_length=64),
                    ctx: Ctx = Depends(guard)) -> Response:
    try:
        with ctx.db() as session:
            target = proposals.accept(session, ctx.principal, proposal_id, draft=draft.strip(),
                                      base=base.strip(), new_draft=new_draft.strip(),
                                      expected_version=version)
            target_id = target.framework_id
    except NotFound:
        raise
    except PmmError as exc:
        return _detail(ctx, proposal_id, True, exc.http_status, exc.lines,
                       {"draft": draft, "base": base, "new_draft": new_draft})
    return redirect(ctx, f"/secretariat/drafts/{target_id}",
                    _("KPI proposal {id} was accepted into draft {draft}.").format(
                        id=proposal_id, draft=target_id))


@router.post("/secretariat/proposals/{proposal_id}/reject")
def proposal_reject(proposal_id: RowId, version: Version,
                    reason: str = Form("", max_length=proposals.MAX_REASON),
                    ctx: Ctx = Depends(guard)) -> Response:
    try:
        with ctx.db() as session:
            proposals.reject(session, ctx.principal, proposal_id, reason,
                             expected_version=version)
    except NotFound:
        raise
    except PmmError as exc:
        return _detail(ctx, proposal_id, True, exc.http_status, exc.lines, {"reason": reason})
    return redirect(ctx, "/secretariat/proposals",
                    _("KPI proposal {id} was rejected.").format(id=proposal_id))


def _drafts_page(ctx: Ctx, status: int = 200, upload: UploadCheck | None = None,
                 file_name: str = "", errors: list[str] | None = None,
                 form: dict[str, str] | None = None) -> Response:
    with ctx.read() as session:
        rows = drafts.list_drafts(session, ctx.principal)
        known = list(drafts.versions(session))
    return render(ctx, "frameworks/drafts.html", status=status, rows=rows, versions=known,
                  upload=upload, file_name=file_name, errors=errors or [], form=form or {},
                  max_upload=drafts.MAX_UPLOAD // 2**20, title=_("Framework drafts"))


@router.get("/secretariat/drafts")
def draft_list(ctx: Ctx = Depends(guard)) -> Response:
    return _drafts_page(ctx)


@router.post("/secretariat/drafts")
def draft_start(base: str = Form(..., max_length=64), new_id: str = Form(..., max_length=64),
                ctx: Ctx = Depends(guard)) -> Response:
    try:
        with ctx.db() as session:
            draft = drafts.start_draft(session, ctx.principal, base, new_id)
            ref = draft.framework_id
    except PmmError as exc:
        return _drafts_page(ctx, exc.http_status, errors=exc.lines,
                            form={"base": base, "new_id": new_id})
    return redirect(ctx, f"/secretariat/drafts/{ref}",
                    _("Draft {id} was started from {base}.").format(id=ref, base=base))


@router.post("/secretariat/drafts/upload")
def draft_upload(file: UploadFile = File(...), ctx: Ctx = Depends(guard)) -> Response:
    name = Path((file.filename or "upload.yaml").replace("\\", "/")).name or "upload.yaml"
    if not name.lower().endswith((".yaml", ".yml")):
        return _drafts_page(ctx, 422, UploadCheck(None, [_(
            "{file}: expected a YAML file (.yaml or .yml) in the layout of `pmm framework "
            "show --format yaml`").format(file=name)]), name)
    content = file.file.read(drafts.MAX_UPLOAD + 1)
    with ctx.db() as session:
        result, draft = drafts.upload(session, ctx.principal, name, content)
        ref = draft.framework_id if draft else None
    if ref is None:
        return _drafts_page(ctx, 422, result, name)
    warnings = len(result.findings)
    return redirect(ctx, f"/secretariat/drafts/{ref}",
                    _("{file} passes the KPI criteria ({n} warning(s)) and is now draft "
                      "{id}.").format(file=name, n=warnings, id=ref))


@router.get("/secretariat/drafts/{draft_id}")
def draft_page(draft_id: DraftId, ctx: Ctx = Depends(guard)) -> Response:
    with ctx.read() as session:
        draft = drafts.get_draft(session, ctx.principal, draft_id)
        fw = drafts.framework_of_draft(draft)
        changes = drafts.draft_diff(session, ctx.principal, draft_id)
        accepted = [p for p in proposals.list_proposals(session, ctx.principal, "accepted")
                    if p.draft_id == draft.id]
    findings = drafts.findings(draft)
    return render(ctx, "frameworks/draft.html", draft=draft, fw=fw, result=changes,
                  findings=findings, accepted=accepted,
                  errors=sum(f.severity == "error" for f in findings),
                  title=_("Framework draft {id}").format(id=draft_id))


@router.get("/secretariat/drafts/{draft_id}/framework.yaml")
def draft_yaml(draft_id: DraftId, ctx: Ctx = Depends(guard)) -> Response:
    with ctx.read() as session:
        fw = drafts.framework_of_draft(drafts.get_draft(session, ctx.principal, draft_id))
    return Response(to_yaml(fw), media_type="application/yaml; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{fw.id}.yaml"'})


@router.post("/secretariat/drafts/{draft_id}/adopt")
def draft_adopt(draft_id: DraftId, version: Version, ctx: Ctx = Depends(guard)) -> Response:
    with ctx.db() as session:
        drafts.adopt(session, ctx.principal, draft_id, expected_version=version)
    return redirect(ctx, f"/secretariat/drafts/{draft_id}",
                    _("Framework {id} is adopted: cycles can now be created on it.").format(
                        id=draft_id))
