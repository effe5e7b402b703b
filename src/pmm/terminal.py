"""Printing to the terminal for the command-line shells.

Whatever a user typed or a file held (member names, notes, file names with `:100:` in an error
location, `[brackets]`) is printed as it is: the consoles made here never read rich markup or
emoji codes, and never colour numbers on their own. Styling is given explicitly (`Text`,
`style=`), never through markup in a string.
"""

from __future__ import annotations

from rich.console import Console


def console(*, stderr: bool = False, width: int | None = None, soft_wrap: bool = True) -> Console:
    """A console that prints text literally (no markup, no emoji codes, no highlighting)."""
    return Console(stderr=stderr, width=width, soft_wrap=soft_wrap, markup=False, emoji=False,
                   highlight=False)
