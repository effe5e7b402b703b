"""A member's submission: its home, data entry per outcome, files, workflow, review, comments.

Every route's permission is in `pmm.web.permissions`; the services check again (role, member,
state, version), so a stale form or a forbidden step is refused with the service's message.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from pmm import access
from pmm.assessment import review as reviews
from pmm.assessment import workflow
from pmm.assessment.evidence import add_evidence, download_headers, get_evidence, list_evidence
from pmm.assessment.exchange import parse_value
from pmm.assessment.imports import import_file
from pmm.assessment.submissions import (
    ItemChange,
    KpiChange,
    apply_changes,
    comment,
    comments,
    current_values,
    explain,
    explanations,
    start_submission,
    stored_kpis,
)
from pmm.assessment.validation import describe_expected, empty_values
from pmm.assessment.workbook import write_workbook
from pmm.errors import ConflictError, PmmError
from pmm.framework.model import DISCLOSURE_LEVELS
from pmm.i18n import _
from pmm.store.models import Submission, User
from pmm.web.core import Ctx, RowId, Version, Year, guard, redirect, render, safe_next
from pmm.web.permissions import SUB
from pmm.web.submission_view import (
    EntryForm,
    build_form,
    framework_for,
    lookup,
    outcome_or_404,
    released_members,
    report_of,
    threads,
)

router = APIRouter(include_in_schema=False)  # pages: not part of the JSON API
KPI_STATUSES = ("reported", "not_applicable", "not_available")
# Workflow buttons on a submission's page: action → (path, the input it needs or "")
BUTTONS = {
    "submit": ("submit", ""), "request_review": ("request-review", ""),
    "resubmit": ("resubmit", ""), "assign_reviewer": ("assign", "reviewer"),
    "start_review": ("review/start", ""), "request_changes": ("review/request-changes", "reason"),
    "complete_review": ("review/complete", "summary"), "validate": ("validate", "reason"),
    "publish": ("publish", ""), "reopen": ("reopen", "reason"),
}


def base(year: Year, member: str) -> str:
    return SUB.format(year=year, member=member)


def _status(sub: Submission | None) -> str:
    return sub.state if sub is not None else "draft"


@router.get(SUB)
def submission_home(year: Year, member: str, ctx: Ctx = Depends(guard)) -> Response:
    return _home(ctx, year, member)


def _home(ctx: Ctx, year: Year, member: str, *, status: int = 200,
          messages: list[str] | None = None) -> Response:
    who = ctx.principal
    with ctx.read() as session:
        cycle, member, sub = lookup(session, year, member)
        fw = framework_for(cycle)
        report = report_of(session, cycle, sub, who, ctx.lang) if sub is not None else None
        if report is None:
            from pmm.assessment.validation import completeness

            table = completeness(fw, year, empty_values(), {})
        else:
            table = report.completeness
        state = _status(sub)
        actions = access.actions_now(who, year, member, state)
        if sub is None:  # nothing to submit or review before the first data is saved
            actions = [a for a in actions if a in ("edit",)]
        rounds = reviews.findings(session, sub) if sub is not None else []
        notes = comments(session, sub) if sub is not None else []
        data = {
            "cycle": cycle, "member": member, "sub": sub, "fw": fw, "state": state,
            "report": report, "actions": actions, "buttons": BUTTONS,
            "completeness": table.to_dict("records"),
            "names": {**{d.code: d.name.get(ctx.lang) for d in fw.dimensions},
                      **{o.code: o.name.get(ctx.lang) for o in fw.outcomes}},
            "evidence": list_evidence(session, who, sub) if sub is not None else [],
            "rounds": rounds,
            "threads": threads(fw, rounds, notes, ctx.lang),
            "reviewers": reviews.reviewers(session, sub) if sub is not None else [],
            "candidates": [u for u in session.scalars(select(User.username).where(
                User.role == "peer_reviewer", User.active.is_(True)).order_by(User.username))]
            if "assign_reviewer" in actions else [],
            "base": base(year, member), "messages": messages or [],
            "released": member in released_members(session, {year}).get(year, ()),
        }
    return render(ctx, "submission/home.html", status=status,
                  title=_("{member}, cycle {year}").format(member=member, year=year), **data)


def _form(ctx: Ctx, session: Session, year: Year, member: str, outcome: str
          ) -> tuple[EntryForm, Submission | None, list[str]]:
    cycle, member, sub = lookup(session, year, member)
    fw = framework_for(cycle)
    found = outcome_or_404(fw, outcome)
    values = current_values(session, sub) if sub is not None else empty_values()
    kpis = stored_kpis(session, sub) if sub is not None else {}
    form = build_form(fw, year, found, values, kpis, sub.version if sub is not None else 0,
                      ctx.lang)
    if sub is not None:
        report = report_of(session, cycle, sub, ctx.principal, ctx.lang)
        done = report.explained
        for w in report.warnings:
            f = form.field(f"v:{w.keys[0][0]}:{w.keys[0][1]}:{w.keys[0][2]}") if w.keys else None
            if f is not None:
                f.warnings.append((w.id, w.message, done.get(w.id, "")))
    actions = access.actions_now(ctx.principal, year, member, _status(sub))
    return form, sub, actions


@router.get(SUB + "/outcomes/{outcome}")
def outcome_form(year: Year, member: str, outcome: str, ctx: Ctx = Depends(guard)) -> Response:
    with ctx.read() as session:
        form, sub, actions = _form(ctx, session, year, member, outcome)
        evidence = list_evidence(session, ctx.principal, sub) if sub is not None else []
    return _render_form(ctx, year, member, form, actions, evidence)


def _render_form(ctx: Ctx, year: Year, member: str, form: EntryForm, actions: list[str],
                 evidence: list, status: int = 200) -> Response:
    return render(ctx, "submission/outcome.html", status=status, form=form, actions=actions,
                  year=year, member=member.upper(), base=base(year, member.upper()),
                  statuses=KPI_STATUSES, levels=DISCLOSURE_LEVELS, evidence=evidence,
                  title=f"{form.outcome.code} — {form.outcome.name.get(ctx.lang)}")


@router.post(SUB + "/outcomes/{outcome}")
async def outcome_save(year: Year, member: str, outcome: str, request: Request,
                       ctx: Ctx = Depends(guard)) -> Response:
    posted = await request.form()
    return _save(ctx, year, member, outcome, {k: v for k, v in posted.items()
                                              if isinstance(v, str)})


def _save(ctx: Ctx, year: Year, member: str, outcome: str, posted: dict[str, str]) -> Response:
    who = ctx.principal
    version_text = posted.get("version", "")
    version = int(version_text) if version_text.isdigit() else None
    with ctx.db() as session:
        form, _sub, actions = _form(ctx, session, year, member, outcome)
        fw = framework_for(lookup(session, year, member)[0])
        kinds = {d.code: d.type for d in fw.data_items}
        items: list[ItemChange] = []
        for group in form.items:
            for f in group.fields:
                text = posted.get(f.name, f.text).strip()
                original = posted.get("o" + f.name, f.original)
                f.text, f.original = text, original  # as the user's form had them
                if text == original:
                    continue
                try:
                    value = parse_value(kinds.get(f.key[0]), text)
                except ValueError:
                    f.errors.append(_("{value!r} is not {expected}").format(
                        value=text, expected=describe_expected(fw, f.key[0])))
                    continue
                items.append(ItemChange(*f.key, value))
        kpi_changes = []
        for row in form.kpis:
            row.status = posted.get(f"status:{row.code}", row.status)
            row.disclosure = posted.get(f"disclosure:{row.code}", row.disclosure)
            row.note = posted.get(f"note:{row.code}", row.note)
            kpi_changes.append(KpiChange(row.code, row.status, row.disclosure, row.note))
        notes = {k[len("explain:"):]: v.strip() for k, v in posted.items()
                 if k.startswith("explain:") and v.strip()}
    if any(f.errors for g in form.items for f in g.fields):
        form.general.append(_("Nothing was saved: correct the values marked below."))
        return _render_form(ctx, year, member, form, actions, [], 422)

    def locate(key: tuple, fld: str) -> str | None:
        if key and key[0] == "kpi":
            return f"kpi:{key[1]}"
        return f"v:{key[0]}:{key[1]}:{key[2]}" if len(key) == 3 else None

    try:
        with ctx.db() as session:
            _cycle, code, found = lookup(session, year, member)
            if found is None:
                if version not in (None, 0):
                    raise ConflictError(_("This submission no longer exists; reload the page."))
                found = start_submission(session, who, year, code)
                version = found.version
            count = apply_changes(session, who, found, items, kpi_changes,
                                  expected_version=version, locate=locate)
            stored = explanations(session, found)
            for warning, text in notes.items():
                if stored.get(warning) != text:
                    explain(session, who, found, warning, text)
                    count += 1
    except ConflictError as exc:
        with ctx.read() as session:
            fresh, _sub, _a = _form(ctx, session, year, member, outcome)
        mine = {f.name: f for g in form.items for f in g.fields}
        for group in fresh.items:
            for f in group.fields:
                ours = mine.get(f.name)
                if ours is not None and ours.original != f.original:
                    form.changed.append((f"{group.code} {f.label}", ours.original or "—",
                                         f.original or "—"))
                if ours is not None:  # the new baseline is what is stored now
                    if ours.text == ours.original:  # untouched by the user: show the new value
                        ours.text = f.original
                    ours.original = f.original
        form.version = fresh.version
        form.general += exc.lines
        return _render_form(ctx, year, member, form, actions, [], 409)
    except PmmError as exc:
        form.place(exc.lines)
        form.general.insert(0, _("Nothing was saved: correct the values marked below."))
        return _render_form(ctx, year, member, form, actions, [], 422)
    return redirect(ctx, base(year, member.upper()) + f"/outcomes/{outcome}",
                    _("{n} change(s) saved.").format(n=count))


@router.get(SUB + "/template.xlsx")
def template(year: Year, member: str, ctx: Ctx = Depends(guard)) -> Response:
    with ctx.read() as session, tempfile.TemporaryDirectory() as folder:
        cycle, code, sub = lookup(session, year, member)
        path = Path(folder) / f"pmm-{year}-{code}.xlsx"
        write_workbook(session, cycle, code, sub, path, ctx.lang)
        content = path.read_bytes()
    return Response(content, media_type="application/vnd.openxmlformats-officedocument."
                    "spreadsheetml.sheet", headers={
                        "Content-Disposition": f'attachment; filename="pmm-{year}-{code}.xlsx"'})


def import_upload(ctx: Ctx, year: Year, member: str, upload: UploadFile) -> tuple[int, str]:
    """Import an uploaded CSV or workbook (all or nothing); returns (changes, file name)."""
    name = Path((upload.filename or "upload").replace("\\", "/")).name or "upload"
    if not name.lower().endswith((".xlsx", ".csv")):
        raise PmmError(_("{name}: expected an Excel workbook (.xlsx) or a CSV file (.csv)")
                       .format(name=name))
    content = upload.file.read()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        try:
            with ctx.db() as session:
                _cycle, code, _sub = lookup(session, year, member)
                result = import_file(session, ctx.principal, year, code, path)
        except PmmError as exc:  # name the file as the user knows it, not our temporary copy
            exc.lines = [line.replace(str(path), name) for line in exc.lines]
            raise
    return result.changes, name


@router.post(SUB + "/import")
def import_page(year: Year, member: str, file: UploadFile = File(...),
                ctx: Ctx = Depends(guard)) -> Response:
    try:
        count, name = import_upload(ctx, year, member, file)
    except PmmError as exc:
        return _home(ctx, year, member, status=exc.http_status,
                     messages=[_("Nothing was imported:"), *exc.lines])
    return redirect(ctx, base(year, member.upper()),
                    _("{file}: {n} change(s) imported.").format(file=name, n=count))


@router.post(SUB + "/evidence")
def evidence_upload(year: Year, member: str, file: UploadFile = File(...),
                    kpi: str = Form(""), next: str = Form(""),
                    ctx: Ctx = Depends(guard)) -> Response:
    content = file.file.read()
    with ctx.db() as session:
        _cycle, code, sub = lookup(session, year, member)
        if sub is None:
            sub = start_submission(session, ctx.principal, year, code)
        add_evidence(session, ctx.principal, sub, file.filename or "evidence", content,
                     kpi=kpi or None)
    target = next if next.startswith(base(year, member.upper())) else base(year, member.upper())
    return redirect(ctx, target, _("The file was attached."))


@router.get(SUB + "/evidence/{evidence_id}")
def evidence_download(year: Year, member: str, evidence_id: RowId,
                      ctx: Ctx = Depends(guard)) -> Response:
    from pmm.errors import NotFound

    with ctx.read() as session:
        _cycle, _code, sub = lookup(session, year, member)
        if sub is None:
            raise NotFound(_("no evidence #{id}").format(id=evidence_id))
        ev, content = get_evidence(session, ctx.principal, sub, evidence_id)
        headers = download_headers(ev)
    return Response(content, media_type=headers.pop("Content-Type"), headers=headers)


@router.post(SUB + "/explanations")
def explanation(year: Year, member: str, version: Version,
                warning: str = Form(..., max_length=300),
                text: str = Form(..., max_length=5000),
                ctx: Ctx = Depends(guard)) -> Response:
    with ctx.db() as session:
        _cycle, _code, sub = _existing(session, year, member)
        explain(session, ctx.principal, sub, warning, text, expected_version=version)
    return redirect(ctx, base(year, member.upper()), _("The explanation was saved."))


@router.post(SUB + "/comments")
def add_comment(year: Year, member: str, text: str = Form(..., max_length=5000),
                kpi: str = Form(""), ctx: Ctx = Depends(guard)) -> Response:
    with ctx.db() as session:
        _cycle, _code, sub = _existing(session, year, member)
        comment(session, ctx.principal, sub, text, kpi=kpi or None)
    return redirect(ctx, base(year, member.upper()), _("Your comment was added."))


def _existing(session: Session, year: Year, member: str):  # type: ignore[no-untyped-def]
    cycle, code, sub = lookup(session, year, member)
    if sub is None:
        raise PmmError(_("{member} has no submission to cycle {year} yet: it starts with the "
                         "first data saved.").format(member=code, year=year))
    return cycle, code, sub


def _step(ctx: Ctx, year: Year, member: str, version: int, done: str, run,  # type: ignore[no-untyped-def]
          target: str = "") -> Response:
    """One workflow step on the submission, refused if the page was stale (409); then back to
    the submission's page (or to `target`, a local page such as the review assignments)."""
    with ctx.db() as session:
        _cycle, _code, sub = _existing(session, year, member)
        if sub.version != version:
            raise ConflictError(_("The submission changed since you opened the page (now "
                                  "version {found}, your page showed {expected}): reload it and "
                                  "check before you act.").format(found=sub.version,
                                                                  expected=version))
        run(session, sub)
    return redirect(ctx, safe_next(target, base(year, member.upper())), done)


