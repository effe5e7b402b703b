"""Time Release Study (WCO TRS; TFA Article 7.6) from verified microdata.

Scope: import declarations whose release falls in year T (UTC). Per declaration, the interval in
hours from one milestone to another; a negative interval (release before arrival: pre-arrival
processing) counts as 0 hours and is also counted in `prearrival`; a declaration lacking either
milestone is left out and counted in `missing`. Quantiles are exact (linear interpolation between
order statistics). A statistic over no declaration is `not_available`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import ibis.expr.types as ir

from pmm.conventions import neutralise
from pmm.errors import PmmError
from pmm.i18n import _
from pmm.measure import queries as Q
from pmm.measure.microdata import Microdata

# Keys a study can be broken down by: declaration columns and derived flags.
BY_KEYS = ("transport_mode", "lane", "office_code", "aeo", "prearrival", "electronic",
           "ecommerce", "month")
BOOLEAN_KEYS = ("aeo", "prearrival", "electronic", "ecommerce")
SEGMENTS: tuple[tuple[str, str], ...] = (
    ("arrival", "lodgement"), ("lodgement", "registration"), ("registration", "release"),
    ("release", "exit"), ("inspection_start", "inspection_end"),
)
STAT_COLUMNS = ("n", "missing", "prearrival", "mean_h", "median_h", "p75_h", "p90_h", "p95_h")
# Output column of a key whose name is also a statistic's (`prearrival` counts negative
# intervals; the key says whether lodgement preceded arrival).
KEY_COLUMN = {"prearrival": "prearrival_lodgement"}
NOT_AVAILABLE = "not_available"


@dataclass(frozen=True)
class Study:
    year: int
    start: str = "arrival"
    end: str = "release"
    by: tuple[str, ...] = ()
    within: tuple[float, ...] = (24.0, 48.0)

    def __post_init__(self) -> None:
        for name, value in (("--from", self.start), ("--to", self.end)):
            if value not in Q.TIMED:
                raise PmmError(_("{option}: {value!r} is not a timed milestone; expected one of "
                                 "{allowed}").format(option=name, value=value,
                                                     allowed=", ".join(Q.TIMED)))
        for key in self.by:
            if key not in BY_KEYS:
                raise PmmError(_("--by: {key!r} is not a breakdown key; expected some of "
                                 "{allowed}").format(key=key, allowed=", ".join(BY_KEYS)))
        if len(set(self.by)) != len(self.by):
            raise PmmError(_("--by: a key is repeated ({keys})").format(keys=",".join(self.by)))
        for x in self.within:
            if not (x > 0 and math.isfinite(x)):
                raise PmmError(_("--within: {value} is not a positive number of hours").format(
                    value=x))

    def within_names(self) -> list[str]:
        return [f"within_{_num(x)}h" for x in self.within]

    def key_columns(self) -> list[str]:
        return [KEY_COLUMN.get(k, k) for k in self.by]

    def columns(self) -> list[str]:
        return [*self.key_columns(), *STAT_COLUMNS, *self.within_names()]


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def scope(facts: ir.Table, year: int, by: Sequence[str]) -> ir.Table:
    """Import declarations released in `year`, with the derived breakdown keys."""
    f = facts.filter(facts.in_declarations & (facts.flow == "IM")
                     & Q.in_year(facts.release, year))
    derived = {
        "prearrival": f.lodgement < f.arrival,
        "month": Q.month_of(f.release, year),
    }
    return f.mutate(**{k: v for k, v in derived.items() if k in by})


def _stats_expr(f: ir.Table, study: Study) -> ir.Table:
    h = Q.hours(f, study.start, study.end)
    stats = Q.interval_stats(h, list(study.within))
    return f.group_by(list(study.by)).aggregate(total=f.count(), **stats) if study.by else \
        f.aggregate(total=f.count(), **stats)


def _rows(records: list[dict], study: Study, prefix: str = "") -> list[dict]:
    out = []
    for r in records:
        n = int(r[prefix + "n"])
        row: dict[str, object] = {KEY_COLUMN.get(k, k): r[k] for k in study.by}
        row.update(n=n, missing=int(r["total"]) - n, prearrival=int(r[prefix + "negative"] or 0))
        q = r[prefix + "quantiles"]
        if n:
            row["mean_h"] = _h(r[prefix + "mean_h"])
            row.update({name: _h(v) for name, v in
                        zip(("median_h", "p75_h", "p90_h", "p95_h"), q, strict=True)})
            for i, name in enumerate(study.within_names()):
                row[name] = round(int(r[f"{prefix}within_{i}"]) / n, 6)
        else:
            for name in ("mean_h", "median_h", "p75_h", "p90_h", "p95_h", *study.within_names()):
                row[name] = None
        out.append(row)
    return sorted(out, key=lambda row: tuple(_sort_key(row[k]) for k in study.key_columns()))


def _sort_key(v: object) -> tuple:
    return (v is None, str(type(v)), v if v is not None else 0)


def _h(value: object) -> float | None:
    return None if value is None else round(float(value), 6)


def run(md: Microdata, study: Study) -> list[dict]:
    """One row per breakdown group that occurs, in key order."""
    md.step(_("computing release times"))
    f = scope(md.facts, study.year, study.by)
    records = md.execute(_stats_expr(f, study)).to_pylist()
    _require_releases(md, study.year, records)
    return _rows(records, study)


def _require_releases(md: Microdata, year: int, records: list[dict]) -> None:
    """Refuse a year in which the extract releases no import declaration, naming the dates it
    covers (a study of nothing is not a study with n = 0)."""
    if sum(int(r["total"] or 0) for r in records):
        return
    f = md.facts.filter(md.facts.in_declarations)
    im = f.flow == "IM"
    span = md.execute(f.aggregate(
        first_lodged=f.lodgement.min(), last_lodged=f.lodgement.max(),
        first_released=f.release.min(where=im), last_released=f.release.max(where=im))
    ).to_pylist()[0]
    if span["first_released"] is None:
        raise PmmError(_("{folder}: no import declaration was released in {year} (UTC); the "
                         "extract has no released import declaration at all (declarations "
                         "lodged from {first} to {last})").format(
            folder=md.folder, year=year, first=Q.utc_day(span["first_lodged"]),
            last=Q.utc_day(span["last_lodged"])))
    raise PmmError(_("{folder}: no import declaration was released in {year} (UTC); the "
                     "extract's import declarations were released from {first_r} to {last_r} "
                     "(declarations lodged from {first} to {last})").format(
        folder=md.folder, year=year, first_r=Q.utc_day(span["first_released"]),
        last_r=Q.utc_day(span["last_released"]), first=Q.utc_day(span["first_lodged"]),
        last=Q.utc_day(span["last_lodged"])))


def segments(md: Microdata, study: Study) -> list[dict]:
    """Per segment of the release process, the same statistics and a bottleneck rank.

    Rank 1 is the segment with the largest median in its group (ties: larger p90).
    """
    md.step(_("computing segment times"))
    f = scope(md.facts, study.year, study.by)
    aggs: dict[str, ir.Value] = {"total": f.count()}
    for i, (a, b) in enumerate(SEGMENTS):
        for name, expr in Q.interval_stats(Q.hours(f, a, b), list(study.within)).items():
            aggs[f"s{i}_{name}"] = expr
    expr = f.group_by(list(study.by)).aggregate(**aggs) if study.by else f.aggregate(**aggs)
    records = md.execute(expr).to_pylist()
    _require_releases(md, study.year, records)
    keys = study.key_columns()
    out: list[dict] = []
    for i, (a, b) in enumerate(SEGMENTS):
        for row in _rows(records, study, prefix=f"s{i}_"):
            out.append({**{k: row[k] for k in keys}, "segment": f"{a}->{b}",
                        **{k: v for k, v in row.items() if k not in keys}})
    groups: dict[tuple, list[dict]] = {}
    for row in out:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    for rows in groups.values():
        ranked = sorted(rows, key=lambda r: (r["median_h"] is None, -(r["median_h"] or 0),
                                             -(r["p90_h"] or 0)))
        for rank, row in enumerate(ranked, 1):
            row["rank"] = rank if row["median_h"] is not None else None
    return sorted(out, key=lambda r: (tuple(_sort_key(r[k]) for k in keys),
                                      r["rank"] is None, r["rank"] or 0))


def segment_columns(study: Study) -> list[str]:
    return [*study.key_columns(), "segment", "rank", *STAT_COLUMNS, *study.within_names()]


def _cell(value: object) -> str:
    if value is None:
        return NOT_AVAILABLE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # a key such as an office code comes from the extract
        return str(neutralise(value))
    return str(value)


def to_csv(rows: list[dict], columns: list[str], keys: Sequence[str] = ()) -> str:
    """CSV text; an unknown key value is empty, a statistic over nothing `not_available`; text
    that a spreadsheet would run as a formula is neutralised (`pmm.conventions`)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow(["" if c in keys and row.get(c) is None else _cell(row.get(c))
                    for c in columns])
    return buf.getvalue()


def to_json(rows: list[dict], columns: list[str], keys: Sequence[str] = ()) -> str:
    """JSON records; a statistic over no declaration is the string "not_available"."""
    return json.dumps([{c: (NOT_AVAILABLE if row.get(c) is None and c not in (*keys, "rank")
                            else row.get(c)) for c in columns} for row in rows], indent=1)
