"""KPI values: every KPI of a framework, evaluated for every member of a cycle at once.

Submitted data items are the only truth; this turns them into KPI values, vectorised over members
(one numpy column per data-item reference). A value that is not applicable, not available or not
computable keeps its reason through every later step.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from pmm.conventions import format_breakdown
from pmm.framework.formula import Ref, Values, evaluate, parse
from pmm.framework.model import KPI, Framework
from pmm.i18n import _

COLUMNS = ["member", "kpi", "variant", "breakdown", "value", "status", "reason"]
ITEM_COLUMNS = ["member", "data_item", "year", "breakdown", "value", "status"]
STATUS_COLUMNS = ["member", "kpi", "status", "note"]


class _Columns:
    """Data-item columns over members, looked up by formula reference."""

    def __init__(self, fw: Framework, items: pd.DataFrame, members: list[str], year: int) -> None:
        self.fw, self.year, self.members = fw, year, members
        position = pd.Index(members)
        items = items[items["member"].isin(members)]
        self.values: dict[tuple[str, int, str], np.ndarray] = {}
        self.unavailable: dict[tuple[str, int, str], np.ndarray] = {}
        keys = ["data_item", "year", "breakdown"]
        for key, group in items.groupby(keys, sort=False):
            rows = position.get_indexer(group["member"])
            column = np.full(len(members), np.nan)
            column[rows] = pd.to_numeric(group["value"], errors="coerce").to_numpy(float)
            self.values[(str(key[0]), int(key[1]), str(key[2]))] = column
            flagged = np.zeros(len(members), dtype=bool)
            flagged[rows] = (group["status"] == "not_available").to_numpy()
            self.unavailable[(str(key[0]), int(key[1]), str(key[2]))] = flagged

    def resolve(self, ref: Ref) -> Values:
        key = (ref.item, self.year + ref.year, format_breakdown(ref.breakdown))
        column = self.values.get(key)
        n = len(self.members)
        missing = _("missing: {ref}").format(ref=ref)  # a reason a reader sees, like the others
        if column is None:
            return Values.missing(n, missing)
        reason = np.full(n, None, dtype=object)
        reason[np.isnan(column)] = missing
        reason[self.unavailable[key]] = _("not available: {ref}").format(ref=ref)
        return Values(column, reason)

    def expand(self, ref: Ref) -> list[Ref]:
        fixed = [(k, v) for k, v in ref.breakdown if v != "*"]
        keys = ref.wildcard_keys
        choices = [self.fw.breakdown_values(ref.item, k) for k in keys]
        return [Ref(ref.item, ref.year, tuple(sorted(fixed + list(zip(keys, combo, strict=True)))))
                for combo in itertools.product(*choices)]


def kpi_variants(kpi: KPI, fw: Framework) -> list[tuple[str, str, object]]:
    """(variant, breakdown text, expression) for the headline, each variant, each breakdown."""
    bases = [("", parse(kpi.formula))] + [(name, parse(f)) for name, f in kpi.variants.items()]
    out: list[tuple[str, str, object]] = []
    for name, expr in bases:
        out.append((name, "", expr))
        for key in kpi.breakdowns:
            # only the values every item of the formula is reported by
            values = [v for v in fw.breakdown(key).values
                      if all(v in fw.breakdown_values(r.item, key) for r in expr.references())]
            for value in values:
                out.append((name, f"{key}={value}", expr.with_breakdown({key: value})))
    return out


def kpi_values(fw: Framework, items: pd.DataFrame, statuses: pd.DataFrame, year: int,
               members: list[str] | None = None) -> pd.DataFrame:
    """Evaluate every KPI for every member.

    `items`: member, data_item, year (calendar year), breakdown, value, status
    (`reported` | `not_available`). `statuses`: member, kpi, status (`reported`,
    `not_applicable`, `not_available`), note. Returns one row per member, KPI, variant and
    breakdown: value (NaN unless status is `ok`), status (`ok`, `not_applicable`,
    `not_available`, `not_computable`) and reason.
    """
    if members is None:
        members = sorted(set(items["member"]) | set(statuses["member"]))
    columns = _Columns(fw, items, members, year)
    frames = []
    for kpi in fw.kpis:
        status = np.full(len(members), "reported", dtype=object)
        note = np.full(len(members), "", dtype=object)
        if len(statuses):
            mine = statuses[statuses["kpi"] == kpi.code]
            where = pd.Index(members).get_indexer(mine["member"])
            keep = where >= 0
            status[where[keep]] = mine["status"].to_numpy()[keep]
            note[where[keep]] = mine["note"].fillna("").to_numpy()[keep]
        for variant, breakdown, expr in kpi_variants(kpi, fw):
            result = evaluate(expr, columns.resolve, len(members), columns.expand)
            out_status = np.where(result.computable, "ok", "not_computable").astype(object)
            reason = result.reason.copy()
            reason[result.computable] = ""
            for declared_status in ("not_applicable", "not_available"):
                hit = status == declared_status
                out_status[hit] = declared_status
                if declared_status == "not_applicable":
                    label, noted = _("not applicable"), _("not applicable: {note}")
                else:
                    label, noted = _("not available"), _("not available: {note}")
                reason[hit] = [noted.format(note=n) if n else label for n in note[hit]]
            value = np.where(out_status == "ok", result.value, np.nan)
            frames.append(pd.DataFrame({
                "member": members, "kpi": kpi.code, "variant": variant, "breakdown": breakdown,
                "value": value, "status": out_status, "reason": reason}))
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)[COLUMNS]
