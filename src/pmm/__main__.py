"""`python -m pmm`: the `pmm` command."""

from pmm.cli import entry

entry()
