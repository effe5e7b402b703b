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
from pmm.i18n import N_, _, label, ngettext

Severity = Literal["error", "warning"]
SECTIONS = ("working_bodies", "tools", "sdg_goals", "sdg_targets", "breakdowns", "dimensions",
            "outcomes", "data_items", "kpis")
SINGULAR = {"working_bodies": N_("working body"), "tools": N_("tool"), "sdg_goals": N_("SDG goal"),
            "sdg_targets": N_("SDG target"), "breakdowns": N_("breakdown"),
            "dimensions": N_("dimension"), "outcomes": N_("outcome"), "data_items": N_("data item"),
            "kpis": N_("KPI")}


@dataclass(frozen=True)
class Finding:
    severity: Severity
    location: Location | None
    subject: str  # e.g. "KPI TF.1.1"
    message: str  # what is wrong and what is expected
    # the item and field it is about (section, index in it, field), for forms that show a
    # finding next to its field; None for findings about the framework as a whole
    item: tuple[str, int] | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{label(self.severity)}: {self.subject}: {self.message}"


M2_MAX_CHILDREN = 4  # the largest number of dimensions in PEFA's M2 conversion table


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
        return Finding(severity, where, f"{_(SINGULAR[section])} {_key(item)}", message,
                       (section, index), field)

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
                    yield self.error(section, i, None, _("code is used {n} times; "
                                                                "expected a unique code")
                                     .format(n=seen[code]))

    def languages(self) -> Iterator[Finding]:
        info = self.fw.framework
        for lang in ("en", "fr"):
            if not getattr(info.title, lang).strip():
                yield Finding("error", locate(self.locations, "framework", "title"),
                              _("framework {id}").format(id=info.id),
                              _("title has no '{lang}' text").format(lang=lang))
        for section in SECTIONS:
            for i, item in enumerate(getattr(self.fw, section)):
                for field in ("name", "definition"):
                    value = getattr(item, field, None)
                    if not isinstance(value, Text):
                        continue
                    for lang in ("en", "fr"):
                        if not getattr(value, lang).strip():
                            yield self.error(section, i, field,
                                             _("{field} has no '{lang}' text; expected "
                                               "both English and French").format(
                                                 field=field, lang=lang))

    def structure(self) -> Iterator[Finding]:
        fw = self.fw
        for i, outcome in enumerate(fw.outcomes):
            if outcome.dimension not in self.codes["dimensions"]:
                yield self.error("outcomes", i, "dimension",
                                 _("dimension '{code}' does not exist; expected one of: "
                                   "{codes}").format(
                                     code=outcome.dimension,
                                     codes=", ".join(sorted(self.codes["dimensions"]))))
            if not fw.kpis_of_outcome(outcome.code):
                yield self.error("outcomes", i, None, _("has no KPI; every expected "
                                                               "outcome needs at least one KPI"))
        for i, dim in enumerate(fw.dimensions):
            if not fw.outcomes_of_dimension(dim.code):
                yield self.error("dimensions", i, None, _("has no expected outcome; "
                                                                 "every dimension needs at least "
                                                                 "one"))
        for i, kpi in enumerate(fw.kpis):
            if kpi.outcome not in self.codes["outcomes"]:
                yield self.error("kpis", i, "outcome",
                                 _("outcome '{code}' does not exist").format(code=kpi.outcome))
        for section in ("dimensions", "outcomes", "kpis"):
            for i, item in enumerate(getattr(fw, section)):
                prov = item.provenance
                if prov.status == "confirmed" and not (prov.source or "").strip():
                    yield self.error(section, i, "provenance",
                                     _("status 'confirmed' needs the source URL that confirms "
                                       "it"))
                if prov.status == "reconstructed" and not (prov.rationale or "").strip():
                    yield self.warning(section, i, "provenance",
                                       _("reconstructed without a rationale; expected one line "
                                         "naming the instrument, TFA article or practice"))

    def links(self) -> Iterator[Finding]:
        fw = self.fw
        for i, tool in enumerate(fw.tools):
            if tool.working_body not in self.codes["working_bodies"]:
                yield self.error("tools", i, "working_body",
                                 _("working body '{code}' does not exist").format(
                                     code=tool.working_body))
        goals = {g.number for g in fw.sdg_goals}
        for i, target in enumerate(fw.sdg_targets):
            if goals and target.goal not in goals:
                yield self.error("sdg_targets", i, "code",
                                 _("SDG goal {goal} is not in sdg_goals").format(
                                     goal=target.goal))
        for section in ("outcomes", "kpis"):
            for i, item in enumerate(getattr(fw, section)):
                for target in item.sdg_targets:
                    if target not in self.codes["sdg_targets"]:
                        yield self.error(section, i, "sdg_targets",
                                         _("SDG target '{code}' is not in sdg_targets")
                                         .format(code=target))
                for tool in item.tools:
                    if tool not in self.codes["tools"]:
                        yield self.error(section, i, "tools",
                                         _("tool '{code}' does not exist").format(code=tool))
        for i, kpi in enumerate(fw.kpis):
            if not kpi.sdg_targets:
                yield self.error("kpis", i, "sdg_targets",
                                 _("is linked to no SDG target; expected at least one"))
            if not kpi.tools:
                yield self.error("kpis", i, "tools",
                                 _("is linked to no WCO tool; expected at least one"))
        used_targets = {t for s in ("outcomes", "kpis") for x in getattr(fw, s)
                        for t in x.sdg_targets}
        for i, target in enumerate(fw.sdg_targets):
            if target.code not in used_targets:
                yield self.warning("sdg_targets", i, None,
                                   _("is not linked to any outcome or KPI"))

    def data_items(self) -> Iterator[Finding]:
        fw = self.fw
        items = {d.code: d for d in fw.data_items}
        used = {ref.item for k in fw.kpis for f in self._formulas(k)
                for ref in self._refs(f)}
        for i, item in enumerate(fw.data_items):
            for key in item.breakdowns:
                if key not in self.codes["breakdowns"]:
                    yield self.error("data_items", i, "breakdowns",
                                     _("breakdown '{key}' is not declared in breakdowns")
                                     .format(key=key))
            for key, values in item.breakdown_values.items():
                if key not in item.breakdowns:
                    yield self.error("data_items", i, "breakdown_values",
                                     _("restricts '{key}', which is not one of its breakdowns")
                                     .format(key=key))
                elif key in self.codes["breakdowns"]:
                    unknown = [v for v in values if v not in fw.breakdown(key).values]
                    if unknown:
                        yield self.error("data_items", i, "breakdown_values",
                                         _("{values}: not values of '{key}' (expected some "
                                           "of: {allowed})").format(
                                             values=", ".join(unknown), key=key,
                                             allowed=", ".join(fw.breakdown(key).values)))
            if item.part_of is not None:
                whole = items.get(item.part_of)
                if whole is None:
                    yield self.error("data_items", i, "part_of",
                                     _("whole '{code}' is not a data item").format(
                                         code=item.part_of))
                elif whole.type != item.type:
                    yield self.error("data_items", i, "part_of",
                                     _("type '{type}' differs from its whole '{whole}' "
                                       "({whole_type}); a part must be of the same type").format(
                                         type=item.type, whole=whole.code, whole_type=whole.type))
                elif not set(item.breakdowns) <= set(whole.breakdowns):
                    yield self.error("data_items", i, "part_of",
                                     _("is broken down by a key its whole '{whole}' lacks")
                                     .format(whole=whole.code))
                elif self._part_cycle(item.code, items):
                    yield self.error("data_items", i, "part_of", _("part_of forms a cycle"))
            if item.code not in used:
                yield self.warning("data_items", i, None, _("is used by no KPI formula"))
            if item.source is None and not item.measurable:
                yield self.warning("data_items", i, "source",
                                   _("has no data source; expected where the administration "
                                     "finds the figure"))

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
            what = _("formula") if name == "formula" else _("variant '{name}'").format(name=name)
            try:
                expr = parse(text)
            except FormulaError as exc:
                yield self.error("kpis", i, field, f"{what}: {exc}")
                continue
            years |= expr.years()
            for ref in expr.references():
                referenced.add(ref.item)
                item = items.get(ref.item)
                if item is None:
                    yield self.error("kpis", i, field,
                                     _("{what} uses '{item}', which is not a data item")
                                     .format(what=what, item=ref.item))
                    continue
                for key, value in ref.breakdown:
                    if key not in item.breakdowns:
                        yield self.error("kpis", i, field,
                                         _("{what}: '{ref}' uses breakdown '{key}', but data "
                                           "item '{item}' has {breakdowns}").format(
                                             what=what, ref=ref, key=key, item=item.code,
                                             breakdowns=", ".join(item.breakdowns)
                                             or _("no breakdown")))
                    elif value != "*" and key in breakdowns and \
                            value not in self.fw.breakdown_values(item.code, key):
                        allowed = self.fw.breakdown_values(item.code, key)
                        yield self.error("kpis", i, field,
                                         _("{what}: '{ref}': '{value}' is not a value of "
                                           "'{key}' for {item} (expected one of: {allowed})")
                                         .format(what=what, ref=ref, value=value, key=key,
                                                 item=item.code, allowed=", ".join(allowed)))
            for key in kpi.breakdowns:
                lacking = [r.item for r in expr.references()
                           if r.item in items and key not in items[r.item].breakdowns]
                if lacking:
                    yield self.error("kpis", i, "breakdowns",
                                     ngettext("KPI is broken down by '{key}', but {items} has "
                                              "no such breakdown", "KPI is broken down by "
                                              "'{key}', but {items} have no such breakdown",
                                              len(set(lacking))).format(
                                         key=key, items=", ".join(sorted(set(lacking)))))
        for key in kpi.breakdowns:
            if key not in breakdowns:
                yield self.error("kpis", i, "breakdowns",
                                 _("breakdown '{key}' is not declared in breakdowns")
                                 .format(key=key))
        if referenced:
            listed = set(kpi.data_items)
            missing, extra = sorted(referenced - listed), sorted(listed - referenced)
            if missing:
                yield self.error("kpis", i, "data_items",
                                 _("formula uses {items}, not listed in data_items").format(
                                     items=", ".join(missing)))
            if extra:
                yield self.error("kpis", i, "data_items",
                                 _("lists {items}, not used by the formula").format(
                                     items=", ".join(extra)))
            expected = "T,T-1" if -1 in years else "T"
            if any(y not in (0, -1) for y in years):
                yield self.error("kpis", i, "formula",
                                 _("uses a year other than T and T-1; the PMM reports T and "
                                   "T-1"))
            elif kpi.years != expected:
                used = ", ".join("T" if y == 0 else f"T{y}" for y in sorted(years, reverse=True))
                yield self.error("kpis", i, "years",
                                 _("year rule is '{rule}' but the formula uses {used}; "
                                   "expected '{expected}'").format(rule=kpi.years, used=used,
                                                                  expected=expected))
        yield from self.scoring(i, kpi)
        if kpi.data_source is None:
            yield self.warning("kpis", i, "data_source", _("has no data source; expected "
                                                            "where the administration finds "
                                                            "the figures"))

    def scoring(self, i: int, kpi: KPI) -> Iterator[Finding]:
        rule = kpi.scoring
        if isinstance(rule, BandsRule):
            levels = [b.level for b in rule.bands]
            if len(set(levels)) != len(levels) or levels != sorted(levels):
                yield self.error("kpis", i, "scoring",
                                 _("bands {levels}: expected distinct levels in order A, B, "
                                   "C").format(levels=levels))
            thresholds = [b.threshold for b in rule.bands]
            ordered = sorted(thresholds, reverse=kpi.direction == "higher")
            if thresholds != ordered or len(set(thresholds)) != len(thresholds):
                message = _("band thresholds {thresholds} must strictly decrease from A to C "
                            "for direction '{direction}'") if kpi.direction == "higher" else \
                    _("band thresholds {thresholds} must strictly increase from A to C for "
                      "direction '{direction}'")
                yield self.error("kpis", i, "scoring", message.format(
                    thresholds=thresholds, direction=kpi.direction))
        if kpi.unit == "percent" and kpi.target is not None and not 0 <= kpi.target <= 100 \
                and "[T-1]" not in kpi.formula:
            yield self.warning("kpis", i, "target", _("target {target} is outside 0–100 for a "
                                                      "percentage").format(target=kpi.target))

    def aggregation(self) -> Iterator[Finding]:
        yield from self.pefa_m2_sizes()
        levels = self.codes["kpis"] | self.codes["outcomes"] | self.codes["dimensions"]
        where = locate(self.locations, "aggregation", "weight_sets")
        for name, weights in self.fw.aggregation.weight_sets.items():
            for code, weight in weights.items():
                if code not in levels:
                    yield Finding("error", where, _("weight set {name}").format(name=name),
                                  _("'{code}' is not a KPI, outcome or dimension").format(
                                      code=code))
                elif weight < 0:
                    yield Finding("error", where, _("weight set {name}").format(name=name),
                                  _("weight of '{code}' is {weight}; expected ≥ 0").format(
                                      code=code, weight=weight))

    def pefa_m2_sizes(self) -> Iterator[Finding]:
        """PEFA's M2 conversion table covers 2, 3 and 4 dimensions: a node aggregated by M2
        with more children cannot be scored, so it is refused here rather than at scoring."""
        fw = self.fw
        children = {
            "outcome": [(o.code, len(fw.kpis_of_outcome(o.code))) for o in fw.outcomes],
            "dimension": [(d.code, len(fw.outcomes_of_dimension(d.code)))
                          for d in fw.dimensions],
            "overall": [(_("the overall score"), len(fw.dimensions))],
        }
        for level, nodes in children.items():
            rule = getattr(fw.aggregation, level)
            if rule is None or rule.method != "pefa_m2":
                continue
            where = locate(self.locations, "aggregation", level, "method")
            for code, n in nodes:
                if n > M2_MAX_CHILDREN:
                    yield Finding("error", where, _("aggregation {level}").format(level=level), _(
                        "{code} has {n} children, but PEFA's M2 conversion table covers 2 to "
                        "{max} dimensions; use pefa_m1 or another method at this level, or "
                        "split the node").format(code=code, n=n, max=M2_MAX_CHILDREN))
