"""Every measurement, written once as Ibis expressions over the contract's tables.

The engines compile these to DuckDB or Spark SQL. The heavy step is `facts`: one pass over the
events pivots each declaration id's milestones into columns, then a full outer join adds the
declaration and a join its AEO status, giving one row per declaration (and per id found only in
the events).
Verification, the Time Release Study and the data items all read that table, so a measurement
costs one pass over the events.

Timestamps are integers (microseconds since the epoch, UTC; see `engine.py`): an interval is a
difference, and "in year Y" is a range of integers computed here in Python, identical on every
engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container

import ibis
import ibis.expr.types as ir

from pmm.measure.contract import MILESTONES, TABLES, Column
from pmm.measure.engine import Engine, table_schema

# Milestones whose time is kept per declaration (the others are only counted).
TIMED = ("arrival", "lodgement", "registration", "inspection_start", "inspection_end",
         "release", "exit")
# Rows per declaration id of each milestone are packed into one integer, 5 bits each, so a single
# SUM gives every count (10 * 5 = 50 bits; the engines decode it with a division by a power of
# 32, exact in a double below 2**53). 32 rows of one milestone overflow a slot; the verifier then
# sees a count mismatch and counts that declaration's rows exactly.
BASE = 32
US_PER_HOUR = 3_600_000_000
US_PER_DAY = 86_400_000_000
DECLARATION_COLUMNS = tuple(c.name for c in TABLES["declarations"].columns
                            if c.name != "declaration_id")


def source(name: str) -> ir.Table:
    """The unbound table an engine binds to its typed view of `name`."""
    return ibis.table(table_schema(name), name=name)


def year_start(year: int) -> int:
    """Microseconds since the epoch at 1 January of `year`, 00:00 UTC."""
    return int(dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp()) * 1_000_000


def utc_day(us: int | None) -> str:
    """The UTC date of an instant in microseconds since the epoch ('?' if unknown)."""
    if us is None:
        return "?"
    return (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)).date(
        ).isoformat()


def in_year(us: ir.IntegerValue, year: int) -> ir.BooleanValue:
    return (us >= year_start(year)) & (us < year_start(year + 1))


def year_of(us: ir.IntegerValue, years: list[int]) -> ir.IntegerValue:
    """The UTC year of an instant among `years` (null outside them)."""
    return ibis.cases(*[(in_year(us, y), y) for y in sorted(years)], else_=ibis.null("int32"))


def month_of(us: ir.IntegerValue, year: int) -> ir.IntegerValue:
    """The UTC month (1-12) of an instant in `year` (null outside it)."""
    bounds = [int(dt.datetime(year + m // 12, m % 12 + 1, 1, tzinfo=dt.UTC).timestamp())
              * 1_000_000 for m in range(13)]
    return ibis.cases(*[((us >= bounds[m]) & (us < bounds[m + 1]), m + 1) for m in range(12)],
                      else_=ibis.null("int32"))


def day_number(date: ir.DateValue) -> ir.IntegerValue:
    """Days since 1970-01-01 of a date."""
    return date.delta(ibis.date(1970, 1, 1), unit="day")


def events_pivot(ev: ir.Table) -> ir.Table:
    """One row per declaration id of the events: milestone times and packed row counts.

    This is the one pass over the events, and the costliest step of a measurement: its
    aggregates are kept to what the checks and measurements need (a time per timed milestone,
    one packed count, one row count).
    """
    code = ibis.cases(*[(ev.milestone == m, i) for i, m in enumerate(MILESTONES)],
                      else_=ibis.null("int8"))
    rows = ev.select(declaration_id=ev.declaration_id, code=code, us=ev.ts)
    packed = ibis.cases(*[(rows.code == i, BASE**i) for i in range(len(MILESTONES))], else_=0)
    return rows.group_by("declaration_id").aggregate(
        **{m: rows.us.min(where=rows.code == MILESTONES.index(m)) for m in TIMED},
        counts=ibis.ifelse(rows.us.notnull(), packed, 0).sum().cast("int64"),
        n_events=rows.count(),
    )


def packed_count(counts: ir.IntegerValue, code: int) -> ir.IntegerValue:
    return (counts // BASE**code) % BASE


def facts(piv: ir.Table, decl: ir.Table, aeo: ir.Table | None) -> ir.Table:
    """One row per declaration (and per id found only in the events), with milestones and AEO.

    A full outer join of the pivoted events with the declarations; `in_declarations` says
    whether a row has its declaration. A declaration id repeated in `declarations` repeats its
    row (the verifier refuses that; it notices it because the events are then counted more than
    once).
    """
    d = decl.mutate(in_declarations=ibis.literal(True))
    j = piv.outer_join(d, piv.declaration_id == d.declaration_id)
    f = j.select(
        declaration_id=ibis.coalesce(j.declaration_id, j.declaration_id_right),
        in_declarations=j.in_declarations.fill_null(False),
        counts=j.counts.fill_null(0),
        n_events=j.n_events.fill_null(0),
        **{c: j[c] for c in DECLARATION_COLUMNS},
        **{m: j[m] for m in TIMED},
    )
    if aeo is None:
        return f.mutate(aeo=ibis.literal(False))
    # A trader may hold several authorisations at once (the EU's AEOC and AEOS): joined to the
    # register's merged spans, which never overlap, a declaration matches at most one row and
    # the left join keeps one row per declaration.
    day = f.lodgement // US_PER_DAY
    a = aeo_spans(aeo)
    k = f.left_join(a, [f.trader_id == a.aeo_trader, a.aeo_from <= day, a.aeo_to >= day])
    return k.select(*[k[c] for c in f.columns], aeo=k.aeo_trader.notnull())


OPEN_END = 10**7  # a day number far beyond any date (year 29349): an authorisation still valid


def aeo_spans(aeo: ir.Table) -> ir.Table:
    """Each trader's authorisations merged into disjoint spans of days (`aeo_trader`,
    `aeo_from`, `aeo_to`, days since 1970-01-01; an open end is `OPEN_END`).

    Overlapping or adjacent authorisations of one trader become one span, so a trader is counted
    once on a day whatever the number of authorisations it holds. The register is small (one
    row per authorisation): two window passes over it cost nothing next to the declarations.
    """
    a = aeo.select(trader=aeo.trader_id, start=day_number(aeo.valid_from),
                   end=ibis.coalesce(day_number(aeo.valid_to), OPEN_END))
    a = a.filter(a.trader.notnull() & a.start.notnull() & (a.end >= a.start))
    before = ibis.window(group_by=a.trader, order_by=[a.start, a.end], rows=(None, -1))
    reach = a.end.max().over(before)  # the furthest end of the trader's earlier rows
    a = a.mutate(new=(reach.isnull() | (a.start > reach + 1)).cast("int64"))
    upto = ibis.window(group_by=a.trader, order_by=[a.start, a.end], rows=(None, 0))
    a = a.mutate(span=a.new.sum().over(upto))
    return a.group_by(["trader", "span"]).aggregate(
        aeo_from=a.start.min(), aeo_to=a.end.max()).select(
        aeo_trader="trader", aeo_from="aeo_from", aeo_to="aeo_to")


def facts_table(sources: Container[str]) -> ir.Table:
    """The unbound `facts` table of a folder holding these tables (its schema, not its rows)."""
    expr = facts(events_pivot(source("events")), source("declarations"),
                 source("aeo") if "aeo" in sources else None)
    return ibis.table(expr.schema(), name="facts")


def build_facts(engine: Engine, has_aeo: bool) -> ir.Table:
    """Materialise `facts` on an engine whose typed views are registered.

    The pivot is materialised on its own first: fused with the joins into one statement, DuckDB
    holds the aggregate and the join's hash tables at once (a quarter slower at 10 million).
    """
    piv = engine.materialise("milestones", events_pivot(source("events")))
    f = engine.materialise("facts", facts(piv, source("declarations"),
                                          source("aeo") if has_aeo else None))
    engine.drop("milestones")
    return f


def milestone_count(f: ir.Table, milestone: str) -> ir.IntegerValue:
    return packed_count(f.counts, MILESTONES.index(milestone))


def hours(f: ir.Table, start: str, end: str) -> ir.FloatingValue:
    """Elapsed hours from one milestone to another (null when either is missing)."""
    return (f[end] - f[start]) / US_PER_HOUR


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
    counts = [milestone_count(f, m) for m in MILESTONES]
    n_valid = sum(counts[1:], counts[0])
    checks: dict[str, ir.BooleanValue] = {
        # Triggers for the detailed cell scans (which name file, row, column and value):
        "null_id": f.declaration_id.isnull(),
        "bad_declaration": f.in_declarations & ~ibis.and_(
            *[_cell_ok(f[c.name], c) for c in TABLES["declarations"].columns[1:]]),
        "orphan_event": ~f.in_declarations & f.declaration_id.notnull(),
        "invalid_event": f.n_events != n_valid,  # unknown milestone or empty time (cells)
        "duplicate_event": f.in_declarations
        & ibis.or_(*[c > 1 for c in counts]),
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
    checks["implausible_span"] = (last - first) > IMPLAUSIBLE_HOURS * US_PER_HOUR
    return checks


def _cell_ok(v: ir.Value, col: Column) -> ir.BooleanValue:
    """A typed declaration cell holds a valid value (a bad CSV cell was cast to null)."""
    ok = v.notnull()
    if col.kind in ("string", "enum"):
        ok &= v != ""
    if col.kind == "enum":
        ok &= v.isin(col.values)
    if col.kind == "int" and col.lo is not None:
        ok &= v.between(col.lo, col.hi)
    if col.kind == "decimal" and col.nonnegative:
        ok &= v >= 0
    return ok


TRIGGERS = ("null_id", "bad_declaration", "invalid_event")


def fact_check_counts(f: ir.Table) -> ir.Table:
    return f.aggregate(rows_declarations=f.in_declarations.cast("int64").sum(),
                       rows_events=f.n_events.sum(),
                       **{name: pred.cast("int64").sum()
                          for name, pred in fact_checks(f).items()})


# --- data items ---------------------------------------------------------------------------------

def lodged_by_year_flow(f: ir.Table, years: list[int]) -> ir.Table:
    """Counts and sums over declarations lodged in the given years, per year and flow."""
    g = f.mutate(year=year_of(f.lodgement, years))
    g = g.filter(g.in_declarations & g.year.notnull())
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
