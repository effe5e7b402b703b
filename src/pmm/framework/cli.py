"""`pmm framework ...`"""

from __future__ import annotations

import typer

app = typer.Typer(help="The mechanism as data: list, show, validate, diff and export frameworks.",
                  no_args_is_help=True)
