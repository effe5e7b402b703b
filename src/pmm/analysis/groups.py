"""Peer-group memberships of a cycle's members, as one tidy table for every grouping at once.

Groupings: `global` (group `all`), `region`, `income`, `geography`, `admin_type` (from the
members reference data) and `size` (band of the member's declarations in the reporting year; a
member that did not report them is in group `unknown`). User-defined groups come from a file
(`pmm.members.load_groups`) and are handled apart (see `benchmark`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from pmm.errors import PmmError
from pmm.i18n import _
from pmm.members import peer_groups, size_groups

STANDARD = ("region", "income", "geography", "admin_type", "size")
GROUPINGS = ("global", *STANDARD)
COLUMNS = ["grouping", "group", "member"]


def memberships(members: Iterable[str], declarations: Mapping[str, float] | None = None
                ) -> pd.DataFrame:
    """grouping, group, member for every standard grouping of `members`."""
    codes = sorted(set(members))
    frames = [pd.DataFrame({"grouping": "global", "group": "all", "member": codes})]
    for by in ("region", "income", "geography", "admin_type"):
        frames.append(_frame(by, peer_groups(by, codes)))
    counts = {m: float(v) for m, v in (declarations or {}).items()
              if m in set(codes) and v is not None and np.isfinite(v) and v >= 0}
    sized = size_groups(counts) if counts else {}
    unknown = [m for m in codes if m not in counts]
    if unknown:
        sized = {**sized, "unknown": unknown}
    frames.append(_frame("size", sized))
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def custom_memberships(groups: Mapping[str, list[str]]) -> pd.DataFrame:
    """User-defined groups (may overlap) as grouping `custom`."""
    return _frame("custom", groups)


def _frame(by: str, groups: Mapping[str, list[str]]) -> pd.DataFrame:
    rows = [(by, g, m) for g, ms in groups.items() for m in ms]
    return pd.DataFrame(rows, columns=COLUMNS)


def check_by(by: str) -> str:
    if by not in (*STANDARD, "custom"):
        raise PmmError(_("--by {value!r}: expected one of {expected}").format(
            value=by, expected=", ".join((*STANDARD, "custom"))))
    return by


def declarations_of(values: pd.DataFrame, year: int) -> dict[str, float]:
    """Each member's total declarations in calendar year `year` (for size bands)."""
    rows = values[(values["data_item"] == "declarations") & (values["year"] == year)
                  & (values["breakdown"] == "") & (values["status"] == "reported")]
    rows = rows[np.isfinite(rows["value"].astype(float))]
    return dict(zip(rows["member"], rows["value"].astype(float), strict=True))