@router.post(SUB + "/submit")
def submit(year: Year, member: str, version: Version, ctx: Ctx = Depends(guard)
           ) -> Response:
    return _step(ctx, year, member, version, _("The submission was submitted."),
                 lambda s, sub: workflow.submit(s, ctx.principal, sub, expected_version=version))


@router.post(SUB + "/request-review")
def request_review(year: Year, member: str, version: Version,
                   ctx: Ctx = Depends(guard)) -> Response:
    return _step(ctx, year, member, version, _("A peer review was requested."),
                 lambda s, sub: workflow.request_peer_review(s, ctx.principal, sub,
                                                             expected_version=version))


@router.post(SUB + "/resubmit")
def resubmit(year: Year, member: str, version: Version, ctx: Ctx = Depends(guard)
             ) -> Response:
    return _step(ctx, year, member, version, _("The submission was submitted again."),
                 lambda s, sub: workflow.resubmit(s, ctx.principal, sub,
                                                  expected_version=version))


@router.post(SUB + "/assign")
def assign(year: Year, member: str, version: Version,
           reviewer: str = Form(..., max_length=64), next: str = Form("", max_length=300),
           ctx: Ctx = Depends(guard)) -> Response:
    return _step(ctx, year, member, version, _("The peer reviewer was assigned."),
                 lambda s, sub: reviews.assign(s, ctx.principal, sub, reviewer), target=next)


