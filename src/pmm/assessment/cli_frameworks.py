"""`pmm proposal ...` and `pmm draft ...`: KPI proposals and framework drafts on the command line,
the same services as the web's pages (`pmm.assessment.proposals`, `pmm.assessment.frameworks`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from pmm.errors import PmmError
from pmm.i18n import _
from pmm.store.cli import As, DatabaseUrl, acting
from pmm.store.engine import transaction

proposal_app = typer.Typer(help=_("KPI proposals: a working-body member proposes a KPI for a "
                                  "tool; the Secretariat accepts it into a draft or rejects "
                                  "it."), no_args_is_help=True)
draft_app = typer.Typer(help=_("Framework drafts: start from a version, upload, compare with the "
                               "base, adopt."), no_args_is_help=True)
ProposalId = Annotated[int, typer.Argument(help=_("The proposal's number."), min=1,
                                           max=2**31 - 1)]
DraftId = Annotated[str, typer.Argument(help=_("The draft's version id, e.g. wco-pmm-v1.1."))]


def _fields(path: Path) -> dict[str, Any]:
    """The proposal form's fields from a YAML file (a mapping of field to text or list)."""
    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError) as exc:
        raise PmmError(_("{file}: cannot be read as YAML: {error}").format(
            file=path, error=str(exc).splitlines()[0] if str(exc) else exc)) from None
    if not isinstance(data, dict):
        raise PmmError(_("{file}: expected a mapping of the proposal's fields (tool, outcome, "
                         "code, name_en, ...)").format(file=path))
    return {str(k): v if isinstance(v, list) else ("" if v is None else str(v))
            for k, v in data.items()}


@proposal_app.command("submit", help=_(
    "Propose the KPI described in FILE, checked by the KPI criteria on --framework.\n\n"
    "FILE is YAML with the fields of the web's proposal form: tool, outcome, code, name_en, "
    "name_fr, definition_en, definition_fr, formula, unit, direction, disclosure, breakdowns, "
    "sdg_targets, scoring_method, scoring_low, scoring_high (or scoring_target, band_A..C), "
    "target, data_source_en, data_source_fr, rationale."))
