"""The framework's data items measured from verified microdata, as submission CSV rows.

Definitions are those of DESIGN.md ("Data items measured from microdata"): counts and sums over
declarations use the year of lodgement, release times the year of release, controls their
completion year, seizures their date; every year is taken in UTC. Year T is always measured, and
T-1 when the extract holds declarations lodged in T-1. Counts are given for every category, 0
included; a statistic over no declaration is `not_available`, never 0.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pmm.conventions import SUBMISSION_COLUMNS, Dialect, format_breakdown, neutralise
from pmm.errors import PmmError
from pmm.i18n import _
from pmm.measure import queries as Q
from pmm.measure.contract import FLOWS, SEIZURE_CATEGORIES
from pmm.measure.microdata import Microdata

FLOW_ITEMS = ("declarations", "declarations_electronic", "ecommerce_shipments")
TRADE_ITEMS = ("trade_value", "trade_value_aeo")
RELEASE_ITEMS = {"release_time_mean_h": "mean_h", "release_time_median_h": "median_h",
                 "release_time_p90_h": "p90_h"}
CONTROL_ITEMS = ("physical_controls", "physical_controls_with_findings", "pca_audits",
                 "pca_audits_with_findings", "pca_additional_revenue")
# Every data item code this module produces (checked against the framework in the tests).
ITEM_CODES = (*FLOW_ITEMS, *TRADE_ITEMS, *RELEASE_ITEMS, "prearrival_lodgements",
              *CONTROL_ITEMS, "seizures", "revenue_assessed", "aeo_count")


@dataclass(frozen=True)
class ItemRow:
    data_item: str
    year: int
    breakdown: str
    value: str
    status: str  # reported | not_available
    note: str = ""

    def as_submission(self) -> dict[str, str]:
        return {"kpi": "", "data_item": self.data_item, "year": str(self.year),
                "breakdown": self.breakdown, "value": self.value, "status": self.status,
                "disclosure": "", "note": self.note}



def _dec(value: object) -> str:
    d = Decimal(0) if value is None else Decimal(str(value))
    text = format(d.normalize(), "f") if d != 0 else "0"
    return text


def _reported(code: str, year: int, bd: str, value: str, note: str = "") -> ItemRow:
    return ItemRow(code, year, bd, value, "reported", note)


def _na(code: str, year: int, bd: str, note: str) -> ItemRow:
    return ItemRow(code, year, bd, "", "not_available", note)


def measure(md: Microdata, year: int) -> list[ItemRow]:
    """Every data item the microdata give, for `year` and (where covered) `year - 1`."""
    f = md.facts
    md.step(_("counting declarations"))
    lodged = md.execute(Q.lodged_by_year_flow(f, [year - 1, year])).to_pylist()
    covered = sorted({r["year"] for r in lodged})
    if year not in covered:
        d = f.filter(f.in_declarations)
        span = md.execute(d.aggregate(first=d.lodgement.min(), last=d.lodgement.max())
                          ).to_pylist()[0]
        raise PmmError(_("{folder}: no declaration was lodged in {year} (UTC); the extract's "
                         "declarations were lodged from {first} to {last}").format(
            folder=md.folder, year=year, first=Q.utc_day(span["first"]),
            last=Q.utc_day(span["last"])))
    years = [y for y in (year - 1, year) if y in covered]
    rows: list[ItemRow] = []
    by = {(r["year"], r["flow"]): r for r in lodged}
    has_aeo = md.has("aeo")
    for y in years:
        for code in FLOW_ITEMS:
            total = sum(int(by[(y, fl)][code]) for fl in FLOWS if (y, fl) in by)
            rows.append(_reported(code, y, "", str(total)))
            for fl in FLOWS:
                rows.append(_reported(code, y, format_breakdown(flow=fl),
                                      str(int(by[(y, fl)][code])) if (y, fl) in by else "0"))
        for code in TRADE_ITEMS:
            if code == "trade_value_aeo" and not has_aeo:
                note = _("no AEO register (aeo table) in the extract")
                rows.append(_na(code, y, "", note))
                rows.extend(_na(code, y, format_breakdown(flow=fl), note) for fl in ("IM", "EX"))
                continue
            parts = {fl: by[(y, fl)][code] if (y, fl) in by else None for fl in ("IM", "EX")}
            total = sum((Decimal(str(v)) for v in parts.values() if v is not None), Decimal(0))
            rows.append(_reported(code, y, "", _dec(total)))
            rows.extend(_reported(code, y, format_breakdown(flow=fl), _dec(parts[fl]))
                        for fl in ("IM", "EX"))
        revenue = sum((Decimal(str(r["revenue_assessed"])) for (yy, _fl), r in by.items()
                       if yy == y and r["revenue_assessed"] is not None), Decimal(0))
        rows.append(_reported("revenue_assessed", y, "", _dec(revenue)))
        pre = sum(int(r["prearrival_lodgements"] or 0) for (yy, _fl), r in by.items() if yy == y)
        rows.append(_reported("prearrival_lodgements", y, "", str(pre)))
    rows.extend(_release_times(md, years))
    rows.extend(_controls(md, years))
    rows.extend(_seizures(md, years))
    rows.extend(_aeo(md, years))
    order = {c: i for i, c in enumerate(ITEM_CODES)}
    return sorted(rows, key=lambda r: (order[r.data_item], -r.year, r.breakdown != "",
                                       _bd_sort(r.breakdown)))


def _bd_sort(bd: str) -> tuple:
    return tuple((0, int(v), "") if v.isdigit() else (1, 0, v)
                 for v in (p.split("=", 1)[1] for p in bd.split(";") if p))


def _release_times(md: Microdata, years: list[int]) -> list[ItemRow]:
    md.step(_("computing release times"))
    f = md.facts
    im = f.filter(f.in_declarations & (f.flow == "IM"))
    modes = sorted(int(r["transport_mode"]) for r in md.execute(
        im.select("transport_mode").distinct()).to_pylist() if r["transport_mode"] is not None)
    scoped = im.mutate(year=Q.year_of(im.release, years))
    scoped = scoped.filter(scoped.year.notnull())
    stats = Q.interval_stats(Q.hours(scoped, "arrival", "release"), [])
    stats["total"] = scoped.count()
    per_year = {r["year"]: r for r in md.execute(
        scoped.group_by("year").aggregate(**stats)).to_pylist()}
    per_mode = {(r["year"], r["transport_mode"]): r for r in md.execute(
        scoped.group_by(["year", "transport_mode"]).aggregate(**stats)).to_pylist()}
    rows: list[ItemRow] = []
    for y in years:
        groups = [("", per_year.get(y))] + [
            (format_breakdown(transport_mode=m), per_mode.get((y, m))) for m in modes]
        for code, stat in RELEASE_ITEMS.items():
            for bd, r in groups:
                n = int(r["n"]) if r else 0
                total = int(r["total"]) if r else 0
                if not n:
                    rows.append(_na(code, y, bd, _(
                        "no import declaration released in {year} has both arrival and release "
                        "({missing} lack one)").format(year=y, missing=total)))
                    continue
                q = dict(zip(("median_h", "p75_h", "p90_h", "p95_h"), r["quantiles"],
                             strict=True))
                value = r["mean_h"] if stat == "mean_h" else q[stat]
                note = _("n={n}; missing={missing}; prearrival={pre}").format(
                    n=n, missing=total - n, pre=int(r["negative"] or 0))
                rows.append(_reported(code, y, bd, _hours(value), note))
    return rows


def _hours(value: object) -> str:
    return f"{round(float(value), 6):.6f}".rstrip("0").rstrip(".")  # type: ignore[arg-type]


def _controls(md: Microdata, years: list[int]) -> list[ItemRow]:
    if not md.has("controls"):
        note = _("no controls table in the extract")
        return [_na(code, y, "", note) for y in years for code in CONTROL_ITEMS]
    md.step(_("counting controls"))
    got = {(r["year"], r["control_type"]): r
           for r in md.execute(Q.controls_by_year(md.table("controls"), years)).to_pylist()}
    rows = []
    for y in years:
        phys, pca = got.get((y, "physical")), got.get((y, "pca"))
        rows += [
            _reported("physical_controls", y, "", str(int(phys["n"]) if phys else 0)),
            _reported("physical_controls_with_findings", y, "",
                      str(int(phys["with_findings"]) if phys else 0)),
            _reported("pca_audits", y, "", str(int(pca["n"]) if pca else 0)),
            _reported("pca_audits_with_findings", y, "",
                      str(int(pca["with_findings"]) if pca else 0)),
            _reported("pca_additional_revenue", y, "",
                      _dec(pca["additional_revenue"] if pca else 0)),
        ]
    return rows


def _seizures(md: Microdata, years: list[int]) -> list[ItemRow]:
    if not md.has("seizures"):
        note = _("no seizures table in the extract")
        return [_na("seizures", y, bd, note) for y in years
                for bd in ("", *(format_breakdown(category=c) for c in SEIZURE_CATEGORIES))]
    md.step(_("counting seizures"))
    got = {(r["year"], r["category"]): int(r["n"])
           for r in md.execute(Q.seizures_by_year(md.table("seizures"), years)).to_pylist()}
    rows = []
    for y in years:
        rows.append(_reported("seizures", y, "",
                              str(sum(n for (yy, _c), n in got.items() if yy == y))))
        rows.extend(_reported("seizures", y, format_breakdown(category=c), str(got.get((y, c), 0)))
                    for c in SEIZURE_CATEGORIES)
    return rows


def _aeo(md: Microdata, years: list[int]) -> list[ItemRow]:
    if not md.has("aeo"):
        return [_na("aeo_count", y, "", _("no AEO register (aeo table) in the extract"))
                for y in years]
    rows = []
    for y in years:
        n = md.execute(Q.aeo_holders(md.table("aeo"), y)).to_pylist()[0]["n"]
        rows.append(_reported("aeo_count", y, "", str(int(n or 0))))
    return rows


def write_csv(rows: list[ItemRow], path: Path) -> None:
    """The submission CSV (UTF-8, header), ready for `pmm submission import`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=SUBMISSION_COLUMNS, dialect=Dialect)
        w.writeheader()
        for row in rows:
            w.writerow({k: neutralise(v) for k, v in row.as_submission().items()})
    tmp.replace(path)

