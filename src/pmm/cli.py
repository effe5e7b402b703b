"""The `pmm` command: thin shells over the services, one sub-command group per layer."""

from __future__ import annotations

import contextvars
import importlib
import os
import sys
import traceback
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from pmm import __version__
from pmm.cli_text import install as install_cli_text
from pmm.errors import PmmError
from pmm.i18n import _, set_language
from pmm.terminal import console

# Each command lives with its layer and is imported only when it is used, so `pmm --help` and
# every command start fast. name: (module, attribute, one-line help). An attribute that is a
# group without a name of its own (assessment, analysis) lends its command `name`.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "framework": ("pmm.framework.cli", "app", "The mechanism as data: list, show, validate, diff "
                  "and export framework versions."),
    "members": ("pmm.members.cli", "app", "WCO Member administrations and peer groups."),
    "db": ("pmm.store.cli", "db_app", "The database: create or upgrade its schema, back up, "
           "verify a backup, restore."),
    "user": ("pmm.store.cli", "user_app", "Users and roles."),
    "audit": ("pmm.assessment.cli", "app", "The audit trail: who changed what, when, and why."),
    "cycle": ("pmm.assessment.cli", "app", "Cycles: create, open, close, list, show."),
    "submission": ("pmm.assessment.cli", "app", "A member's submission: template, import, "
                   "export, check, submit and the rest of the workflow."),
    "review": ("pmm.assessment.cli", "app", "Peer review: assign, start, findings, request "
               "changes, complete."),
    "proposal": ("pmm.assessment.cli", "app", "KPI proposals: a working-body member proposes a "
                 "KPI for a tool; the Secretariat accepts it into a draft or rejects it."),
    "draft": ("pmm.assessment.cli", "app", "Framework drafts: start from a version, upload, "
              "compare with the base, adopt."),
    "demo": ("pmm.analysis.cli", "app", "Seed the database with demonstration data."),
    "measure": ("pmm.measure.cli", "app", "From microdata: verify an extract, Time Release "
                "Study, data items, synthetic data."),
    "composite": ("pmm.scoring.cli", "app", "General composite-indicator engine "
                  "(COINr-compatible) and its robustness analysis."),
    "score": ("pmm.analysis.cli", "app", "KPI, outcome and dimension scores of a cycle."),
    "benchmark": ("pmm.analysis.cli", "app", "Peer-group statistics you may receive."),
    "gaps": ("pmm.analysis.cli", "app", "A member's gaps: its capacity-building plan."),
    "sdg": ("pmm.analysis.cli", "app", "Outcome scores rolled up to the SDG targets."),
    "trends": ("pmm.analysis.cli", "app", "Change between two cycles, flagged where not "
               "comparable."),
    "whatif": ("pmm.analysis.cli", "app", "Change some values and see the effect; nothing is "
               "saved."),
    "secretariat": ("pmm.analysis.cli", "app", "Secretariat views: participation, coverage, "
                    "demand."),
    "release": ("pmm.analysis.cli", "app", "Releases of a cycle: create, list, show, diff, "
                "withdraw, and the disclosure-control configuration."),
    "serve": ("pmm.web.cli", "app", "Serve the web platform and its JSON API."),
    "report": ("pmm.publish.cli", "app", "Reports of a release as PDF or HTML: member "
               "profile, peer review, global and regional reports."),
    "export": ("pmm.publish.cli", "app", "Open data and downloads of a release: SDMX, Excel, "
               "CSV."),
}


# Typer's and Click's own words (usage, sections, usage errors) and every help text are said in
# the language of the call, whenever their module was imported.
install_cli_text()


class LazyGroup(TyperGroup):
    """The root group: sub-commands are imported on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, name: str) -> Any:
        if name not in COMMANDS:
            return None
        module, attribute, _help = COMMANDS[name]
        target = getattr(importlib.import_module(module), attribute)
        target._add_completion = False  # a sub-command, not a program of its own
        # plain help and errors: no Rich markup or emoji read into user text, and the chrome
        # goes through the translated Click formatter (`pmm.cli_text`)
        target.rich_markup_mode = None
        command = typer.main.get_command(target)
        inner = getattr(command, "commands", {})
        # a layer's group without a name of its own (assessment, analysis) lends its command
        return inner.get(name, command)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section(_("Commands")):
            formatter.write_dl([(name, _(text)) for name, (_m, _a, text) in COMMANDS.items()])


app = typer.Typer(
    name="pmm",
    cls=LazyGroup,
    help=_("customs-pmm: the WCO Performance Measurement Mechanism as a platform.\n\n"
           "Start with `pmm framework list`, then `pmm framework show wco-pmm-v1`."),
    no_args_is_help=True,
    rich_markup_mode=None,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"customs-pmm {__version__}")
        raise typer.Exit()


def _choose_language(value: str | None) -> str | None:
    try:
        set_language(value)  # every invocation chooses afresh (tests run many in one process)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lang") from None
    return value


@app.callback()
def main(
    lang: Annotated[str | None, typer.Option(
        "--lang", envvar="PMM_LANG", help=_("Language of messages: en or fr."),
        callback=_choose_language, is_eager=True)] = None,
    version: Annotated[bool, typer.Option("--version", help=_("Print the version."),
                                          callback=_print_version, is_eager=True)] = False,
) -> None:
    """Options of every command: the language (chosen before any command is imported)."""


def run(argv: list[str] | None = None) -> int:
    """Run the command and return its exit code.

    User errors print their lines; unexpected ones print one line, not a traceback (set
    PMM_DEBUG=1 to see it, with the SQL and values of a database error). The exit code is the
    error's (see `pmm.errors` and `pmm.store.faults`). Tests call this with an argument list.
    Each run has a context of its own, so the language it chooses ends with it.
    """
    return contextvars.copy_context().run(_run, argv)


def _run(argv: list[str] | None) -> int:
    try:
        app(args=argv, prog_name="pmm", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except PmmError as exc:
        if os.environ.get("PMM_DEBUG"):  # where it came from, with the SQL of a database error
            traceback.print_exception(exc, file=sys.stderr)
        for line in exc.lines:
            err.print(line, markup=False, highlight=False, soft_wrap=True)
        return exc.exit_code
    except Exception as exc:
        if os.environ.get("PMM_DEBUG"):
            raise
        # the technical detail stays as Python said it, but is labelled as such in every language
        message = _("Internal error: pmm did not expect this and stopped. Please report it with "
                    "this technical detail (PMM_DEBUG=1 shows the full trace): {error}")
        err.print(message.format(error=_describe(exc)), markup=False, highlight=False,
                  soft_wrap=True)
        return 70
    return 0


def _describe(exc: BaseException) -> str:
    """An unexpected error in one line. A database error's text holds its SQL and bound values
    (member data): only its class is shown."""
    if type(exc).__module__.split(".")[0] in ("sqlalchemy", "sqlite3", "psycopg"):
        orig = getattr(exc, "orig", None)
        return type(orig or exc).__name__ + " " + _("(database error)")
    return f"{type(exc).__name__}: {exc}"


def entry() -> None:
    sys.exit(run())
