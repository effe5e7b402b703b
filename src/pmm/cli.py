"""The `pmm` command: thin shells over the services, one sub-command group per layer."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console

from pmm import __version__
from pmm.analysis.cli import app as analysis_app
from pmm.assessment.cli import app as assessment_app
from pmm.errors import PmmError
from pmm.framework.cli import app as framework_app
from pmm.i18n import _, set_language
from pmm.measure.cli import app as measure_app
from pmm.members.cli import app as members_app
from pmm.scoring.cli import app as composite_app

app = typer.Typer(
    name="pmm",
    help="customs-pmm: the WCO Performance Measurement Mechanism as a platform.\n\n"
    "Start with `pmm framework list`, then `pmm framework show wco-pmm-v1`.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"customs-pmm {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    lang: Annotated[
        str | None,
        typer.Option("--lang", envvar="PMM_LANG", help="Language of messages: en or fr."),
    ] = None,
    version: Annotated[bool, typer.Option("--version", help="Print the version.",
                                          callback=_print_version, is_eager=True)] = False,
) -> None:
    try:
        set_language(lang)  # every invocation chooses afresh (tests run many in one process)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lang") from None


app.add_typer(framework_app, name="framework")
app.add_typer(assessment_app)  # db, user, cycle, submission, review, audit, demo
app.add_typer(members_app, name="members")
app.add_typer(measure_app, name="measure")
app.add_typer(composite_app, name="composite")
app.add_typer(analysis_app)  # benchmark, gaps, secretariat, sdg, trends, whatif


def run(argv: list[str] | None = None) -> int:
    """Run the command and return its exit code.

    User errors print their lines; unexpected ones print one line, not a traceback (set
    PMM_DEBUG=1 to see it). Tests call this with an argument list.
    """
    try:
        app(args=argv, prog_name="pmm", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except PmmError as exc:
        for line in exc.lines:
            err.print(line, markup=False, highlight=False, soft_wrap=True)
        return exc.exit_code
    except Exception as exc:
        if os.environ.get("PMM_DEBUG"):
            raise
        message = _("Internal error: {error}. Set PMM_DEBUG=1 for details, and please report it.")
        err.print(message.format(error=f"{type(exc).__name__}: {exc}"), markup=False,
                  highlight=False, soft_wrap=True)
        return 70
    return 0


def entry() -> None:
    sys.exit(run())
