"""`pmm report member|review|global|region` and `pmm export sdmx|xlsx|csv`.

Thin shells over `pmm.publish`: each command opens one transaction, reads a release (`--release`,
default the latest not withdrawn) as the user named by `--as` (or PMM_USER), and writes files.
What a file holds is what that user may read: the anonymous public is `--as` a user of the
`viewer`, `working_body` or `admin` role, or `--public` for the public open data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pmm.analysis.cli import As, CycleYear, principal
from pmm.errors import PmmError
from pmm.i18n import _
from pmm.store.cli import DatabaseUrl
from pmm.store.engine import transaction

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pmm.access import Principal

app = typer.Typer()
report_app = typer.Typer(help=_("Reports of a release as PDF or HTML: member profile, peer "
                                "review, global and regional reports."), no_args_is_help=True)
export_app = typer.Typer(help=_("Open data and downloads of a release: SDMX, Excel, CSV."),
                         no_args_is_help=True)
app.add_typer(report_app, name="report")
app.add_typer(export_app, name="export")

ReleaseNumber = Annotated[int | None, typer.Option(
    "--release", help=_("The release number (default: the latest not withdrawn)."))]
Lang = Annotated[str | None, typer.Option(
    "--lang", help=_("Language of the report or file: en or fr (default: the language of "
                     "messages)."))]
Public = Annotated[bool, typer.Option(
    "--public", help=_("As the anonymous public (what anyone may download), not as a user."))]
Out = Annotated[Path, typer.Option("-o", "--out", help=_(
    "The file to write (.pdf or .html for a report, .xlsx for a workbook)."))]
OutDir = Annotated[Path, typer.Option("-o", "--out", help=_("The folder to write the files in."))]
MemberArg = Annotated[str, typer.Argument(help=_("ISO 3166-1 alpha-3 code, e.g. KEN."))]


def _who(session: Session, username: str | None, public: bool) -> Principal:
    from pmm.access import ANONYMOUS

    if public:
        if username:
            raise PmmError(_("name a user or ask for the public view, not both"))
        return ANONYMOUS
    return principal(session, username)


def _lang(value: str | None) -> str | None:
    from pmm.i18n import LANGUAGES

    if value is not None and value not in LANGUAGES:
        raise PmmError(_("language {value!r}: expected one of {expected}").format(
            value=value, expected=", ".join(LANGUAGES)))
    return value


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """A file or folder that cannot be written is a clear error, not a traceback."""
    try:
        yield
    except OSError as exc:
        raise PmmError(_("{path}: cannot write the file ({error})").format(
            path=path, error=exc.strerror or exc)) from None


def _done(paths: list[Path]) -> None:
    for p in paths:
        typer.echo(_("wrote {path}").format(path=p))


@report_app.command("member", help=_(
    "A member's profile: scores, KPIs against peers, change, gaps and data notes, as the user "
    "may read it."))
def report_member(member: MemberArg, cycle: CycleYear, out: Out, actor: As = None,
                  public: Public = False, release: ReleaseNumber = None, lang: Lang = None,
                  database_url: DatabaseUrl = None) -> None:
    from pmm.publish import reports

    with _writing(out), transaction(database_url) as session:
        html = reports.profile(session, _who(session, actor, public), cycle, member,
                               number_=release, lang=_lang(lang))
    with _writing(out):
        _done([reports.write(html, out)])


@report_app.command("review", help=_(
    "The peer review of a member's submission: findings and outcome (for the member, its "
    "reviewers and the Secretariat)."))
def report_review(member: MemberArg, cycle: CycleYear, out: Out, actor: As = None,
                  lang: Lang = None, database_url: DatabaseUrl = None) -> None:
    from pmm.publish import reports

    with _writing(out), transaction(database_url) as session:
        html = reports.review_report(session, principal(session, actor), cycle, member,
                                     lang=_lang(lang))
    with _writing(out):
        _done([reports.write(html, out)])


@report_app.command("global", help=_(
    "The global report of a release: participation, KPI statistics, SDGs, capacity-building "
    "demand."))
def report_global(cycle: CycleYear, out: Out, actor: As = None, public: Public = False,
                  release: ReleaseNumber = None, lang: Lang = None,
                  database_url: DatabaseUrl = None) -> None:
    from pmm.publish import reports

    with _writing(out), transaction(database_url) as session:
        html = reports.global_report(session, _who(session, actor, public), cycle,
                                     number_=release, lang=_lang(lang))
    with _writing(out):
        _done([reports.write(html, out)])


@report_app.command("region", help=_("The report of one WCO region (code, e.g. EUR)."))
def report_region(region: Annotated[str, typer.Argument(help=_("WCO region code, e.g. ESA."))],
                  cycle: CycleYear, out: Out, actor: As = None, public: Public = False,
                  release: ReleaseNumber = None, lang: Lang = None,
                  database_url: DatabaseUrl = None) -> None:
    from pmm.publish import reports

    with _writing(out), transaction(database_url) as session:
        html = reports.global_report(session, _who(session, actor, public), cycle,
                                     number_=release, lang=_lang(lang), region=region.upper())
    with _writing(out):
        _done([reports.write(html, out)])


@export_app.command("sdmx", help=_(
    "SDMX open data: the structure (SDMX-ML 3.0) and the release's data as SDMX-ML 3.0 and "
    "SDMX-CSV 2.0. The agency is WCO unless PMM_SDMX_AGENCY says otherwise."))
def export_sdmx(cycle: CycleYear, out: OutDir, actor: As = None, public: Public = False,
                release: ReleaseNumber = None, lang: Lang = None,
                database_url: DatabaseUrl = None) -> None:
    from pmm.publish import reports, sdmx, source

    with _writing(out), transaction(database_url) as session, \
            reports.use_locale(_lang(lang)) as chosen:
        view = source.read(session, _who(session, actor, public), cycle, release)
        paths = sdmx.write(view, out, chosen)
    _done(paths)


@export_app.command("xlsx", help=_("The results workbook: about, values, statistics."))
def export_xlsx(cycle: CycleYear, out: Out, actor: As = None, public: Public = False,
                release: ReleaseNumber = None, lang: Lang = None,
                database_url: DatabaseUrl = None) -> None:
    from pmm.publish import reports, source, tables

    if out.suffix.lower() != ".xlsx":
        raise PmmError(_("{path}: expected a file name ending in .xlsx").format(path=out))
    with _writing(out), transaction(database_url) as session, reports.use_locale(_lang(lang)):
        view = source.read(session, _who(session, actor, public), cycle, release)
        path = tables.write_xlsx(view, out)
    _done([path])


@export_app.command("csv", help=_("The values and the statistics of a release as two CSV files."))
def export_csv(cycle: CycleYear, out: OutDir, actor: As = None, public: Public = False,
               release: ReleaseNumber = None, lang: Lang = None,
               database_url: DatabaseUrl = None) -> None:
    from pmm.publish import reports, source, tables

    with _writing(out), transaction(database_url) as session, reports.use_locale(_lang(lang)):
        view = source.read(session, _who(session, actor, public), cycle, release)
        paths = tables.write_csv(view, out)
    _done(paths)