def proposal_submit(
    file: Annotated[Path, typer.Argument(help=_("YAML file of the proposal's fields."))],
    framework: Annotated[str, typer.Option("--framework", help=_(
        "The version it is checked against (shipped or adopted)."))] = "wco-pmm-v1",
    actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    from pmm.assessment.proposals import propose

    fields = _fields(file)
    with transaction(database_url) as session:
        proposal, result = propose(session, acting(session, actor), framework, fields,
                                   str(fields.get("rationale", "")))
        typer.echo(_("KPI proposal {id} ({code}) submitted.").format(id=proposal.id,
                                                                    code=proposal.kpi_code))
    for line in result.lines("warnings"):
        typer.echo(_("warning: {message}").format(message=line), err=True)


@proposal_app.command("list", help=_(
    "KPI proposals: a working-body member's own; all of them for the Secretariat."))
def proposal_list(
    status: Annotated[str | None, typer.Option("--status", help=_(
        "`submitted`, `accepted` or `rejected`."))] = None,
    actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    from pmm.assessment.proposals import draft_of, list_proposals, status_label

    with transaction(database_url) as session:
        rows = list_proposals(session, acting(session, actor), status)
        if not rows:
            typer.echo(_("No KPI proposal."))
        for p in rows:
            decision = draft_of(session, p) if p.status == "accepted" else p.reason
            typer.echo(f"{p.id}\t{p.kpi_code}\t{p.tool}\t{p.proposed_by}\t"
                       f"{p.proposed_at.date()}\t{status_label(p.status)}\t{decision or ''}")


@proposal_app.command("accept", help=_(
    "Accept a proposal into an existing draft (`--draft`) or a new one (`--new-draft`, "
    "from `--base`)."))
def proposal_accept(
    proposal_id: ProposalId,
    draft: Annotated[str, typer.Option("--draft", help=_("An existing draft."))] = "",
    new_draft: Annotated[str, typer.Option("--new-draft", help=_(
        "The id of a new draft to start."))] = "",
    base: Annotated[str, typer.Option("--base", help=_(
        "The version the new draft starts from (default: the one the proposal was checked "
        "against)."))] = "",
    actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    from pmm.assessment.proposals import accept

    with transaction(database_url) as session:
        target = accept(session, acting(session, actor), proposal_id, draft=draft,
                        new_draft=new_draft, base=base)
        typer.echo(_("KPI proposal {id} was accepted into draft {draft}.").format(
            id=proposal_id, draft=target.framework_id))


@proposal_app.command("reject", help=_("Reject a proposal, with the reason its author reads."))
def proposal_reject(
    proposal_id: ProposalId,
    reason: Annotated[str, typer.Option("--reason", help=_("Why (its author reads it)."))] = "",
    actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    from pmm.assessment.proposals import reject

    with transaction(database_url) as session:
        reject(session, acting(session, actor), proposal_id, reason)
    typer.echo(_("KPI proposal {id} was rejected.").format(id=proposal_id))


@draft_app.command("list", help=_("Framework drafts and adopted versions."))
def draft_list(actor: As = None, database_url: DatabaseUrl = None) -> None:
    from pmm.assessment.frameworks import list_drafts

    with transaction(database_url) as session:
        rows = list_drafts(session, acting(session, actor))
        if not rows:
            typer.echo(_("No framework draft."))
        for d in rows:
            typer.echo(f"{d.framework_id}\t{d.base_id}\t{d.state}\t{d.created_by}\t"
                       f"{d.created_at.date()}")


@draft_app.command("start", help=_("Start draft NEW_ID as a copy of version --base."))
def draft_start(
    new_id: DraftId,
    base: Annotated[str, typer.Option("--base", help=_("Shipped or adopted version."))] =
    "wco-pmm-v1",
    actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    from pmm.assessment.frameworks import start_draft

    with transaction(database_url) as session:
        start_draft(session, acting(session, actor), base, new_id)
    typer.echo(_("Draft {id} was started from {base}.").format(id=new_id, base=base))


@draft_app.command("upload", help=_(
    "Check a YAML framework FILE by the KPI criteria; without error it becomes a draft."))
def draft_upload(
    file: Annotated[Path, typer.Argument(help=_("One YAML file, with a new id and its parent."))],
    actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    from pmm.assessment.frameworks import MAX_UPLOAD, upload

    try:
        with file.open("rb") as fh:
            data = fh.read(MAX_UPLOAD + 1)
    except OSError as exc:
        raise PmmError(_("{file}: cannot be read: {error}").format(
            file=file, error=exc.strerror)) from None
    with transaction(database_url) as session:
        result, draft = upload(session, acting(session, actor), str(file), data)
        new_id = draft.framework_id if draft is not None else None
    for line in [*result.problems, *(str(f) for f in result.findings)]:
        typer.echo(line, err=True)
    if new_id is None:
        raise PmmError(_("{file} does not pass; nothing was stored.").format(file=file))
    typer.echo(_("{file} passes the KPI criteria ({n} warning(s)) and is now draft "
                 "{id}.").format(file=file, n=len(result.findings), id=new_id))


@draft_app.command("diff", help=_("What a draft changes against its base version."))
def draft_diff(draft_id: DraftId, actor: As = None, database_url: DatabaseUrl = None) -> None:
    from pmm.assessment.frameworks import draft_diff

    with transaction(database_url) as session:
        result = draft_diff(session, acting(session, actor), draft_id)
    if result is None:
        raise PmmError(_("the base of draft {id} is not a known version").format(id=draft_id))
    if not result.changes:
        typer.echo(_("No difference."))
    for row in result.rows():
        typer.echo(f"{row['kind']}\t{row['code']}\t{row['change']}\t{row['fields']}\t"
                   f"{row['reason']}")


@draft_app.command("export", help=_("Write a draft as one YAML file (to edit and upload)."))
def draft_export(draft_id: DraftId, actor: As = None, database_url: DatabaseUrl = None) -> None:
    from pmm.assessment.frameworks import framework_of_draft, get_draft
    from pmm.framework.drafting import to_yaml

    with transaction(database_url) as session:
        fw = framework_of_draft(get_draft(session, acting(session, actor), draft_id))
    typer.echo(to_yaml(fw), nl=False)


@draft_app.command("adopt", help=_(
    "Adopt a draft that passes the KPI criteria: it never changes again; cycles can use it."))
def draft_adopt(draft_id: DraftId, actor: As = None, database_url: DatabaseUrl = None) -> None:
    from pmm.assessment.frameworks import adopt

    with transaction(database_url) as session:
        adopt(session, acting(session, actor), draft_id)
    typer.echo(_("Framework {id} is adopted: cycles can now be created on it.").format(
        id=draft_id))
