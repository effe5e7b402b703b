"""The framework model: one version of the PMM as validated data.

Everything downstream (forms, templates, validation, scoring, open data) is generated from these
classes, so they carry every field a KPI needs and nothing that is computed.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Code = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.\-]*$", max_length=64)]


class Strict(BaseModel):
    """Base: unknown keys are errors, so a typo in a catalogue never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A text in the WCO's two working languages."""

    en: str = ""
    fr: str = ""

    def get(self, lang: str = "en") -> str:
        return (self.fr if lang == "fr" else self.en) or self.en


class Provenance(Strict):
    """Where an item comes from: a public WCO source, or a documented reconstruction."""

    status: Literal["confirmed", "reconstructed"]
    source: str | None = None
    rationale: str | None = None


class FrameworkInfo(Strict):
    id: Code
    title: Text
    status: Literal["draft", "endorsed", "retired"]
    date: dt.date
    parent: Code | None = None
    description: Text = Text()


class WorkingBody(Strict):
    code: Code
    name: Text


class Tool(Strict):
    """A WCO instrument or tool whose application drives one or more outcomes."""

    code: Code
    name: Text
    kind: Literal["convention", "standard", "guide", "programme", "declaration", "other"]
    working_body: Code
    url: str | None = None
    provenance: Provenance | None = None  # of its working body and outcome links


class SDGGoal(Strict):
    number: int = Field(ge=1, le=17)
    name: Text


class SDGTarget(Strict):
    code: Annotated[str, Field(pattern=r"^\d{1,2}\.[0-9a-z]+$")]
    name: Text

    @property
    def goal(self) -> int:
        return int(self.code.split(".")[0])


class Breakdown(Strict):
    """A key by which a data item is broken down (e.g. flow: IM, EX, TR)."""

    key: Code
    name: Text
    values: list[str] = Field(min_length=1)


DataType = Literal["count", "currency", "percentage", "hours", "days", "yes_no", "number"]
# Plausibility ceilings of the types without a natural maximum (catalog/README.md): a value above
# is a typing or unit error, never a real figure (a trillion declarations, a quintillion in any
# currency, a million hours; days are also person-days of training, hence a billion). An
# explicit `max` of a data item overrides them.
CEILINGS: dict[str, float] = {"count": 1e12, "currency": 1e18, "hours": 1e6, "days": 1e9,
                              "number": 1e15}


class DataItem(Strict):
    """A raw figure a member reports for a year (and, optionally, per breakdown value)."""

    code: Code
    name: Text
    definition: Text
    type: DataType
    min: float | None = None
    max: float | None = None
    breakdowns: list[Code] = []
    # values used per breakdown key when not all of them apply (trade value: flow IM and EX only)
    breakdown_values: dict[Code, list[str]] = {}
    part_of: Code | None = None  # a part never exceeds its whole, e.g. electronic ≤ all
    measurable: bool = False  # derivable by `pmm measure items` from microdata
    source: Text | None = None  # where an administration usually finds the figure

    @model_validator(mode="after")
    def _bounds(self) -> DataItem:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    def bounds(self) -> tuple[float | None, float | None]:
        """Effective bounds: explicit ones, else those implied by the type."""
        lo, hi = self.min, self.max
        if self.type in ("count", "currency", "hours", "days") and lo is None:
            lo = 0.0
        if self.type == "percentage":
            lo = 0.0 if lo is None else lo
            hi = 100.0 if hi is None else hi
        if self.type == "yes_no":
            lo, hi = 0.0, 1.0
        return lo, hi

    def plausible_bounds(self) -> tuple[float | None, float | None]:
        """What a reported value may be: `bounds()`, with the type's ceiling (`CEILINGS`) where
        no maximum is given (and -ceiling for a plain number without a minimum)."""
        lo, hi = self.bounds()
        ceiling = CEILINGS.get(self.type)
        if ceiling is not None:
            hi = ceiling if hi is None else hi
            lo = -ceiling if lo is None else lo
        return lo, hi


class Band(Strict):
    """One ordinal level: reached when the value is at least (or at most) `threshold`."""

    level: Literal["A", "B", "C"]
    threshold: float


class GoalpostsRule(Strict):
    method: Literal["goalposts"]
    low: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> GoalpostsRule:
        if self.low >= self.high:
            raise ValueError(f"goalposts low {self.low} must be below high {self.high}")
        return self


class BandsRule(Strict):
    """PEFA-style A–D: the best level whose threshold is met; D otherwise, D* when unknown."""

    method: Literal["bands"]
    bands: list[Band] = Field(min_length=1)


