"""`pmm cycle|submission|review ...`, `pmm audit`, `pmm demo` (and the store's `db`, `user`).

Thin shells: each command opens one transaction, builds the principal of `--as USER` (or
PMM_USER: a stored, active user, without which nothing is read or changed), calls the services,
whose policy decides what that user may read and do, and prints the outcome.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from pmm.assessment.cli_frameworks import draft_app, proposal_app
from pmm.errors import PmmError
from pmm.i18n import _, format_number, label, ngettext
from pmm.store.cli import AUDIT_HELP, As, DatabaseUrl, acting, audit, db_app, user_app
from pmm.store.engine import transaction

app = typer.Typer()
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.command("audit", help=AUDIT_HELP)(audit)
cycle_app = typer.Typer(help=_("Cycles: create, open, close, list, show."), no_args_is_help=True)
submission_app = typer.Typer(help=_("A member's submission: template, import, export, check, "
                                    "submit and the rest of the workflow."), no_args_is_help=True)
evidence_app = typer.Typer(help=_("Evidence files attached to a submission."), no_args_is_help=True)
review_app = typer.Typer(help=_("Peer review: assign, start, findings, request changes, complete."),
                         no_args_is_help=True)
app.add_typer(cycle_app, name="cycle")
app.add_typer(submission_app, name="submission")
submission_app.add_typer(evidence_app, name="evidence")
app.add_typer(review_app, name="review")
app.add_typer(proposal_app, name="proposal")  # KPI proposals and framework drafts
app.add_typer(draft_app, name="draft")

CycleYear = Annotated[int, typer.Option("--cycle", help=_("The cycle, named by its reporting "
                                                          "year T (e.g. 2024)."))]
Member = Annotated[str, typer.Option("--member", help=_("ISO 3166-1 alpha-3 code, e.g. FRA."))]
Version = Annotated[int | None, typer.Option(
    "--expect-version",
    help=_("Refuse (conflict) unless the submission is still at this version."))]
Reason = Annotated[str, typer.Option("--reason", help=_("Why (recorded in the audit trail)."))]
Lang = Annotated[str | None, typer.Option("--lang", help=_("en or fr (default: PMM_LANG or en)."))]


def _date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise PmmError(_("{option} {value!r}: expected a date as YYYY-MM-DD").format(
            option=option, value=text)) from None


# ---------------------------------------------------------------- cycles

@cycle_app.command("create", help=_("Create a cycle reporting on YEAR (planned until opened)."))
def cycle_create(
    year: Annotated[int, typer.Argument(help=_("Reporting year T."))],
    opens: Annotated[str, typer.Option("--opens", help=_("Opening date (YYYY-MM-DD, UTC)."))],
    closes: Annotated[str, typer.Option("--closes", help=_("Closing date, inclusive."))],
    framework: Annotated[str, typer.Option("--framework", help=_(
        "Shipped id, path, or a version adopted on the platform (`pmm draft adopt`)."))] =
    "wco-pmm-v1",
    actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    from pmm.assessment.cycles import create_cycle

    with transaction(database_url) as session:
        who = acting(session, actor)
        cycle = create_cycle(session, who, year, framework, _date(opens, "--opens"),
                             _date(closes, "--closes"))
        typer.echo(_("Created cycle {year} ({fw}, {opens} to {closes}), planned.").format(
            year=cycle.year, fw=cycle.framework_id, opens=cycle.opens_on,
            closes=cycle.closes_on))


@cycle_app.command("open", help=_(
    "Open a cycle for submissions (re-opening a closed one needs --reason)."))
def cycle_open(year: Annotated[int, typer.Argument(help=_("Reporting year T."))],
               reason: Reason = "", actor: As = None, database_url: DatabaseUrl = None) -> None:
    from pmm.assessment.cycles import set_state

    with transaction(database_url) as session:
        set_state(session, acting(session, actor), year, "open", reason=reason)
    typer.echo(_("Cycle {year} is open.").format(year=year))


@cycle_app.command("close", help=_("Close a cycle: members can no longer change or submit data."))
def cycle_close(year: Annotated[int, typer.Argument(help=_("Reporting year T."))],
                reason: Reason = "", actor: As = None, database_url: DatabaseUrl = None) -> None:
    from pmm.assessment.cycles import set_state

    with transaction(database_url) as session:
        set_state(session, acting(session, actor), year, "closed", reason=reason)
    typer.echo(_("Cycle {year} is closed.").format(year=year))


@cycle_app.command("list", help=_("List cycles: year, framework, dates, state, submissions."))
def cycle_list(actor: As = None, database_url: DatabaseUrl = None) -> None:
    from pmm.assessment.cycles import list_cycles
    from pmm.assessment.tables import cycle_submissions

    with transaction(database_url) as session:
        acting(session, actor)
        cycles = list_cycles(session)
        if not cycles:
            typer.echo(_("No cycles yet (the WCO Secretariat creates them: `pmm cycle create`, "
                         "see docs/secretariat-guide.md)."))
        for c in cycles:
            n = len(cycle_submissions(session, c.year))
            typer.echo(f"{c.year}\t{c.framework_id}\t{c.opens_on}..{c.closes_on}\t{label(c.state)}\t"
                       + ngettext("{n} submission", "{n} submissions", n)
                       .format(n=format_number(n)))


@cycle_app.command("show", help=_(
    "A cycle and the workflow state of each submission you may read (all of them for the "
    "Secretariat)."))
def cycle_show(year: Annotated[int, typer.Argument(help=_("Reporting year T."))],
               actor: As = None, database_url: DatabaseUrl = None) -> None:
    from pmm.access import may_read_submission
    from pmm.assessment.cycles import get_cycle
    from pmm.assessment.tables import cycle_submissions

    with transaction(database_url) as session:
        who = acting(session, actor)
        c = get_cycle(session, year)
        subs = cycle_submissions(session, year)
    subs = subs[[may_read_submission(who, year, m) for m in subs["member"]]]
    typer.echo(_("Cycle {year}: framework {fw}, {opens} to {closes}, {state}").format(
        year=c.year, fw=c.framework_id, opens=c.opens_on, closes=c.closes_on,
        state=label(c.state)))
    if not subs.empty:
        counts = subs["state"].value_counts()
        typer.echo("  " + ", ".join(f"{label(s)}: {n}" for s, n in counts.items()))
    for r in subs.itertuples(index=False):
        typer.echo(f"  {r.member}\t{label(r.state)}\t" + _("revision {rev}, version {ver}").format(
            rev=r.revision, ver=r.version))


# ---------------------------------------------------------------- submissions

@submission_app.command("export", help=_(
    "Export a submission as the exchange CSV or as the filled workbook."))
def submission_export(
    cycle: CycleYear, member: Member,
    fmt: Annotated[str, typer.Option("--format", help=_("csv or xlsx."))] = "csv",
    output: Annotated[Path | None, typer.Option("-o", "--output",
                                                help=_("File to write (csv: default stdout)."))]
    = None,
    lang: Lang = None, actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    from pmm.access import require
    from pmm.assessment.cycles import framework_of, get_cycle
    from pmm.assessment.exchange import export_csv
    from pmm.assessment.submissions import find_submission
    from pmm.store.users import check_member

    if fmt not in ("csv", "xlsx"):
        raise PmmError(_("--format {fmt!r}: expected csv or xlsx").format(fmt=fmt))
    if fmt == "xlsx":
        if output is None:
            raise PmmError(_("--format xlsx needs -o FILE.xlsx"))
        _write_workbook(cycle, member, output, lang, actor, database_url)
        return
    with transaction(database_url) as session:
        who = acting(session, actor)
        code = check_member(member)
        require(who, "read_submission", member=code, year=cycle)
        c = get_cycle(session, cycle)
        text = export_csv(session, find_submission(session, c, code), framework_of(c), cycle)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8", newline="")
        typer.echo(_("Wrote {file}.").format(file=output), err=True)


def _write_workbook(cycle: int, member: str, output: Path, lang: str | None, actor: str | None,
                    database_url: str | None) -> None:
    from pmm.access import require
    from pmm.assessment.cycles import get_cycle
    from pmm.assessment.submissions import find_submission
    from pmm.assessment.workbook import write_workbook
    from pmm.i18n import language
    from pmm.store.users import check_member

    lang = lang or language()
    if lang not in ("en", "fr"):
        raise PmmError(_("--lang {lang!r}: expected en or fr").format(lang=lang))
    with transaction(database_url) as session:
        who = acting(session, actor)
        code = check_member(member)
        require(who, "read_submission", member=code, year=cycle)
        c = get_cycle(session, cycle)
        sub = find_submission(session, c, code)
        write_workbook(session, c, check_member(member), sub, output, lang)
    typer.echo(_("Wrote {file}.").format(file=output), err=True)


@submission_app.command("template", help=_(
    "Write the data-entry workbook: one sheet per dimension, instructions, checked cells.\n\n"
    "Values already saved are filled in, so the workbook can be edited and imported back."))
def submission_template(
    cycle: CycleYear, member: Member,
    output: Annotated[Path, typer.Option("-o", "--output", help=_("Workbook to write (.xlsx)."))],
    lang: Lang = None, actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    _write_workbook(cycle, member, output, lang, actor, database_url)


@submission_app.command("import", help=_(
    "Check a whole file, then save all of it or nothing (one line per defect)."))
def submission_import(
    file: Annotated[Path, typer.Argument(help=_("The exchange CSV or the filled workbook."),
                                         exists=True, dir_okay=False)],
    cycle: CycleYear, member: Member, expect_version: Version = None, reason: Reason = "",
    actor: As = None, database_url: DatabaseUrl = None,
    server: Annotated[str | None, typer.Option("--server", help=_(
        "Send the file to this platform (e.g. https://pmm.example.org) with the API token in "
        "PMM_TOKEN, instead of writing to a database."))] = None,
) -> None:
    from pmm.assessment.imports import import_file
    from pmm.assessment.workflow import report

    if server:
        from pmm.remote import upload

        sent = upload(server, os.environ.get("PMM_TOKEN", ""), cycle, member, file)
        typer.echo(_("Sent {file} to {server}: {n} changes (now version {version}).").format(
            file=file.name, server=server, n=sent.get("changes"), version=sent.get("version")))
        return
    with transaction(database_url) as session:
        who = acting(session, actor)
        result = import_file(session, who, cycle, member, file, expected_version=expect_version,
                             reason=reason, progress=lambda line: typer.echo(line, err=True))
        sub = result.submission
        found = report(session, sub, who)
    if result.changes:
        typer.echo(ngettext("Imported {n} change into {member}'s submission to cycle {year} (now "
                            "version {version}).", "Imported {n} changes into {member}'s "
                            "submission to cycle {year} (now version {version}).",
                            result.changes).format(n=format_number(result.changes),
                                                   member=sub.member, year=cycle,
                                                   version=sub.version))
    else:
        typer.echo(_("No changes: {file} matches {member}'s submission.").format(
            file=file, member=sub.member))
    _print_open_points(found)


def _print_open_points(found) -> None:  # type: ignore[no-untyped-def]
    todo = found.blocking
    if todo:
        typer.echo(_("Before submitting ({n}):").format(n=len(todo)))
        for line in todo:
            typer.echo("  " + line)


@submission_app.command("set", help=_("Set one value (the same checks as an import)."))
def submission_set(
    cycle: CycleYear, member: Member,
    item: Annotated[str, typer.Argument(help=_("Data item code."))],
    value: Annotated[str, typer.Argument(help=_("The value; empty to remove it."))],
    year: Annotated[int | None, typer.Option("--year",
                                             help=_("Calendar year (default T)."))] = None,
    breakdown: Annotated[str, typer.Option("--breakdown", help=_("e.g. flow=IM."))] = "",
    status: Annotated[str, typer.Option("--status", help=_("reported or not_available."))] =
    "reported",
    note: Annotated[str, typer.Option("--note")] = "",
    expect_version: Version = None, reason: Reason = "", actor: As = None,
    database_url: DatabaseUrl = None,
) -> None:
    from pmm.assessment.cycles import framework_of, get_cycle
    from pmm.assessment.submissions import ItemChange, apply_changes, start_submission
    from pmm.assessment.validation import describe_expected
    from pmm.conventions import DecimalCommaError, parse_value

    with transaction(database_url) as session:
        who = acting(session, actor)
        c = get_cycle(session, cycle)
        fw = framework_of(c)
        kind = next((d.type for d in fw.data_items if d.code == item), None)
        try:
            number = parse_value(kind, value)
        except ValueError as exc:
            hint = f"; {exc}" if isinstance(exc, DecimalCommaError) else ""
            raise PmmError(_("value {value!r} is not a number (expected {expected} for {item})")
                           .format(value=value, item=item,
                                   expected=describe_expected(fw, item) if kind
                                   else _("a number")) + hint) from None
        sub = start_submission(session, who, cycle, member)
        n = apply_changes(session, who, sub, [ItemChange(item, year or c.year, breakdown,
                                                         number, status, note)],
                          expected_version=expect_version, reason=reason)
        typer.echo(ngettext("{n} change saved (version {version}).",
                            "{n} changes saved (version {version}).", n)
                   .format(n=format_number(n), version=sub.version))


@submission_app.command("kpi", help=_("Set a KPI's status, disclosure or note."))
def submission_kpi(
    cycle: CycleYear, member: Member,
    kpi: Annotated[str, typer.Argument(help=_("KPI code."))],
    status: Annotated[str | None, typer.Option(
        "--status", help=_("reported, not_applicable or not_available."))] = None,
    disclosure: Annotated[str | None, typer.Option(
        "--disclosure", help=_("public, wco or restricted."))] = None,
    note: Annotated[str | None, typer.Option(
        "--note", help=_("Reason (required for not_applicable)."))] = None,
    expect_version: Version = None, actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    from pmm.assessment.submissions import KpiChange, apply_changes, start_submission

    with transaction(database_url) as session:
        who = acting(session, actor)
        sub = start_submission(session, who, cycle, member)
        n = apply_changes(session, who, sub, [], [KpiChange(kpi, status, disclosure, note)],
                          expected_version=expect_version)
        typer.echo(ngettext("{n} change saved (version {version}).",
                            "{n} changes saved (version {version}).", n)
                   .format(n=format_number(n), version=sub.version))


@submission_app.command("explain", help=_(
    "Explain a plausibility warning (needed before submitting)."))
def submission_explain(
    cycle: CycleYear, member: Member,
    warning: Annotated[str, typer.Argument(help=_("Warning id, as `submission check` shows it."))],
    text: Annotated[str, typer.Argument(help=_("The explanation."))],
    expect_version: Version = None, actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    from pmm.assessment.submissions import readable_submission
    from pmm.assessment.workflow import explain_warning

    with transaction(database_url) as session:
        who = acting(session, actor)
        sub = readable_submission(session, who, cycle, member)
        explain_warning(session, who, sub, warning, text, expected_version=expect_version)
    typer.echo(_("Explanation saved."))


@submission_app.command("check", help=_(
    "Run the validation rules: errors, warnings and completeness per dimension and "
    "outcome.\n\n"
    "Exits non-zero while the submission could not be submitted."))
def submission_check(cycle: CycleYear, member: Member, actor: As = None,
                     database_url: DatabaseUrl = None) -> None:
    from pmm.assessment.submissions import readable_submission
    from pmm.assessment.workflow import report

    with transaction(database_url) as session:
        who = acting(session, actor)
        sub = readable_submission(session, who, cycle, member)
        found = report(session, sub, who)
    typer.echo(_("Errors: {n}").format(n=len(found.errors)))
    for issue in found.errors:
        typer.echo(f"  {issue.where}: {issue.message}")
    typer.echo(_("Warnings: {n}").format(n=len(found.warnings)))
    for w in found.warnings:
        why = found.explained.get(w.id)
        state = _("explained: {text}").format(text=why) if why else _("NEEDS AN EXPLANATION")
        typer.echo(f"  [{w.id}] {w.message}\n      {state}")
    typer.echo(_("Completeness (KPIs answered):"))
    for r in found.completeness.itertuples(index=False):
        indent = "  " if r.level == "dimension" else "    "
        typer.echo(f"{indent}{r.code}: {r.share:.0%} (" + _(
            "{c} complete, {na} not applicable, {nv} not available, {i} incomplete").format(
            c=r.complete, na=r.not_applicable, nv=r.not_available, i=r.incomplete) + ")")
    if found.blocking:
        raise typer.Exit(1)


@submission_app.command("show", help=_(
    "State, revision, version, comments, evidence and reviews of a submission."))
def submission_show(cycle: CycleYear, member: Member, actor: As = None,
                    database_url: DatabaseUrl = None) -> None:
    from pmm.access import action_label, actions_now
    from pmm.assessment.evidence import list_evidence
    from pmm.assessment.review import findings, reviewers
    from pmm.assessment.submissions import comments, current_values, readable_submission

    with transaction(database_url) as session:
        who = acting(session, actor)
        sub = readable_submission(session, who, cycle, member)
        values = current_values(session, sub)
        notes = comments(session, sub)
        files = list_evidence(session, who, sub)
        rounds = findings(session, sub)
        assigned = reviewers(session, sub)
    typer.echo(_("{member}, cycle {year}: {state} (revision {rev}, version {ver}); {n} values")
               .format(member=sub.member, year=cycle, state=label(sub.state), rev=sub.revision,
                       ver=sub.version, n=int(values["value"].notna().sum())))
    actions = actions_now(who, cycle, sub.member, sub.state)
    typer.echo(_("What {user} may do now: {actions}").format(
        user=who.username, actions=", ".join(action_label(a) for a in actions) or _("nothing")))
    if sub.review_requested:
        typer.echo(_("Peer review requested; reviewers: {names}").format(
            names=", ".join(assigned) or _("none assigned yet")))
    for review, items in rounds:
        typer.echo(_("Review of revision {rev} by {who}: {outcome}").format(
            rev=review.revision, who=review.reviewer,
            outcome=review.outcome or _("in progress")))
        for f in items:
            typer.echo(f"  - {f.kpi or ''} {f.text}")
    for c in notes:
        typer.echo(f"{c.at:%Y-%m-%d %H:%M} {c.author} {c.kpi or ''}: {c.text}")
    for e in files:
        typer.echo(f"#{e.id} {e.original_name} ({e.content_type}, {e.size} B) {e.kpi or ''}")


def _transition(name: str, cycle: int, member: str, actor: str | None,
                database_url: str | None, **kwargs: object) -> None:
    from pmm.assessment import workflow
    from pmm.assessment.submissions import lock, readable_submission

    with transaction(database_url) as session:
        who = acting(session, actor)
        sub = readable_submission(session, who, cycle, member)
        lock(session, sub)  # wait for another writer (the same rule on both backends)
        getattr(workflow, name)(session, who, sub, **kwargs)
        typer.echo(_("{member}'s submission to cycle {year} is now {state}.").format(
            member=sub.member, year=cycle, state=label(sub.state)))


@submission_app.command("submit", help=_(
    "Submit (refused while there are errors or unexplained warnings)."))
def submission_submit(
    cycle: CycleYear, member: Member,
    request_review: Annotated[bool, typer.Option("--request-review",
                                                 help=_("Also ask for a peer review."))] = False,
    expect_version: Version = None, actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    _transition("submit", cycle, member, actor, database_url, request_review=request_review,
                expected_version=expect_version)


@submission_app.command("request-review", help=_("Ask for a peer review of the submitted data."))
def submission_request_review(cycle: CycleYear, member: Member, expect_version: Version = None,
                              actor: As = None, database_url: DatabaseUrl = None) -> None:
    _transition("request_peer_review", cycle, member, actor, database_url,
                expected_version=expect_version)


@submission_app.command("resubmit", help=_(
    "Submit again after the peer reviewer requested changes."))
def submission_resubmit(cycle: CycleYear, member: Member, expect_version: Version = None,
                        actor: As = None, database_url: DatabaseUrl = None) -> None:
    _transition("resubmit", cycle, member, actor, database_url, expected_version=expect_version)


@submission_app.command("validate", help=_("Validate the submission (Secretariat)."))
def submission_validate(cycle: CycleYear, member: Member, reason: Reason = "",
                        expect_version: Version = None, actor: As = None,
                        database_url: DatabaseUrl = None) -> None:
    _transition("validate", cycle, member, actor, database_url, reason=reason,
                expected_version=expect_version)


@submission_app.command("publish", help=_("Publish a validated submission (Secretariat)."))
def submission_publish(cycle: CycleYear, member: Member, expect_version: Version = None,
                       actor: As = None, database_url: DatabaseUrl = None) -> None:
    _transition("publish", cycle, member, actor, database_url, expected_version=expect_version)


@submission_app.command("reopen", help=_(
    "Send a submission back to draft as a new revision (Secretariat)."))
def submission_reopen(
    cycle: CycleYear, member: Member,
    reason: Annotated[str, typer.Option("--reason", help=_("Why (required)."))],
    expect_version: Version = None, actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    _transition("reopen", cycle, member, actor, database_url, reason=reason,
                expected_version=expect_version)


@submission_app.command("comment", help=_("Add a comment to a submission."))
def submission_comment(
    cycle: CycleYear, member: Member, text: Annotated[str, typer.Argument(help=_("The comment."))],
    kpi: Annotated[str | None, typer.Option("--kpi", help=_("About this KPI."))] = None,
    actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    from pmm.assessment.submissions import comment, readable_submission

    with transaction(database_url) as session:
        who = acting(session, actor)
        comment(session, who, readable_submission(session, who, cycle, member), text, kpi=kpi)
    typer.echo(_("Comment added."))


@evidence_app.command("add", help=_(
    "Attach an evidence file (size-limited; type sniffed from the content)."))
def evidence_add(
    cycle: CycleYear, member: Member,
    file: Annotated[Path, typer.Argument(help=_("The file."), exists=True, dir_okay=False)],
    kpi: Annotated[str | None, typer.Option("--kpi", help=_("The KPI it supports."))] = None,
    actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    from pmm.assessment.evidence import add_evidence
    from pmm.assessment.submissions import start_submission

    with transaction(database_url) as session:
        who = acting(session, actor)
        sub = start_submission(session, who, cycle, member)
        ev = add_evidence(session, who, sub, file.name, file.read_bytes(), kpi=kpi)
        typer.echo(_("Attached #{id} {name} ({type}, {size} bytes, sha256 {sha}).").format(
            id=ev.id, name=ev.original_name, type=ev.content_type, size=ev.size,
            sha=ev.sha256[:12]))


@evidence_app.command("list", help=_("List evidence files."))
def evidence_list(cycle: CycleYear, member: Member, actor: As = None,
                  database_url: DatabaseUrl = None) -> None:
    from pmm.assessment.evidence import list_evidence
    from pmm.assessment.submissions import readable_submission

    with transaction(database_url) as session:
        who = acting(session, actor)
        sub = readable_submission(session, who, cycle, member)
        for e in list_evidence(session, who, sub):
            typer.echo(f"#{e.id}\t{e.original_name}\t{e.content_type}\t{e.size}\t{e.kpi or ''}"
                       f"\t{e.uploaded_by}\t{e.at:%Y-%m-%d}")


@evidence_app.command("get", help=_("Save an evidence file (its bytes, exactly as uploaded)."))
def evidence_get(
    cycle: CycleYear, member: Member,
    evidence_id: Annotated[int, typer.Argument(help=_("Number shown by `evidence list`."))],
    output: Annotated[Path, typer.Option("-o", "--output", help=_("Where to save it."))],
    actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    from pmm.assessment.evidence import get_evidence
    from pmm.assessment.submissions import readable_submission

    with transaction(database_url) as session:
        who = acting(session, actor)
        sub = readable_submission(session, who, cycle, member)
        ev, content = get_evidence(session, who, sub, evidence_id)
    output.write_bytes(content)
    typer.echo(_("Saved {name} to {file}.").format(name=ev.original_name, file=output))


# ---------------------------------------------------------------- review

def _review(name: str, cycle: int, member: str, actor: str | None, database_url: str | None,
            *args: object, **kwargs: object) -> None:
    from pmm.assessment import review
    from pmm.assessment.submissions import lock, readable_submission

    with transaction(database_url) as session:
        who = acting(session, actor)
        sub = readable_submission(session, who, cycle, member)
        lock(session, sub)  # wait for another writer (the same rule on both backends)
        getattr(review, name)(session, who, sub, *args, **kwargs)
        typer.echo(_("{member}'s submission to cycle {year}: {state}.").format(
            member=sub.member, year=cycle, state=label(sub.state)))


@review_app.command("assign", help=_("Assign a peer reviewer (Secretariat)."))
def review_assign(cycle: CycleYear, member: Member,
                  reviewer: Annotated[str, typer.Option("--reviewer", help=_("User name."))],
                  actor: As = None, database_url: DatabaseUrl = None) -> None:
    _review("assign", cycle, member, actor, database_url, reviewer)


@review_app.command("start", help=_("Start reviewing (the assigned peer reviewer)."))
def review_start(cycle: CycleYear, member: Member, expect_version: Version = None,
                 actor: As = None, database_url: DatabaseUrl = None) -> None:
    _review("start", cycle, member, actor, database_url, expected_version=expect_version)


@review_app.command("finding", help=_("Record a finding of the review in progress."))
def review_finding(cycle: CycleYear, member: Member,
                   text: Annotated[str, typer.Argument(help=_("The finding."))],
                   kpi: Annotated[str | None, typer.Option("--kpi")] = None,
                   actor: As = None, database_url: DatabaseUrl = None) -> None:
    _review("add_finding", cycle, member, actor, database_url, text, kpi=kpi)


@review_app.command("request-changes", help=_(
    "Ask the member for changes (it edits a new revision, then resubmits)."))
def review_request_changes(
    cycle: CycleYear, member: Member,
    reason: Annotated[str, typer.Option("--reason", help=_("What should change."))],
    expect_version: Version = None, actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    _review("request_changes", cycle, member, actor, database_url, reason,
            expected_version=expect_version)


@review_app.command("complete", help=_(
    "Close the review as accepted (the Secretariat can then validate)."))
def review_complete(cycle: CycleYear, member: Member,
                    summary: Annotated[str, typer.Option("--summary")] = "",
                    expect_version: Version = None, actor: As = None,
                    database_url: DatabaseUrl = None) -> None:
    _review("complete", cycle, member, actor, database_url, summary,
            expected_version=expect_version)
