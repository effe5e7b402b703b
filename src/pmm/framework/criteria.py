"""The WGPM's "scope and criteria for KPIs", as code.

`check` returns every defect of a framework at once: errors (the framework cannot be used) and
quality warnings (it can, but a reviewer should look). Each finding names the file and line of
the item, the item, and what is expected.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pmm.framework.formula import FormulaError, parse
from pmm.framework.loader import Location, load_with_locations, locate
from pmm.framework.model import KPI, BandsRule, Framework, Text

Severity = Literal["error", "warning"]
SECTIONS = ("working_bodies", "tools", "sdg_goals", "sdg_targets", "breakdowns", "dimensions",
            "outcomes", "data_items", "kpis")
SINGULAR = {"working_bodies": "working body", "tools": "tool", "sdg_goals": "SDG goal",
            "sdg_targets": "SDG target", "breakdowns": "breakdown", "dimensions": "dimension",
            "outcomes": "outcome", "data_items": "data item", "kpis": "KPI"}


@dataclass(frozen=True)
class Finding:
    severity: Severity
    location: Location | None
    subject: str  # e.g. "KPI TF.1.1"
    message: str  # what is wrong and what is expected

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.severity}: {self.subject}: {self.message}"


def validate(ref: str | Path) -> tuple[Framework, list[Finding]]:
    """Load a framework (id or path) and check it; loading errors raise `FrameworkError`."""
    framework, locations = load_with_locations(ref)
    return framework, check(framework, locations)


def check(framework: Framework, locations: dict | None = None) -> list[Finding]:
    """Every finding about `framework`; `locations` (from the loader) adds file and line."""
    return list(_Checker(framework, locations or {}).run())


def _key(item: object) -> str:
    return str(getattr(item, "code", None) or getattr(item, "key", None)
               or getattr(item, "number", ""))


class _Checker:
    def __init__(self, fw: Framework, locations: dict) -> None:
        self.fw = fw
        self.locations = locations
        self.codes = {s: {_key(i) for i in getattr(fw, s)} for s in SECTIONS}

    def finding(self, severity: Severity, section: str, index: int, field: str | None,
                message: str) -> Finding:
        """A finding about item `index` of `section`, located at `field` when it has one."""
        item = getattr(self.fw, section)[index]
        where = locate(self.locations, section, index, *([field] if field else []))
        return Finding(severity, where, f"{SINGULAR[section]} {_key(item)}", message)

    def error(self, section: str, index: int, field: str | None, message: str) -> Finding:
        return self.finding("error", section, index, field, message)

    def warning(self, section: str, index: int, field: str | None, message: str) -> Finding:
        return self.finding("warning", section, index, field, message)

    def run(self) -> Iterator[Finding]:
        yield from self.unique_codes()
        yield from self.languages()
        yield from self.structure()
        yield from self.links()
        yield from self.data_items()
        for i, kpi in enumerate(self.fw.kpis):
            yield from self.kpi(i, kpi)
        yield from self.aggregation()

    def unique_codes(self) -> Iterator[Finding]:
        for section in SECTIONS:
            seen = Counter(_key(i) for i in getattr(self.fw, section))
            reported = set()
            for i, item in enumerate(getattr(self.fw, section)):
                code = _key(item)
                if seen[code] > 1 and code not in reported:
                    reported.add(code)
                    yield self.error(section, i, None, f"code is used {seen[code]} times; "
                                     "expected a unique code")

    def languages(self) -> Iterator[Finding]:
        info = self.fw.framework
        for lang in ("en", "fr"):
            if not getattr(info.title, lang).strip():
                yield Finding("error", locate(self.locations, "framework", "title"),
                              f"framework {info.id}", f"title has no '{lang}' text")
        for section in SECTIONS:
            for i, item in enumerate(getattr(self.fw, section)):
                for field in ("name", "definition"):
                    value = getattr(item, field, None)
                    if not isinstance(value, Text):
                        continue
                    for lang in ("en", "fr"):
                        if not getattr(value, lang).strip():
                            yield self.error(section, i, field,
                                             f"{field} has no '{lang}' text; expected both "
                                             "English and French")

    def structure(self) -> Iterator[Finding]:
        fw = self.fw
        for i, outcome in enumerate(fw.outcomes):
            if outcome.dimension not in self.codes["dimensions"]:
                yield self.error("outcomes", i, "dimension",
                                 f"dimension '{outcome.dimension}' does not exist; expected one "
                                 f"of: {', '.join(sorted(self.codes['dimensions']))}")
            if not fw.kpis_of_outcome(outcome.code):
                yield self.error("outcomes", i, None, "has no KPI; every expected outcome "
                                 "needs at least one KPI")
        for i, dim in enumerate(fw.dimensions):
            if not fw.outcomes_of_dimension(dim.code):
                yield self.error("dimensions", i, None, "has no expected outcome; every "
                                 "dimension needs at least one")
        for i, kpi in enumerate(fw.kpis):
            if kpi.outcome not in self.codes["outcomes"]:
                yield self.error("kpis", i, "outcome",
                                 f"outcome '{kpi.outcome}' does not exist")
        for section in ("dimensions", "outcomes", "kpis"):
            for i, item in enumerate(getattr(fw, section)):
                prov = item.provenance
                if prov.status == "confirmed" and not (prov.source or "").strip():
                    yield self.error(section, i, "provenance",
                                     "status 'confirmed' needs the source URL that confirms it")
                if prov.status == "reconstructed" and not (prov.rationale or "").strip():
                    yield self.warning(section, i, "provenance",
                                       "reconstructed without a rationale; expected one line "
                                       "naming the instrument, TFA article or practice")

    def links(self) -> Iterator[Finding]:
        fw = self.fw
        for i, tool in enumerate(fw.tools):
            if tool.working_body not in self.codes["working_bodies"]:
                yield self.error("tools", i, "working_body",
                                 f"working body '{tool.working_body}' does not exist")
        goals = {g.number for g in fw.sdg_goals}
        for i, target in enumerate(fw.sdg_targets):
            if goals and target.goal not in goals:
                yield self.error("sdg_targets", i, "code",
                                 f"SDG goal {target.goal} is not in sdg_goals")
        for section in ("outcomes", "kpis"):
            for i, item in enumerate(getattr(fw, section)):
                for target in item.sdg_targets:
                    if target not in self.codes["sdg_targets"]:
                        yield self.error(section, i, "sdg_targets",
                                         f"SDG target '{target}' is not in sdg_targets")
                for tool in item.tools:
                    if tool not in self.codes["tools"]:
                        yield self.error(section, i, "tools", f"tool '{tool}' does not exist")
        for i, kpi in enumerate(fw.kpis):
            if not kpi.sdg_targets:
                yield self.error("kpis", i, "sdg_targets",
                                 "is linked to no SDG target; expected at least one")
            if not kpi.tools:
                yield self.error("kpis", i, "tools",
                                 "is linked to no WCO tool; expected at least one")
        used_targets = {t for s in ("outcomes", "kpis") for x in getattr(fw, s)
                        for t in x.sdg_targets}
        for i, target in enumerate(fw.sdg_targets):
            if target.code not in used_targets:
                yield self.warning("sdg_targets", i, None, "is not linked to any outcome or KPI")

    def data_items(self) -> Iterator[Finding]:
        fw = self.fw
        items = {d.code: d for d in fw.data_items}
        used = {ref.item for k in fw.kpis for f in self._formulas(k)
                for ref in self._refs(f)}
        for i, item in enumerate(fw.data_items):
            for key in item.breakdowns:
                if key not in self.codes["breakdowns"]:
                    yield self.error("data_items", i, "breakdowns",
                                     f"breakdown '{key}' is not declared in breakdowns")
            for key, values in item.breakdown_values.items():
                if key not in item.breakdowns:
                    yield self.error("data_items", i, "breakdown_values",
                                     f"restricts '{key}', which is not one of its breakdowns")
                elif key in self.codes["breakdowns"]:
                    unknown = [v for v in values if v not in fw.breakdown(key).values]
                    if unknown:
                        yield self.error("data_items", i, "breakdown_values",
                                         f"{', '.join(unknown)}: not values of '{key}' "
                                         f"(expected some of: "
                                         f"{', '.join(fw.breakdown(key).values)})")
            if item.part_of is not None:
                whole = items.get(item.part_of)
                if whole is None:
                    yield self.error("data_items", i, "part_of",
                                     f"whole '{item.part_of}' is not a data item")
                elif whole.type != item.type:
                    yield self.error("data_items", i, "part_of",
                                     f"type '{item.type}' differs from its whole "
                                     f"'{whole.code}' ({whole.type}); a part must be of the "
                                     "same type")
                elif not set(item.breakdowns) <= set(whole.breakdowns):
                    yield self.error("data_items", i, "part_of",
                                     f"is broken down by a key its whole '{whole.code}' lacks")
                elif self._part_cycle(item.code, items):
                    yield self.error("data_items", i, "part_of", "part_of forms a cycle")
            if item.code not in used:
                yield self.warning("data_items", i, None, "is used by no KPI formula")
            if item.source is None and not item.measurable:
                yield self.warning("data_items", i, "source",
                                   "has no data source; expected where the administration "
                                   "finds the figure")

    @staticmethod
    def _part_cycle(code: str, items: dict) -> bool:
        seen = {code}
        current = items[code].part_of
        while current is not None and current in items:
            if current in seen:
                return True
            seen.add(current)
            current = items[current].part_of
        return False

    @staticmethod
    def _formulas(kpi: KPI) -> list[str]:
        return [kpi.formula, *kpi.variants.values()]

    @staticmethod
    def _refs(text: str) -> list:
        try:
            return parse(text).references()
        except FormulaError:
            return []

    def kpi(self, i: int, kpi: KPI) -> Iterator[Finding]:
        items = {d.code: d for d in self.fw.data_items}
        breakdowns = {b.key: b for b in self.fw.breakdowns}
        referenced: set[str] = set()
        years: set[int] = set()
        for name, text in [("formula", kpi.formula), *kpi.variants.items()]:
            field = "formula" if name == "formula" else "variants"
            label = "formula" if name == "formula" else f"variant '{name}'"
            try:
                expr = parse(text)
            except FormulaError as exc:
                yield self.error("kpis", i, field, f"{label}: {exc}")
                continue
            years |= expr.years()
            for ref in expr.references():
                referenced.add(ref.item)
                item = items.get(ref.item)
                if item is None:
                    yield self.error("kpis", i, field,
                                     f"{label} uses '{ref.item}', which is not a data item")
                    continue
                for key, value in ref.breakdown:
                    if key not in item.breakdowns:
                        yield self.error("kpis", i, field,
                                         f"{label}: '{ref}' uses breakdown '{key}', but data "
                                         f"item '{item.code}' has "
                                         f"{', '.join(item.breakdowns) or 'no breakdown'}")
                    elif value != "*" and key in breakdowns and \
                            value not in self.fw.breakdown_values(item.code, key):
                        allowed = self.fw.breakdown_values(item.code, key)
                        yield self.error("kpis", i, field,
                                         f"{label}: '{ref}': '{value}' is not a value of "
                                         f"'{key}' for {item.code} (expected one of: "
                                         f"{', '.join(allowed)})")
            for key in kpi.breakdowns:
                lacking = [r.item for r in expr.references()
                           if r.item in items and key not in items[r.item].breakdowns]
                if lacking:
                    yield self.error("kpis", i, "breakdowns",
                                     f"KPI is broken down by '{key}', but "
                                     f"{', '.join(sorted(set(lacking)))} "
                                     f"{'has' if len(set(lacking)) == 1 else 'have'} no such "
                                     "breakdown")
        for key in kpi.breakdowns:
            if key not in breakdowns:
                yield self.error("kpis", i, "breakdowns",
                                 f"breakdown '{key}' is not declared in breakdowns")
        if referenced:
            listed = set(kpi.data_items)
            missing, extra = sorted(referenced - listed), sorted(listed - referenced)
            if missing:
                yield self.error("kpis", i, "data_items",
                                 f"formula uses {', '.join(missing)}, not listed in data_items")
            if extra:
                yield self.error("kpis", i, "data_items",
                                 f"lists {', '.join(extra)}, not used by the formula")
            expected = "T,T-1" if -1 in years else "T"
            if any(y not in (0, -1) for y in years):
                yield self.error("kpis", i, "formula",
                                 "uses a year other than T and T-1; the PMM reports T and T-1")
            elif kpi.years != expected:
                used = ", ".join("T" if y == 0 else f"T{y}" for y in sorted(years, reverse=True))
                yield self.error("kpis", i, "years",
                                 f"year rule is '{kpi.years}' but the formula uses {used}; "
                                 f"expected '{expected}'")
        yield from self.scoring(i, kpi)
        if kpi.data_source is None:
            yield self.warning("kpis", i, "data_source", "has no data source; expected where "
                               "the administration finds the figures")

    def scoring(self, i: int, kpi: KPI) -> Iterator[Finding]:
        rule = kpi.scoring
        if isinstance(rule, BandsRule):
            levels = [b.level for b in rule.bands]
            if len(set(levels)) != len(levels) or levels != sorted(levels):
                yield self.error("kpis", i, "scoring",
                                 f"bands {levels}: expected distinct levels in order A, B, C")
            thresholds = [b.threshold for b in rule.bands]
            ordered = sorted(thresholds, reverse=kpi.direction == "higher")
            if thresholds != ordered or len(set(thresholds)) != len(thresholds):
                better = "decrease" if kpi.direction == "higher" else "increase"
                yield self.error("kpis", i, "scoring",
                                 f"band thresholds {thresholds} must strictly {better} from A "
                                 f"to C for direction '{kpi.direction}'")
        if kpi.unit == "percent" and kpi.target is not None and not 0 <= kpi.target <= 100 \
                and "[T-1]" not in kpi.formula:
            yield self.warning("kpis", i, "target", f"target {kpi.target} is outside 0–100 "
                               "for a percentage")

    def aggregation(self) -> Iterator[Finding]:
        levels = self.codes["kpis"] | self.codes["outcomes"] | self.codes["dimensions"]
        where = locate(self.locations, "aggregation", "weight_sets")
        for name, weights in self.fw.aggregation.weight_sets.items():
            for code, weight in weights.items():
                if code not in levels:
                    yield Finding("error", where, f"weight set {name}",
                                  f"'{code}' is not a KPI, outcome or dimension")
                elif weight < 0:
                    yield Finding("error", where, f"weight set {name}",
                                  f"weight of '{code}' is {weight}; expected ≥ 0")
