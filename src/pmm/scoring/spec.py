"""The composite-indicator specification (`SPEC.yaml`), validated with Pydantic.

A spec names the data and metadata files (CSV, relative to `data_dir`, itself relative to the
spec file) and the pipeline steps with their parameters: denominate, screen, impute, treat,
normalise, aggregate. They run in the order listed, as COINr's own functions can be called in
any order; any step may be left out, and only the orders that cannot work are refused, with the
reason (a step twice, a step after aggregate, denominate after normalise). An optional
`uncertainty` section lists the uncertain assumptions for the Monte Carlo analysis. See
docs/methodology-scoring.md.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from pmm.errors import PmmError
from pmm.i18n import _

DATA_DIR_ENV = "PMM_COMPOSITE_DATA_DIR"
STEP_ORDER = ("denominate", "screen", "impute", "treat", "normalise", "aggregate")
STAGE_OF_STEP = {"denominate": "denominated", "screen": "screened", "impute": "imputed",
                 "treat": "treated", "normalise": "normalised", "aggregate": "aggregated"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DataSpec(_Model):
    """The unit × indicator table (one row per unit, or per unit and year for panel data)."""

    file: str
    unit: str = "unit"
    year: str | None = None
    groups: list[str] = Field(default_factory=list)
    denominators: str | None = None


class IndicatorColumns(_Model):
    """Which metadata columns hold what (the defaults are COINr's names)."""

    code: str = "code"
    name: str | None = None
    direction: str = "direction"
    weight: str | None = "weight"
    denominator: str | None = "denominator"
    target: str | None = "target"
    lower: str | None = "lower"
    upper: str | None = "upper"
    parent: str | None = "parent"
    parents: list[str] | None = None


class AggregateColumns(_Model):
    code: str = "code"
    name: str | None = None
    level: str = "level"
    weight: str | None = "weight"
    parent: str | None = "parent"


class MetadataSpec(_Model):
    #: the indicator metadata, or COINr's `iMeta` (indicators, aggregates, groups and
    #: denominators in one table, told apart by its `Type` column)
    indicators: str
    aggregates: str | None = None
    #: "coinr": `indicators` is COINr's iMeta; "columns": the column maps below; default:
    #: COINr's layout when the file has the columns iCode and Type and no aggregates file is given
    layout: Literal["columns", "coinr"] | None = None
    columns: IndicatorColumns = Field(default_factory=IndicatorColumns)
    aggregate_columns: AggregateColumns = Field(default_factory=AggregateColumns)


class DenominateStep(_Model):
    #: indicator → denominator column; defaults to the metadata's denominator column
    by: dict[str, str] | None = None


class ScreenStep(_Model):
    #: keep a unit (a unit-year for panel data) when at least this share of indicators is present
    min_availability: float = Field(2 / 3, gt=0, le=1)
    #: count zeros as missing for availability (COINr's "byNAandzeros")
    zeros_as_missing: bool = False


ImputeMethod = Literal["none", "mean", "median", "group_mean", "group_median",
                       "panel_carry_forward", "panel_linear"]


class ImputeStep(_Model):
    method: ImputeMethod | list[ImputeMethod] = "mean"
    group: str | None = None
    #: panel carry-forward: how many years a value may be carried (None: no limit)
    max_years: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _group_needed(self) -> ImputeStep:
        methods = self.method if isinstance(self.method, list) else [self.method]
        if any(m.startswith("group_") for m in methods) and not self.group:
            raise ValueError("group imputation needs 'group', the grouping column")
        return self


class TreatStep(_Model):
    enabled: bool = True
    #: maximum number of points to winsorise per indicator; "auto" = 10% of units, rounded up
    #: (COINr's legacy default)
    winmax: int | Literal["auto"] = 5
    skew: float = Field(2.0, gt=0)
    kurtosis: float = 3.5
    #: the end to winsorise follows the sign of the current skewness (else fixed by the first)
    winchange: bool = True
    fallback: Literal["log_ct", "log_ct_orig", "log", "boxcox", "none"] = "log_ct"
    boxcox_lambda: float | None = None
    #: apply the fallback to the winsorised values instead of the original ones
    combine: bool = False
    exclude: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _lambda(self) -> TreatStep:
        if self.fallback == "boxcox" and self.boxcox_lambda is None:
            raise ValueError("fallback 'boxcox' needs 'boxcox_lambda'")
        if isinstance(self.winmax, int) and self.winmax < 0:
            raise ValueError("winmax must be 0 or more")
        return self


NormaliseMethod = Literal["minmax", "zscore", "rank", "percentile_rank", "borda", "goalposts",
                          "distance_to_target", "distance_to_reference", "distance_to_maximum",
                          "fraction_of_max", "scaled", "none"]


class NormaliseParams(_Model):
    method: NormaliseMethod = "minmax"
    #: min-max target range, or (low, high) of `scaled`
    range: tuple[float, float] = (0.0, 100.0)
    mean: float = 0.0
    sd: float = Field(1.0, gt=0)
    #: multiplier of goalposts (default 100), distances, fraction of max and percentile rank
    #: (default 1)
    scale: float | None = None
    #: cap distance-to-target/reference scores at the maximum (goalposts: clip to the posts)
    cap: bool | None = None
    #: unit code of the reference for distance_to_reference
    reference: str | None = None

    @model_validator(mode="after")
    def _checks(self) -> NormaliseParams:
        if self.method == "distance_to_reference" and not self.reference:
            raise ValueError("distance_to_reference needs 'reference', a unit code")
        if self.method in ("minmax", "scaled") and self.range[0] == self.range[1]:
            raise ValueError("range must have two different bounds")
        return self


class NormaliseStep(NormaliseParams):
    #: panel data: normalise over all years at once (comparable over time) instead of per year
    across_years: bool = False
    individual: dict[str, NormaliseParams] = Field(default_factory=dict)


AggregateMethod = Literal["arithmetic", "geometric", "harmonic", "generalised", "copeland",
                          "outranking_sum"]


class LevelAggregation(_Model):
    method: AggregateMethod = "arithmetic"
    p: float | None = None
    #: compute an aggregate only when at least this share of its children is present
    coverage: float | None = Field(None, ge=0, le=1)
    #: add a constant before a geometric/harmonic mean; "auto" shifts the level's values so
    #: that their minimum is 1 when it is 0 or less
    shift: float | Literal["auto"] | None = None

    @model_validator(mode="after")
    def _p(self) -> LevelAggregation:
        if self.method == "generalised" and self.p is None:
            raise ValueError("method 'generalised' needs 'p', the order of the mean")
        return self


class AggregateStep(LevelAggregation):
    #: "metadata", "equal", "pca" or the name of a weight set
    weights: str = "metadata"
    #: per-level overrides, keyed by the level of the aggregates (2 = first aggregation)
    levels: dict[int, LevelAggregation] = Field(default_factory=dict)

    def for_level(self, level: int) -> LevelAggregation:
        base = LevelAggregation(method=self.method, p=self.p, coverage=self.coverage,
                                shift=self.shift)
        return self.levels.get(level, base)


class StepEntry(_Model):
    denominate: DenominateStep | None = None
    screen: ScreenStep | None = None
    impute: ImputeStep | None = None
    treat: TreatStep | None = None
    normalise: NormaliseStep | None = None
    aggregate: AggregateStep | None = None

    @model_validator(mode="before")
    @classmethod
    def _null_means_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: ({} if v is None else v) for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> StepEntry:
        given = [k for k in STEP_ORDER if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"each step names exactly one of {', '.join(STEP_ORDER)}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in STEP_ORDER if getattr(self, k) is not None)

    @property
    def params(self) -> _Model:
        return getattr(self, self.kind)  # type: ignore[no-any-return]


class FactorSpec(_Model):
    """One uncertain assumption of the Monte Carlo analysis."""

    name: str
    #: a step whose parameters vary: each alternative overrides the nominal step's parameters,
    #: "off" leaves the step out (impute and treat only)
    step: Literal["impute", "treat", "normalise", "aggregate"] | None = None
    alternatives: list[dict[str, Any] | Literal["off"]] | None = None
    #: weight noise by level of the weighted node: ±share of each nominal weight, uniform
    weight_noise: dict[int, float] | None = None
    #: drop one indicator at random ("all": any indicator), or keep all
    exclude: Literal["all"] | list[str] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> FactorSpec:
        kinds = [self.step is not None or self.alternatives is not None,
                 self.weight_noise is not None, self.exclude is not None]
        if sum(kinds) != 1:
            raise ValueError("a factor is either 'step' with 'alternatives', or "
                             "'weight_noise', or 'exclude'")
        if (self.step is None) != (self.alternatives is None):
            raise ValueError("'step' and 'alternatives' go together")
        if self.alternatives is not None and len(self.alternatives) < 1:
            raise ValueError("'alternatives' needs at least one entry")
        if self.alternatives and "off" in self.alternatives and self.step in ("normalise",
                                                                               "aggregate"):
            raise ValueError(f"the {self.step} step cannot be turned off")
        if self.weight_noise is not None:
            for level, share in self.weight_noise.items():
                if level < 1 or not 0 <= share < 1:
                    raise ValueError("weight_noise maps a level (1 = indicators) to a share "
                                     "between 0 and 1")
        return self


class UncertaintySpec(_Model):
    #: the aggregate whose ranks are analysed (default: the top aggregate)
    target: str | None = None
    #: panel data: the year analysed (default: the last)
    year: int | None = None
    runs: int = Field(1000, ge=1)
    factors: list[FactorSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> UncertaintySpec:
        names = [f.name for f in self.factors]
        if len(set(names)) != len(names):
            raise ValueError("factor names must be unique")
        return self


class Spec(_Model):
    version: Literal[1] = 1
    name: str = ""
    data_dir: str | None = None
    data: DataSpec
    metadata: MetadataSpec
    weight_sets: dict[str, Annotated[str | dict[str, float], Field()]] = Field(default_factory=dict)
    steps: list[StepEntry] = Field(min_length=1)
    seed: int = 0
    uncertainty: UncertaintySpec | None = None

    @field_validator("steps")
    @classmethod
    def _order(cls, steps: list[StepEntry]) -> list[StepEntry]:
        # Steps run in the order listed (COINr's users reorder them freely: its own ASEM
        # example imputes, then screens). Only the combinations that cannot work are refused.
        kinds = [s.kind for s in steps]
        repeated = sorted({k for k in kinds if kinds.count(k) > 1})
        if repeated:
            raise ValueError(f"the {repeated[0]} step appears twice; each step may appear only "
                             f"once, because its result is the data set named after it "
                             f"('{STAGE_OF_STEP[repeated[0]]}')")
        if "aggregate" in kinds and kinds[-1] != "aggregate":
            raise ValueError(f"the {kinds[kinds.index('aggregate') + 1]} step comes after "
                             "aggregate; aggregate must be the last step, because it adds the "
                             "aggregates while every other step works on the indicators")
        if "denominate" in kinds and "normalise" in kinds \
                and kinds.index("denominate") > kinds.index("normalise"):
            raise ValueError("denominate comes after normalise; it must come before, because "
                             "it divides quantities by a size (population, GDP) and normalised "
                             "scores are no longer quantities")
        return steps

    @field_validator("weight_sets")
    @classmethod
    def _reserved(cls, weight_sets: dict[str, Any]) -> dict[str, Any]:
        reserved = {"metadata", "equal", "pca"} & set(weight_sets)
        if reserved:
            raise ValueError(f"weight set names {sorted(reserved)} are reserved")
        for name, weights in weight_sets.items():
            for code, w in (weights.items() if isinstance(weights, dict) else ()):
                if not w >= 0:  # also NaN
                    raise ValueError(f"the weight of {code!r} in weight set {name!r} is {w}; "
                                     "expected a number of 0 or more")
        return weight_sets

    def step(self, kind: str) -> Any:
        for s in self.steps:
            if s.kind == kind:
                return s.params
        return None


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec with the paths it is resolved against."""

    spec: Spec
    source: Path | None
    data_dir: Path
    #: input file → sha256, when loaded from a run record (checked before re-running)
    expected_inputs: dict[str, str] | None = None

    def path(self, name: str) -> Path:
        p = Path(name)
        return p if p.is_absolute() else (self.data_dir / p)


def _errors(source: str, exc: ValidationError) -> PmmError:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
        value = err.get("input")
        shown = "" if isinstance(value, dict | list) else _(" (got {value!r})").format(value=value)
        lines.append(_("{file}: field {field}: {message}{shown}").format(
            file=source, field=loc or "(top)", message=err["msg"], shown=shown))
    return PmmError(*lines)


def parse_spec(data: Any, source: str = "<spec>") -> Spec:
    """Validate a spec given as a mapping."""
    if not isinstance(data, dict):
        raise PmmError(_("{file}: a spec must be a mapping of fields").format(file=source))
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        raise _errors(source, exc) from None


def load_spec(path: str | Path, data_dir: str | Path | None = None) -> LoadedSpec:
    """Read SPEC.yaml (or a run record, run.json) and resolve its data folder.

    The data folder is, first found: `data_dir`, the environment variable
    PMM_COMPOSITE_DATA_DIR, the spec's `data_dir` (relative to the spec file), the spec's folder.
    """
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except FileNotFoundError:
        raise PmmError(_("{file}: file not found").format(file=p)) from None
    except UnicodeDecodeError:
        raise PmmError(_("{file}: not UTF-8 text").format(file=p)) from None
    expected = None
    if p.suffix == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PmmError(_("{file}:{line}: not valid JSON: {error}").format(
                file=p, line=exc.lineno, error=exc.msg)) from None
        if not isinstance(doc, dict) or "spec" not in doc or "inputs" not in doc:
            raise PmmError(_("{file}: not a run record (expected 'spec' and 'inputs')").format(
                file=p))
        spec = parse_spec(doc["spec"], str(p))
        expected = dict(doc["inputs"])
        base = Path(doc.get("data_dir") or p.parent)
    else:
        try:
            data = YAML(typ="safe", pure=True).load(text)
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else "?"
            raise PmmError(_("{file}:{line}: not valid YAML: {error}").format(
                file=p, line=line, error=getattr(exc, "problem", exc))) from None
        spec = parse_spec(data, str(p))
        base = p.parent / spec.data_dir if spec.data_dir else p.parent
    override = data_dir or os.environ.get(DATA_DIR_ENV)
    if override:
        base = Path(override)
    return LoadedSpec(spec=spec, source=p, data_dir=base.resolve(), expected_inputs=expected)