class TargetRule(Strict):
    method: Literal["distance_to_target"]
    target: float
    reference: float | None = None  # the value that scores 0; default: worst observed


class RelativeRule(Strict):
    method: Literal["percentile_rank", "zscore"]


ScoringRule = Annotated[
    GoalpostsRule | BandsRule | TargetRule | RelativeRule, Field(discriminator="method")
]

Direction = Literal["higher", "lower"]
YearRule = Literal["T", "T,T-1"]
Disclosure = Literal["public", "wco", "restricted"]
DISCLOSURE_LEVELS: tuple[Disclosure, ...] = ("public", "wco", "restricted")

Unit = Literal["percent", "percentage_points", "count", "hours", "days", "ratio", "currency",
               "score", "yes_no"]


class KPI(Strict):
    code: Code
    outcome: Code
    name: Text
    definition: Text
    formula: str
    variants: dict[Code, str] = {}  # alternative bases, e.g. {"value": "..."} beside the headline
    unit: Unit
    direction: Direction
    years: YearRule
    breakdowns: list[Code] = []  # keys the KPI is also computed by (every item it uses has them)
    data_items: list[Code] = Field(min_length=1)
    sdg_targets: list[str] = []
    tools: list[Code] = []
    scoring: ScoringRule
    target: float | None = None
    weight: float = Field(default=1.0, gt=0)
    disclosure: Disclosure
    provenance: Provenance
    data_source: Text | None = None


class Outcome(Strict):
    code: Code
    dimension: Code
    name: Text
    definition: Text
    sdg_targets: list[str] = []
    tools: list[Code] = []
    weight: float = Field(default=1.0, gt=0)
    provenance: Provenance


class Dimension(Strict):
    code: Code
    name: Text
    definition: Text
    weight: float = Field(default=1.0, gt=0)
    provenance: Provenance


AggregationMethod = Literal["arithmetic", "geometric", "harmonic", "generalised", "pefa_m1",
                            "pefa_m2", "copeland"]


class LevelAggregation(Strict):
    """How one level's score is formed from its children's."""

    method: AggregationMethod
    power: float | None = None  # for the generalised mean
    min_coverage: float = Field(default=0.5, ge=0, le=1)  # share of children needed


class Aggregation(Strict):
    """Aggregation per level; a level absent here is never computed."""

    outcome: LevelAggregation | None = None
    dimension: LevelAggregation | None = None
    overall: LevelAggregation | None = None
    weight_sets: dict[Code, dict[Code, float]] = {}
    label: Text = Text(
        en="Computed by customs-pmm with the documented method; not an official WCO rating.",
        fr="Calculé par customs-pmm selon la méthode documentée ; pas une notation officielle "
        "de l'OMD.",
    )


class Framework(Strict):
    """One version of the mechanism. Cross-references are checked by `criteria.check`."""

    framework: FrameworkInfo
    working_bodies: list[WorkingBody] = []
    tools: list[Tool] = []
    sdg_goals: list[SDGGoal] = []
    sdg_targets: list[SDGTarget] = []
    breakdowns: list[Breakdown] = []
    dimensions: list[Dimension] = []
    outcomes: list[Outcome] = []
    data_items: list[DataItem] = []
    kpis: list[KPI] = []
    aggregation: Aggregation = Aggregation()

    @property
    def id(self) -> str:
        return self.framework.id

    def kpi(self, code: str) -> KPI:
        return _index(self.kpis)[code]

    def data_item(self, code: str) -> DataItem:
        return _index(self.data_items)[code]

    def outcome(self, code: str) -> Outcome:
        return _index(self.outcomes)[code]

    def dimension(self, code: str) -> Dimension:
        return _index(self.dimensions)[code]

    def breakdown(self, key: str) -> Breakdown:
        return _index(self.breakdowns, "key")[key]

    def breakdown_values(self, item: str, key: str) -> list[str]:
        """The values of breakdown `key` that data item `item` is reported by."""
        restricted = self.data_item(item).breakdown_values.get(key)
        return list(restricted) if restricted else list(self.breakdown(key).values)

    def kpis_of_outcome(self, outcome: str) -> list[KPI]:
        return [k for k in self.kpis if k.outcome == outcome]

    def outcomes_of_dimension(self, dimension: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.dimension == dimension]

    def dimension_of_kpi(self, kpi: KPI) -> Dimension:
        return self.dimension(self.outcome(kpi.outcome).dimension)


def _index(items: list, attr: str = "code") -> dict:
    return {getattr(i, attr): i for i in items}