@router.post(SUB + "/review/start")
def review_start(year: Year, member: str, version: Version,
                 ctx: Ctx = Depends(guard)) -> Response:
    return _step(ctx, year, member, version, _("The peer review started."),
                 lambda s, sub: reviews.start(s, ctx.principal, sub, expected_version=version))


@router.post(SUB + "/review/findings")
def review_finding(year: Year, member: str, text: str = Form(..., max_length=5000),
                   kpi: str = Form(""), ctx: Ctx = Depends(guard)) -> Response:
    with ctx.db() as session:
        _cycle, _code, sub = _existing(session, year, member)
        reviews.add_finding(session, ctx.principal, sub, text, kpi=kpi or None)
    return redirect(ctx, base(year, member.upper()), _("The finding was recorded."))


@router.post(SUB + "/review/request-changes")
def review_request_changes(year: Year, member: str, version: Version,
                           reason: str = Form("", max_length=5000),
                           ctx: Ctx = Depends(guard)) -> Response:
    return _step(ctx, year, member, version, _("Changes were requested."),
                 lambda s, sub: reviews.request_changes(s, ctx.principal, sub, reason,
                                                        expected_version=version))


@router.post(SUB + "/review/complete")
def review_complete(year: Year, member: str, version: Version,
                    summary: str = Form("", max_length=5000),
                    ctx: Ctx = Depends(guard)) -> Response:
    return _step(ctx, year, member, version, _("The peer review was completed."),
                 lambda s, sub: reviews.complete(s, ctx.principal, sub, summary,
                                                 expected_version=version))


@router.post(SUB + "/validate")
def validate(year: Year, member: str, version: Version,
             reason: str = Form("", max_length=5000), ctx: Ctx = Depends(guard)) -> Response:
    return _step(ctx, year, member, version, _("The submission was validated."),
                 lambda s, sub: workflow.validate(s, ctx.principal, sub, reason=reason,
                                                  expected_version=version))


@router.post(SUB + "/publish")
def publish(year: Year, member: str, version: Version, ctx: Ctx = Depends(guard)
            ) -> Response:
    return _step(ctx, year, member, version, _("The submission was published."),
                 lambda s, sub: workflow.publish(s, ctx.principal, sub,
                                                 expected_version=version))


@router.post(SUB + "/reopen")
def reopen(year: Year, member: str, version: Version,
           reason: str = Form("", max_length=5000), ctx: Ctx = Depends(guard)) -> Response:
    return _step(ctx, year, member, version, _("The submission was reopened as a draft."),
                 lambda s, sub: workflow.reopen(s, ctx.principal, sub, reason,
                                                expected_version=version))
