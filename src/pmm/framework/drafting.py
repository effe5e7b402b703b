"""Framework versions in the making, as pure functions over the model (no database here).

- `check_proposed_kpi`: a KPI proposed through a form, built from the form's fields and checked by
  the KPI criteria (`criteria.check`) on the framework with the KPI added; every finding is
  returned next to the form field it is about.
- `check_upload`: an uploaded YAML text read and checked with file:line findings.
- `derive`, `with_kpi`, `endorsed`, `to_yaml`: a new version from another, a KPI added, a version
  adopted, a version as the YAML that `load_text` reads back.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import ValidationError
from ruamel.yaml import YAML

from pmm.framework.criteria import Finding, check
from pmm.framework.formula import FormulaError, parse
from pmm.framework.loader import FrameworkError, load_text
from pmm.framework.model import KPI, DataType, Direction, Disclosure, Framework, FrameworkInfo, Unit
from pmm.i18n import _

UNITS: tuple[str, ...] = get_args(Unit)
DIRECTIONS: tuple[str, ...] = get_args(Direction)
DISCLOSURES: tuple[str, ...] = get_args(Disclosure)
DATA_TYPES: tuple[str, ...] = get_args(DataType)
SCORING_METHODS = ("goalposts", "distance_to_target", "bands", "percentile_rank", "zscore")
BAND_LEVELS = ("A", "B", "C")
# The fields of the proposal form; each is a text (the lists: several texts).
TEXT_FIELDS = ("tool", "outcome", "code", "name_en", "name_fr", "definition_en", "definition_fr",
               "formula", "unit", "direction", "disclosure", "scoring_method", "scoring_low",
               "scoring_high", "scoring_target", "scoring_reference", "band_A", "band_B",
               "band_C", "target", "data_source_en", "data_source_fr")
LIST_FIELDS = ("breakdowns", "sdg_targets")
MAX_LENGTH = {"code": 64, "name_en": 300, "name_fr": 300, "definition_en": 2000,
              "definition_fr": 2000, "formula": 2000, "data_source_en": 500,
              "data_source_fr": 500}
DEFAULT_MAX = 64
# The model's field (first part of a pydantic location or a finding's field) → the form's field
MODEL_TO_FORM = {"code": "code", "outcome": "outcome", "formula": "formula",
                 "variants": "formula", "data_items": "formula", "years": "formula",
                 "unit": "unit", "direction": "direction", "breakdowns": "breakdowns",
                 "sdg_targets": "sdg_targets", "tools": "tool", "scoring": "scoring_method",
                 "target": "target", "disclosure": "disclosure", "data_source": "data_source_en",
                 "provenance": "rationale", "name": "name_en", "definition": "definition_en",
                 "weight": ""}


@dataclass
class KpiCheck:
    """A proposed KPI and what the criteria say about it, by form field ("" = the whole)."""

    kpi: KPI | None
    errors: dict[str, list[str]] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.kpi is not None and not self.errors

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def warn(self, name: str, message: str) -> None:
        self.warnings.setdefault(name, []).append(message)

    def lines(self, kind: str = "errors") -> list[str]:
        """Every message as one line naming its field."""
        found = self.errors if kind == "errors" else self.warnings
        return [f"{name}: {m}" if name else m for name, messages in found.items()
                for m in messages]


def _text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name, "")
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return "" if value is None else str(value).strip()


def _list(fields: Mapping[str, Any], name: str) -> list[str]:
    value = fields.get(name) or []
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").split(",")]
    return [str(v).strip() for v in value if str(v).strip()]


def _number(result: KpiCheck, fields: Mapping[str, Any], name: str,
            required: bool) -> float | None:
    text = _text(fields, name).replace(",", ".")
    if not text:
        if required:
            result.error(name, _("a number is needed for this scoring method"))
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        result.error(name, _("{value!r} is not a number").format(value=text))
        return None
    return value


def _choice(result: KpiCheck, name: str, value: str, allowed: list[str] | tuple[str, ...]) -> str:
    if value not in allowed:
        result.error(name, _("{value!r}: expected one of {allowed}").format(
            value=value, allowed=", ".join(allowed)))
    return value


def check_proposed_kpi(fw: Framework, fields: Mapping[str, Any], rationale: str) -> KpiCheck:
    """The KPI described by the proposal form's `fields`, checked against `fw` with it added.

    Data items and the year rule follow from the formula. Errors refuse the KPI; warnings
    (the criteria's quality warnings) are for the author to read."""
    result = KpiCheck(None)
    for name in TEXT_FIELDS:
        limit = MAX_LENGTH.get(name, DEFAULT_MAX)
        if len(_text(fields, name)) > limit:
            result.error(name, _("at most {n} characters").format(n=limit))
    if result.errors:
        return result
    # Each field is checked; a bad choice is replaced by a valid one for the criteria's run, so
    # that one form shows every problem at once, each next to its field.
    tool = _choice(result, "tool", _text(fields, "tool"), [t.code for t in fw.tools])
    outcome = _choice(result, "outcome", _text(fields, "outcome"), [o.code for o in fw.outcomes])
    unit = _choice(result, "unit", _text(fields, "unit"), UNITS)
    direction = _choice(result, "direction", _text(fields, "direction"), DIRECTIONS)
    disclosure = _choice(result, "disclosure", _text(fields, "disclosure"), DISCLOSURES)
    keys = [b.key for b in fw.breakdowns]
    breakdowns = [k for k in _list(fields, "breakdowns") if _choice(result, "breakdowns", k, keys)
                  in keys]
    targets = [t.code for t in fw.sdg_targets]
    sdg = [c for c in _list(fields, "sdg_targets")
           if _choice(result, "sdg_targets", c, targets) in targets]
    code = _text(fields, "code")
    if code in {k.code for k in fw.kpis}:
        result.error("code", _("KPI {code} exists already in framework {fw}; expected a new "
                               "code").format(code=code, fw=fw.id))
    formula = _text(fields, "formula")
    # the criteria report a formula that does not parse; a placeholder item keeps the model whole
    items = [fw.data_items[0].code] if fw.data_items else ["x"]
    years = "T"
    with suppress(FormulaError):
        expr = parse(formula)
        items = sorted({ref.item for ref in expr.references()}) or items
        years = "T,T-1" if -1 in expr.years() else "T"
    scoring = _scoring(result, fields)
    if any(name.startswith(("scoring", "band_")) for name in result.errors):
        scoring = {"method": "percentile_rank"}
    target = _number(result, fields, "target", required=False)
    for name in ("name_en", "name_fr", "definition_en", "definition_fr"):
        if not _text(fields, name):
            result.error(name, _("expected a text in English and in French"))
    source = {lang: _text(fields, f"data_source_{lang}") for lang in ("en", "fr")}
    raw = {
        "code": code, "outcome": _valid(outcome, [o.code for o in fw.outcomes]),
        "name": {"en": _text(fields, "name_en"), "fr": _text(fields, "name_fr")},
        "definition": {"en": _text(fields, "definition_en"),
                       "fr": _text(fields, "definition_fr")},
        "formula": formula, "unit": _valid(unit, UNITS),
        "direction": _valid(direction, DIRECTIONS), "years": years, "breakdowns": breakdowns,
        "data_items": items, "sdg_targets": sdg,
        "tools": [_valid(tool, [t.code for t in fw.tools])], "scoring": scoring,
        "target": target, "disclosure": _valid(disclosure, DISCLOSURES),
        "provenance": {"status": "reconstructed", "rationale": rationale.strip()},
        "data_source": source if any(source.values()) else None,
    }
    try:
        kpi = KPI.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            loc = [str(p) for p in error["loc"]]
            name = MODEL_TO_FORM.get(loc[0], "") if loc else ""
            if loc[:1] in (["name"], ["definition"], ["data_source"]) and len(loc) > 1:
                name = f"{loc[0]}_{loc[1]}"
            if name not in result.errors:
                result.error(name, error["msg"])
        return result
    result.kpi = kpi
    _criteria(result, fw, kpi)
    return result


def _valid(value: str, allowed: list[str] | tuple[str, ...]) -> str | None:
    """`value` if allowed, else the first allowed one (the error is already recorded)."""
    return value if value in allowed else (allowed[0] if allowed else None)


def kpi_findings(fw: Framework, kpi: KPI) -> KpiCheck:
    """What the criteria say about `kpi` added to `fw` (as when it was proposed)."""
    result = KpiCheck(kpi)
    _criteria(result, fw, kpi)
    return result


def _scoring(result: KpiCheck, fields: Mapping[str, Any]) -> dict[str, Any]:
    method = _choice(result, "scoring_method", _text(fields, "scoring_method"), SCORING_METHODS)
    if method == "goalposts":
        low = _number(result, fields, "scoring_low", required=True)
        high = _number(result, fields, "scoring_high", required=True)
        if low is not None and high is not None and low >= high:
            result.error("scoring_high", _("the high goalpost {high} must be above the low "
                                           "one {low}").format(high=high, low=low))
        return {"method": method, "low": low, "high": high}
    if method == "distance_to_target":
        return {"method": method,
                "target": _number(result, fields, "scoring_target", required=True),
                "reference": _number(result, fields, "scoring_reference", required=False)}
    if method == "bands":
        bands = []
        for level in BAND_LEVELS:
            value = _number(result, fields, f"band_{level}", required=level == "A")
            if value is not None:
                bands.append({"level": level, "threshold": value})
        return {"method": method, "bands": bands}
    return {"method": method}


def _criteria(result: KpiCheck, fw: Framework, kpi: KPI) -> None:
    """The criteria's findings on `fw` with `kpi` added that are about the KPI or new."""
    before = {str(f) for f in check(fw)}
    index = len(fw.kpis)
    existing = {k.code: i for i, k in enumerate(fw.kpis)}
    for finding in check(with_kpi(fw, kpi)):
        if finding.item == ("kpis", index):
            name = MODEL_TO_FORM.get(finding.field or "", "")
            if finding.field in ("name", "definition") or (
                    name in result.errors and finding.field in ("tools", "sdg_targets")):
                continue  # the form's own check names the language, or the choice, already
        elif str(finding) in before or finding.item == ("kpis", existing.get(kpi.code)):
            continue  # not new, or the code's clash, which the form names at the code
        else:
            name = ""
        message = finding.message if finding.item == ("kpis", index) else str(finding)
        (result.error if finding.severity == "error" else result.warn)(name, message)


def with_kpi(fw: Framework, kpi: KPI) -> Framework:
    return fw.model_copy(update={"kpis": [*fw.kpis, kpi]})


def derive(fw: Framework, new_id: str, today: dt.date) -> Framework:
    """A draft of a new version: `fw`'s content under `new_id`, with `fw` as its parent."""
    info = fw.framework.model_dump()
    info.update(id=new_id, status="draft", parent=fw.id, date=today)
    return fw.model_copy(update={"framework": FrameworkInfo.model_validate(info)})


def endorsed(fw: Framework, today: dt.date) -> Framework:
    """The version as adopted: status endorsed, dated the day of adoption."""
    info = fw.framework.model_dump()
    info.update(status="endorsed", date=today)
    return fw.model_copy(update={"framework": FrameworkInfo.model_validate(info)})


def to_yaml(fw: Framework) -> str:
    """The version as one YAML text in the shipped catalogues' layout (read back by
    `load_text`)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[attr-defined]
    out = io.StringIO()
    yaml.dump(fw.model_dump(mode="json"), out)
    return out.getvalue()


@dataclass
class UploadCheck:
    """An uploaded framework: the version if it could be read, and every problem found, with
    its file and line (reading problems as text, criteria findings as `Finding`)."""

    framework: Framework | None
    problems: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def ok(self) -> bool:
        return self.framework is not None and not self.problems and not self.errors


def check_upload(name: str, data: bytes) -> UploadCheck:
    """Read an uploaded YAML framework and check it; nothing is raised for bad content."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return UploadCheck(None, [_("{file}: not UTF-8 text (byte {at}); expected a YAML file "
                                    "saved as UTF-8").format(file=name, at=exc.start + 1)])
    try:
        fw, locations = load_text(name, text)
    except FrameworkError as exc:
        return UploadCheck(None, exc.lines)
    return UploadCheck(fw, [], check(fw, locations))
