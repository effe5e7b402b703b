"""What was reported: cycles, submissions, validation, workflow, peer review, evidence, the CSV
and Excel exchange formats, and the demo data.

For scoring and analysis the entry point is `cycle_tables(year)`: every submission of a cycle as
tidy DataFrames (`values`, `kpis`, `submissions`; see `CycleTables`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pmm.assessment.tables import CycleTables, cycle_tables

__all__ = ["CycleTables", "cycle_tables"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so `pmm --help` does not pay for pandas.
    if name in __all__:
        from pmm.assessment import tables

        return getattr(tables, name)
    raise AttributeError(name)
