"""Every measurement, written once as Ibis expressions over the contract's tables.

The engines compile these to DuckDB or Spark SQL. The heavy step is `facts`: one pass over the
events pivots each declaration's milestones into columns and joins the declaration and the AEO
register, giving one row per declaration id. Verification, the Time Release Study and the data
items all read that table, so a measurement costs one pass over the events.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from pmm.measure.contract import MILESTONES, TABLES
from pmm.measure.engine import table_schema

# Milestones whose time is kept per declaration (the others are only counted).
TIMED = ("arrival", "lodgement", "registration", "inspection_start", "inspection_end",
         "release", "exit")
# Milestone counts are packed into one integer, 5 bits per milestone, so a single SUM gives
# every count (10 * 5 = 50 bits: exact in a double, which is how engines divide).
BASE = 32
US_PER_HOUR = 3_600_000_000
DECLARATION_COLUMNS = tuple(c.name for c in TABLES["declarations"].columns
                            if c.name != "declaration_id")


def source(name: str) -> ir.Table:
    """The unbound table an engine binds to its typed view of `name`."""
    return ibis.table(table_schema(name), name=name)


def events_pivot(ev: ir.Table) -> ir.Table:
    valid = ev.milestone.isin(MILESTONES) & ev.ts.notnull()
    packed = ibis.cases(*[((ev.milestone == m) & ev.ts.notnull(), BASE**i)
                          for i, m in enumerate(MILESTONES)], else_=0)
    return ev.group_by("declaration_id").aggregate(
        **{m: ev.ts.min(where=ev.milestone == m) for m in TIMED},
        milestone_counts=packed.sum().cast("int64"),
        n_events=ev.count(),
        n_invalid_events=(~valid).sum().cast("int64"),
    )


def facts(ev: ir.Table, decl: ir.Table, aeo: ir.Table | None) -> ir.Table:
    """One row per declaration id found in either table, with milestones and AEO status."""
    piv = events_pivot(ev)
    j = piv.outer_join(decl, piv.declaration_id == decl.declaration_id)
    f = j.select(
        declaration_id=ibis.coalesce(j.declaration_id, j.declaration_id_right),
        in_declarations=j.declaration_id_right.notnull(),
        n_events=ibis.coalesce(j.n_events, 0),
        n_invalid_events=ibis.coalesce(j.n_invalid_events, 0),
        milestone_counts=ibis.coalesce(j.milestone_counts, 0),
        **{c: j[c] for c in DECLARATION_COLUMNS},
        **{m: j[m] for m in TIMED},
    )
    if aeo is None:
        return f.mutate(aeo=ibis.literal(False))
    # The verifier refuses overlapping authorisations of a trader, so at most one register row
    # matches a declaration and the left join keeps one row per declaration.
    day = f.lodgement.date()
    a = aeo.select(aeo_trader=aeo.trader_id, valid_from=aeo.valid_from, valid_to=aeo.valid_to)
    k = f.left_join(a, [f.trader_id == a.aeo_trader, a.valid_from <= day,
                        a.valid_to.isnull() | (a.valid_to >= day)])
    return k.select(*[k[c] for c in f.columns], aeo=k.aeo_trader.notnull())


def milestone_count(f: ir.Table, milestone: str) -> ir.IntegerValue:
    i = MILESTONES.index(milestone)
    return (f.milestone_counts // BASE**i) % BASE


def hours(f: ir.Table, start: str, end: str) -> ir.FloatingValue:
    """Elapsed hours from one milestone to another (null when either is missing)."""
    return f[end].delta(f[start], unit="microsecond") / US_PER_HOUR


# --- verification over facts -------------------------------------------------------------------

ORDER_RULES: tuple[tuple[str, str, str], ...] = (
    # (earlier, later, kind): `later` before `earlier` is the defect.
    ("lodgement", "registration", "impossible_order"),
    ("lodgement", "release", "impossible_order"),
    ("registration", "release", "impossible_order"),
    ("inspection_start", "inspection_end", "impossible_order"),
    ("release", "exit", "impossible_order"),
    ("arrival", "exit", "negative_interval"),
)
IMPLAUSIBLE_HOURS = 180 * 24  # a span between milestones above 180 days is flagged, not refused


def fact_checks(f: ir.Table) -> dict[str, ir.BooleanValue]:
    """Per-declaration defect predicates, by check name (used for counts and for examples)."""
    n_known = f.n_events - f.n_invalid_events
    n_distinct = sum((milestone_count(f, m) > 0).cast("int64") for m in MILESTONES)
    checks: dict[str, ir.BooleanValue] = {
        "orphan_event": ~f.in_declarations,
        "duplicate_event": f.in_declarations & (n_known != n_distinct),
        "missing_lodgement": f.in_declarations & f.lodgement.isnull(),
        "inspection_end_without_start": f.inspection_end.notnull() & f.inspection_start.isnull(),
        "missing_arrival": f.in_declarations & (f.flow == "IM") & f.release.notnull()
        & f.arrival.isnull(),
        "missing_release": f.in_declarations & f.lodgement.notnull() & f.release.isnull(),
    }
    for earlier, later, _kind in ORDER_RULES:
        checks[f"{later}_before_{earlier}"] = f[later] < f[earlier]
    first = ibis.least(*[f[m] for m in TIMED])
    last = ibis.greatest(*[f[m] for m in TIMED])
    checks["implausible_span"] = last.delta(first, unit="microsecond") > (
        IMPLAUSIBLE_HOURS * US_PER_HOUR)
    return checks


def fact_check_counts(f: ir.Table) -> ir.Table:
    return f.aggregate(**{name: pred.cast("int64").sum() for name, pred in fact_checks(f).items()})


# --- data items ---------------------------------------------------------------------------------

def lodged_by_year_flow(f: ir.Table, years: list[int]) -> ir.Table:
    """Counts and sums over declarations lodged in the given years, per year and flow."""
    g = f.filter(f.in_declarations).mutate(year=f.lodgement.year().cast("int32"))
    g = g.filter(g.year.isin(years))
    trade = g.flow.isin(["IM", "EX"])
    return g.group_by(["year", "flow"]).aggregate(
        declarations=g.count(),
        declarations_electronic=g.electronic.cast("int64").sum(),
        ecommerce_shipments=g.ecommerce.cast("int64").sum(),
        trade_value=g.customs_value.sum(where=trade),
        trade_value_aeo=g.customs_value.sum(where=trade & g.aeo),
        revenue_assessed=(g.duties_assessed + g.taxes_assessed).sum(),
        prearrival_lodgements=(g.lodgement < g.arrival).cast("int64").sum(where=g.flow == "IM"),
    )


def controls_by_year(c: ir.Table, years: list[int]) -> ir.Table:
    c = c.filter(c.year.isin(years))
    found = c.result.isin(["irregularity", "seizure"])
    return c.group_by(["year", "control_type"]).aggregate(
        n=c.count(), with_findings=found.cast("int64").sum(),
        additional_revenue=c.additional_revenue.sum())


def seizures_by_year(s: ir.Table, years: list[int]) -> ir.Table:
    s = s.mutate(year=s.date.year().cast("int32"))
    s = s.filter(s.year.isin(years))
    return s.group_by(["year", "category"]).aggregate(n=s.count())


def aeo_holders(a: ir.Table, year: int) -> ir.Table:
    """Distinct traders holding a valid authorisation on 31 December of `year`."""
    day = ibis.date(year, 12, 31)
    held = a.filter((a.valid_from <= day) & (a.valid_to.isnull() | (a.valid_to >= day)))
    return held.aggregate(n=held.trader_id.nunique())


# --- Time Release Study -------------------------------------------------------------------------

QUANTILES = (0.5, 0.75, 0.9, 0.95)


def interval_stats(h: ir.FloatingValue, within: list[float], where: ir.BooleanValue | None = None
                   ) -> dict[str, ir.Value]:
    """TRS statistics of an interval in hours: negative intervals count as 0 and are counted.

    Quantiles are exact and computed together (DuckDB `quantile_cont(x, [...])`, Spark
    `percentile(x, array(...))`), so the values are sorted once per group.
    """
    if where is not None:
        h = ibis.ifelse(where, h, ibis.null("float64"))
    # Not GREATEST(h, 0): both engines' GREATEST skip nulls, which would turn a missing
    # interval into 0 hours.
    clamped = ibis.ifelse(h < 0, 0.0, h)
    out: dict[str, ir.Value] = {
        "n": h.count(),
        "negative": (h < 0).cast("int64").sum(),
        "mean_h": clamped.mean(),
        "quantiles": clamped.quantile(list(QUANTILES)),
    }
    for i, x in enumerate(within):
        out[f"within_{i}"] = (clamped <= x).cast("int64").sum()
    return out
