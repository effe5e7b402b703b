"""Compare two framework versions: what was added, removed and changed, and what breaks trends.

A KPI's values stay comparable over time only while its formula, unit, direction and year rule
stay the same, and while the data items its formula reads keep their meaning (type and
breakdowns). Formulas are compared in canonical form, so layout changes break nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pmm.framework.formula import FormulaError, parse
from pmm.framework.model import Framework

KPI_BREAKING = ("formula", "unit", "direction", "years")
ITEM_BREAKING = ("type", "breakdowns", "min", "max")


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: object
    new: object
    breaking: bool


@dataclass(frozen=True)
class Change:
    kind: str  # dimension, outcome, kpi, data_item
    code: str
    change: str  # added, removed, changed
    fields: tuple[FieldChange, ...] = ()
    reason: str = ""  # why comparability breaks, if it does

    @property
    def breaking(self) -> bool:
        return self.change == "removed" or bool(self.reason)


@dataclass
class Diff:
    old: str
    new: str
    changes: list[Change] = field(default_factory=list)

    def breaking_kpis(self) -> set[str]:
        """KPIs whose values in `new` are not comparable with those in `old`."""
        return {c.code for c in self.changes if c.kind == "kpi" and c.breaking}

    def rows(self) -> list[dict[str, object]]:
        return [{"kind": c.kind, "code": c.code, "change": c.change,
                 "fields": ", ".join(f.field for f in c.fields),
                 "breaks_comparability": c.breaking, "reason": c.reason}
                for c in self.changes]


def _canonical(formula: str) -> str:
    try:
        return str(parse(formula))
    except FormulaError:
        return formula.strip()


def _dump(item: object) -> dict:
    data = item.model_dump(mode="json")  # type: ignore[attr-defined]
    if "formula" in data:
        data["formula"] = _canonical(data["formula"])
        data["variants"] = {k: _canonical(v) for k, v in data["variants"].items()}
    return data


def diff(old: Framework, new: Framework) -> Diff:
    result = Diff(old.id, new.id)
    item_breaks: dict[str, str] = {}
    for kind, section in (("data_item", "data_items"), ("dimension", "dimensions"),
                          ("outcome", "outcomes"), ("kpi", "kpis")):
        before = {i.code: _dump(i) for i in getattr(old, section)}
        after = {i.code: _dump(i) for i in getattr(new, section)}
        for code in sorted(after.keys() - before.keys()):
            result.changes.append(Change(kind, code, "added"))
        for code in sorted(before.keys() - after.keys()):
            result.changes.append(Change(kind, code, "removed",
                                         reason="removed: no value in the new version"))
        for code in sorted(before.keys() & after.keys()):
            a, b = before[code], after[code]
            breaking_fields = {"kpi": KPI_BREAKING, "data_item": ITEM_BREAKING}.get(kind, ())
            fields = tuple(FieldChange(f, a.get(f), b.get(f), f in breaking_fields)
                           for f in sorted(a.keys() | b.keys()) if a.get(f) != b.get(f))
            reasons = [f"{f.field} changed" for f in fields if f.breaking]
            if kind == "kpi":
                reasons += [f"data item {item} {item_breaks[item]}"
                            for item in sorted(set(b.get("data_items", [])) & item_breaks.keys())]
            if kind == "data_item" and reasons:
                item_breaks[code] = " and ".join(reasons)
            if fields or reasons:
                result.changes.append(Change(kind, code, "changed", fields, "; ".join(reasons)))
    return result
