"""What-if: change some of a member's values and see the effect on its scores and gaps.

Nothing is saved: the function works on copies of the cycle's tables. A change names either a
KPI (its headline value is replaced) or a data item, written as in formulas
(`declarations_electronic`, `declarations{flow=IM}`, `aeo_count[T-1]`; the year defaults to T),
in which case the member's KPI values are recomputed from its data items. Scores are recomputed
for the scored members with the member's new values (relative rules such as percentile ranks
move with them); peer references stay those released before the change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pmm.analysis.domains import kpi_domain
from pmm.conventions import format_breakdown
from pmm.errors import PmmError
from pmm.framework.formula import FormulaError, Ref, parse
from pmm.framework.model import Framework
from pmm.i18n import _
from pmm.scoring.kpi_values import kpi_values
from pmm.scoring.pmm import score_cycle

COLUMNS = ["member", "level", "code", "before", "after", "change", "changed"]


@dataclass
class WhatIf:
    """Scores and values before and after, and the gaps before and after."""

    effect: pd.DataFrame
    gaps_before: pd.DataFrame
    gaps_after: pd.DataFrame


def parse_changes(fw: Framework, changes: Mapping[str, float] | list[str]
                  ) -> tuple[dict[str, float], dict[tuple[str, int, str], float]]:
    """Split `CODE=VALUE` changes into KPI overrides and data-item overrides.

    Data items are keyed by (item, year offset from T, breakdown text). Every bad change is
    reported at once.
    """
    if isinstance(changes, list):
        pairs, errors = {}, []
        for text in changes:
            code, sep, value = text.rpartition("=")
            if not sep:
                errors.append(_("--set {value!r}: expected CODE=VALUE, e.g. TF.1.1=95").format(
                    value=text))
                continue
            try:
                pairs[code.strip()] = float(value)
            except ValueError:
                errors.append(_("--set {code}: {value!r} is not a number").format(
                    code=code.strip(), value=value.strip()))
        if errors:
            raise PmmError(*errors)
        changes = pairs
    kpis = {k.code for k in fw.kpis}
    items = {i.code for i in fw.data_items}
    kpi_changes: dict[str, float] = {}
    item_changes: dict[tuple[str, int, str], float] = {}
    errors = []
    for code, value in changes.items():
        if not np.isfinite(value):
            errors.append(_("--set {code}: {value!r} is not a finite number").format(
                code=code, value=value))
        elif code in kpis:
            # what the KPI's formula can give from data items within their bounds (a rate
            # `100 * part / whole` is within 0-100); anything else could never be reported
            domain = kpi_domain(fw.kpi(code), fw)
            if not domain.lo <= value <= domain.hi:
                errors.append(_("--set {code}: {value:g} is outside {lo} to {hi}").format(
                    code=code, value=value, lo="-∞" if domain.lo == -np.inf else f"{domain.lo:g}",
                    hi="∞" if domain.hi == np.inf else f"{domain.hi:g}"))
                continue
            kpi_changes[code] = float(value)
        else:
            try:
                ref = parse(code)
            except FormulaError:
                ref = None
            if not isinstance(ref, Ref) or ref.item not in items or ref.wildcard_keys:
                errors.append(_("--set {code}: not a KPI or a data item of {fw} (e.g. TF.1.1, "
                                "declarations, declarations{{flow=IM}}, aeo_count[T-1])").format(
                    code=code, fw=fw.id))
                continue
            lo, hi = fw.data_item(ref.item).plausible_bounds()
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                errors.append(_("--set {code}: {value:g} is outside {lo} to {hi}").format(
                    code=code, value=value, lo="-∞" if lo is None else f"{lo:g}",
                    hi="∞" if hi is None else f"{hi:g}"))
                continue
            item_changes[(ref.item, ref.year, format_breakdown(ref.breakdown))] = float(value)
    if errors:
        raise PmmError(*errors)
    if not kpi_changes and not item_changes:
        raise PmmError(_("no change given: use --set CODE=VALUE at least once"))
    return kpi_changes, item_changes


def whatif(fw: Framework, year: int, member: str, values: pd.DataFrame, changes: Mapping[str, float]
           | list[str], *, items: pd.DataFrame | None = None,
           statuses: pd.DataFrame | None = None, scored: list[str] | None = None,
           gaps: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> WhatIf:
    """The effect of `changes` on `member`'s KPI values and scores of cycle `year`.

    `values`: the cycle's KPI values (`kpi_values` output) of every member; `items`, `statuses`:
    the cycle's data items and KPI statuses (needed for data-item changes); `scored`: the members
    scores are computed over (default: all in `values`; the member is always added); `gaps`:
    a function from the member's observations (KPI values and scores, `level` kpi or kpi_score)
    to its gaps, called before and after.
    """
    kpi_changes, item_changes = parse_changes(fw, changes)
    member = member.upper()
    if member not in set(values["member"]):
        raise PmmError(_("--member {member}: no KPI values in cycle {year}").format(
            member=member, year=year))
    after = values.copy()
    if item_changes:
        if items is None or statuses is None:
            raise PmmError(_("changing data items needs the cycle's data items"))
        mine = items[items["member"] == member].copy()
        for (item, offset, breakdown), value in item_changes.items():
            at = ((mine["data_item"] == item) & (mine["year"] == year + offset)
                  & (mine["breakdown"] == breakdown))
            if at.any():
                mine.loc[at, ["value", "status"]] = [value, "reported"]
            else:
                mine = pd.concat([mine, pd.DataFrame([{
                    "member": member, "data_item": item, "year": year + offset,
                    "breakdown": breakdown, "value": value, "status": "reported"}])],
                    ignore_index=True)
        from pmm.assessment.validation import check_values

        refused = [i for i in check_values(fw, year, mine) if i.severity == "error"]
        if refused:  # the same checks as a submission: parts within wholes, bounds, ...
            raise PmmError(*(_("--set: the changed data would be refused: {issue}").format(
                issue=i) for i in refused))
        recomputed = kpi_values(fw, mine, statuses[statuses["member"] == member], year,
                                members=[member])
        after = pd.concat([after[after["member"] != member], recomputed], ignore_index=True)
    if kpi_changes:
        head = (after["member"] == member) & (after["variant"] == "") & (after["breakdown"] == "")
        for code, value in kpi_changes.items():
            at = head & (after["kpi"] == code)
            after.loc[at, ["value", "status", "reason"]] = [value, "ok", _("what-if")]
    pool = sorted(set(scored if scored is not None else values["member"]) | {member})
    before_scores = score_cycle(fw, values[values["member"].isin(pool)])
    after_scores = score_cycle(fw, after[after["member"].isin(pool)])
    b = _member_rows(values, before_scores, member)
    a = _member_rows(after, after_scores, member)
    effect = b.merge(a, on=["member", "level", "code"], suffixes=("_before", "_after"))
    effect = effect.rename(columns={"value_before": "before", "value_after": "after"})
    effect["change"] = effect["after"] - effect["before"]
    same = (np.isclose(effect["before"], effect["after"], equal_nan=True)
            & (effect["status_before"] == effect["status_after"]))
    effect["changed"] = ~same
    gaps_before = gaps(_observations(b)) if gaps else pd.DataFrame()
    gaps_after = gaps(_observations(a)) if gaps else pd.DataFrame()
    return WhatIf(effect[COLUMNS].reset_index(drop=True), gaps_before, gaps_after)


def _member_rows(values: pd.DataFrame, scores: pd.DataFrame, member: str) -> pd.DataFrame:
    v = values[(values["member"] == member) & (values["variant"] == "")
               & (values["breakdown"] == "")]
    v = pd.DataFrame({"member": member, "level": "kpi", "code": v["kpi"],
                      "value": v["value"].astype(float), "status": v["status"],
                      "reason": v["reason"]})
    s = scores[scores["member"] == member]
    s = pd.DataFrame({"member": member,
                      "level": s["level"].replace({"kpi": "kpi_score"}), "code": s["code"],
                      "value": s["score"].astype(float), "status": s["status"],
                      "reason": s["reason"]})
    return pd.concat([v, s], ignore_index=True)


def _observations(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.assign(variant="", breakdown="")
