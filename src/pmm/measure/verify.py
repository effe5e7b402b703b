"""Strict checking of a microdata folder against the contract, on DuckDB whatever the engine.

Checks run on whole columns: one aggregate query per table counts every kind of bad cell, and
the `facts` table (one pass over the events, shared with the measurements) counts the relational
defects. Only when a count is not zero does a second query fetch a few examples with their file,
row and column, so a clean folder costs one pass per table.

Locations: CSV `FILE:LINE` (the header is line 1); Parquet `FILE:row N` (1-based).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from pmm.errors import PmmError
from pmm.i18n import _
from pmm.measure import queries as Q
from pmm.measure.contract import DECIMAL_SQL, TABLES, Column, Source, Table, discover
from pmm.measure.engine import DuckDBEngine, compile_sql, raw_scan, sql_literal
from pmm.measure.report import EXAMPLES, KINDS, Finding, Report

TS_OFFSET = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s*(Z|[+-]\d{2}(:?\d{2})?)"
TS_NAIVE = r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?"
DATE = r"\d{4}-\d{2}-\d{2}"

class Verifier:
    """Runs every check on a DuckDB engine; leaves the typed views and `facts` for reuse."""

    def __init__(self, folder: Path, engine: DuckDBEngine,
                 step: Callable[[str], None] | None = None) -> None:
        self.folder = folder
        self.engine = engine
        self.report = Report(folder)
        self.sources: dict[str, Source] = {}
        self.facts: ibis.Table | None = None
        self._step = step or (lambda _msg: None)
        self._cells_checked: set[str] = set()  # tables whose cells were scanned

    def _all(self, sql: str) -> list[tuple]:
        return self.engine.con.sql(sql).fetchall()

    def _one(self, sql: str) -> tuple | None:
        rows = self._all(sql)
        return rows[0] if rows else None

    # -- entry point ------------------------------------------------------------------------
    def run(self) -> Report:
        if not self.folder.is_dir():
            self.report.add("missing_table", 1, [_("{folder}: no such folder").format(
                folder=self.folder)])
            return self.report
        sources, problems = discover(self.folder)
        for p in problems:
            self.report.add("unreadable_file", 1, [p])
        for name, table in TABLES.items():
            if name not in sources and table.required:
                self.report.add("missing_table", 1, [_(
                    "{folder}: no {name}.parquet, {name}.csv or {name}/ folder; the table is "
                    "required").format(folder=self.folder, name=name)])
        readable: dict[str, Source] = {}
        for name, src in sources.items():
            self._step(_("checking the columns of {name}").format(name=name))
            if self._check_schema(TABLES[name], src):
                readable[name] = src
        self.sources = readable
        self.engine.register(readable)
        big = ("declarations", "events")
        for name, src in list(readable.items()):
            # The big Parquet tables are checked cell by cell only when the pass over `facts`
            # finds something wrong; CSV is scanned first (DuckDB reports malformed lines).
            # Parquet dates or timestamps stored as text are checked as CSV is (TRY_CAST alone
            # would take a string without offset for UTC).
            if name in big and src.format == "parquet" and not src.text \
                    and all(t in readable for t in big):
                continue
            self._step(_("checking the cells of {name}").format(name=name))
            self._check_cells(TABLES[name], src)
        if "aeo" in self.sources:
            self._check_aeo(self.sources["aeo"])
        if all(t in self.sources for t in big):
            self._step(_("pivoting the events of each declaration"))
            self._check_facts()
        return self.report

    # -- schema ------------------------------------------------------------------------------
    def _check_schema(self, table: Table, src: Source) -> bool:
        ok = True
        for path in src.files:
            if src.format == "parquet":
                try:
                    meta = pq.read_metadata(path)
                    schema = meta.schema.to_arrow_schema()
                    self.report.rows[table.name] = (self.report.rows.get(table.name, 0)
                                                    + meta.num_rows)
                except (pa.ArrowException, OSError) as exc:
                    self.report.add("unreadable_file", 1, [_(
                        "{file}: not a readable Parquet file ({error})").format(
                        file=path, error=str(exc).splitlines()[0])])
                    ok = False
                    continue
                ok &= self._check_parquet_types(table, path, schema)
            else:
                try:
                    with path.open(encoding="utf-8", newline="") as fh:
                        header = next(csv.reader(fh), [])
                except (UnicodeDecodeError, OSError, csv.Error) as exc:
                    self.report.add("unreadable_file", 1, [_(
                        "{file}:1: not a readable UTF-8 CSV file ({error})").format(
                        file=path, error=exc)])
                    ok = False
                    continue
                header = [h.strip().lstrip("\ufeff") for h in header]
                for col in table.columns:
                    if col.name not in header:
                        ok = False
                        self.report.add("missing_column", 1, [_(
                            "{file}:1: no column '{column}' in the header; expected the "
                            "columns {expected}").format(
                            file=path, column=col.name,
                            expected=", ".join(c.name for c in table.columns))])
        return ok

    def _check_parquet_types(self, table: Table, path: Path, schema: pa.Schema) -> bool:
        ok = True
        for col in table.columns:
            if col.name not in schema.names:
                self.report.add("missing_column", 1, [_(
                    "{file}: no column '{column}'; expected the columns {expected}").format(
                    file=path, column=col.name,
                    expected=", ".join(c.name for c in table.columns))])
                ok = False
                continue
            typ = schema.field(col.name).type
            if pa.types.is_dictionary(typ):
                typ = typ.value_type
            if col.kind == "timestamp" and pa.types.is_timestamp(typ) and typ.tz is None:
                self.report.add("timezone", 1, [_(
                    "{file}: column '{column}' is {type}, a timestamp without time zone; "
                    "expected a timestamp with a UTC offset or zone").format(
                    file=path, column=col.name, type=typ)])
                ok = False
            elif not _type_fits(col, typ):
                self.report.add("bad_type", 1, [_(
                    "{file}: column '{column}' has type {type}; expected {expected}").format(
                    file=path, column=col.name, type=typ, expected=_kind_name(col))])
                ok = False
        return ok

    # -- cells -------------------------------------------------------------------------------
    def _check_cells(self, table: Table, src: Source) -> None:
        import duckdb

        self._cells_checked.add(table.name)
        checks = [(col, kind, pred) for col in table.columns
                  for kind, pred in _cell_predicates(col, src.is_text(col.name))]
        counts_sql = ", ".join(f"count(*) FILTER (WHERE {pred})" for _c, _k, pred in checks)
        try:
            row = self._one(
                f"SELECT count(*){', ' + counts_sql if counts_sql else ''} "
                f"FROM {raw_scan(src)}")
        except duckdb.Error as exc:
            self.report.add("unreadable_file", 1, [_("{files}: cannot be read ({error})").format(
                files=", ".join(map(str, src.files)), error=str(exc).splitlines()[0])])
            self.sources.pop(table.name, None)
            return
        assert row is not None
        self.report.rows[table.name] = int(row[0])
        for (col, kind, pred), n in zip(checks, row[1:], strict=True):
            if n:
                self.report.add(kind, int(n), self._cell_examples(src, col, kind, pred))
        if table.key and table.name not in ("declarations", "events"):
            self._check_key(table, src)  # declaration ids are checked with `facts`

    def _cell_examples(self, src: Source, col: Column, kind: str, pred: str) -> list[str]:
        rows = self._locate(src, pred, [col.name])
        return [f"{loc}: {_describe(col, kind, values[0])}" for loc, values in rows]

    def _locate(self, src: Source, pred: str, columns: list[str], limit: int = EXAMPLES
                ) -> list[tuple[str, list[object]]]:
        """(location, values) of the first rows of a source matching a predicate."""
        cols = ", ".join(f'"{c}"' for c in columns)
        out: list[tuple[str, list[object]]] = []
        if src.format == "parquet":
            rows = self._all(
                f"SELECT filename, file_row_number, {cols} FROM {raw_scan(src, row_numbers=True)} "
                f"WHERE {pred} ORDER BY filename, file_row_number LIMIT {limit}")
            return [(f"{r[0]}:row {r[1] + 1}", list(r[2:])) for r in rows]
        for path in src.files:
            one = Source(src.table, (path,), "csv")
            # Row order of a single CSV file is the file's order (insertion order is kept for
            # this scan), so the row number plus one is the line (header = line 1).
            rows = self._all(
                f"SELECT rn, {cols} FROM (SELECT row_number() OVER () AS rn, * "
                f"FROM {raw_scan(one)}) WHERE {pred} ORDER BY rn LIMIT {limit - len(out)}"
            )
            out.extend((f"{path}:{r[0] + 1}", list(r[1:])) for r in rows)
            if len(out) >= limit:
                break
        return out

    def _check_key(self, table: Table, src: Source) -> None:
        key = table.key[0]
        n_dup = self._one(
            f'SELECT count("{key}") - count(DISTINCT "{key}") FROM "{table.name}"')
        if not n_dup or not n_dup[0]:
            return
        dup_ids = [r[0] for r in self._all(
            f'SELECT "{key}" FROM "{table.name}" WHERE "{key}" IS NOT NULL GROUP BY 1 '
            f"HAVING count(*) > 1 ORDER BY 1 LIMIT {EXAMPLES}")]
        pred = f'"{key}" IN ({", ".join(sql_literal(str(i)) for i in dup_ids)})'
        examples = [_("{loc}: column '{column}' = '{value}' appears more than once; expected a "
                      "unique id").format(loc=loc, column=key, value=values[0])
                    for loc, values in self._locate(src, pred, [key], limit=2 * EXAMPLES)]
        self.report.add("duplicate_id", int(n_dup[0]), examples)

    # -- AEO register ------------------------------------------------------------------------
    def _check_aeo(self, src: Source) -> None:
        # Overlapping authorisations of one trader are normal (the EU's AEOC and AEOS are two
        # authorisations of one trader); the measurements count each trader once.
        n = self._one('SELECT count(*) FROM "aeo" WHERE valid_to < valid_from')
        if n and n[0]:
            pred = _typed_pred(src, "valid_to") + " < " + _typed_pred(src, "valid_from")
            self.report.add("negative_interval", int(n[0]), [
                _("{loc}: column 'valid_to' = '{to}' is before valid_from '{frm}'; expected an "
                  "end on or after the start").format(loc=loc, to=v[0], frm=v[1])
                for loc, v in self._locate(src, pred, ["valid_to", "valid_from"])])

    # -- relational checks over facts --------------------------------------------------------
    def _check_facts(self) -> None:
        import duckdb

        try:
            self.facts = Q.build_facts(self.engine, "aeo" in self.sources)
        except duckdb.OutOfMemoryException as exc:
            raise PmmError(_("DuckDB ran out of memory ({error}); raise --memory-limit or free "
                             "disk space for spilling").format(error=str(exc).splitlines()[0])
                           ) from None
        except duckdb.Error as exc:
            folders = sorted({str(p.parent) for t in ("declarations", "events")
                              for p in self.sources[t].files})
            self.report.add("unreadable_file", 1, [_("{files}: cannot be read ({error})").format(
                files=", ".join(folders), error=str(exc).splitlines()[0])])
            self.facts = None
            return
        self._step(_("checking milestones"))
        counts = self.engine.execute(Q.fact_check_counts(self.facts)).to_pylist()[0]
        self.report.rows["declarations"] = int(counts.pop("rows_declarations") or 0)
        joined_events = int(counts.pop("rows_events") or 0)
        self.report.rows.setdefault("events", joined_events)
        # A repeated declaration id repeats its events in `facts` (or, without events, lacks a
        # lodgement): only then are the ids counted exactly, which costs a pass of its own.
        if joined_events != self.report.rows["events"] or counts["missing_lodgement"]:
            self._check_key(TABLES["declarations"], self.sources["declarations"])
        checks = Q.fact_checks(self.facts)
        scanned = set(self._cells_checked)
        for name in Q.TRIGGERS:
            table = "declarations" if name == "bad_declaration" else "events"
            if not counts.pop(name):
                continue
            if table not in scanned:  # CSV, and Parquet dates as text, were scanned already
                scanned.add(table)
                self._check_cells(TABLES[table], self.sources[table])
            if name == "invalid_event":
                self._check_overflowing_repeats(checks[name])
        for name, n in counts.items():
            if not n:
                continue
            ids = [r["declaration_id"] for r in self.engine.execute(
                self.facts.filter(checks[name]).select("declaration_id").distinct()
                .order_by("declaration_id").limit(EXAMPLES)).to_pylist()]
            kind, examples = self._fact_examples(name, ids)
            self.report.add(kind, int(n), examples)
        if "controls" in self.sources:
            n = self._one(  # an ANTI JOIN: three times faster than NOT EXISTS on DuckDB 2.0
                'SELECT count(*) FROM "controls" c ANTI JOIN (SELECT declaration_id FROM "facts" '
                "WHERE in_declarations) f USING (declaration_id) "
                "WHERE c.declaration_id IS NOT NULL")
            if n and n[0]:
                src = self.sources["controls"]
                pred = ("declaration_id IS NOT NULL AND declaration_id NOT IN "
                        '(SELECT declaration_id FROM "facts" WHERE in_declarations '
                        "AND declaration_id IS NOT NULL)")
                self.report.add("orphan_control", int(n[0]), [
                    _("{loc}: column 'declaration_id' = '{value}' is not in declarations "
                      "(the control is kept; its declaration is outside the extract)").format(
                        loc=loc, value=v[0])
                    for loc, v in self._locate(src, pred, ["declaration_id"])])

    def _check_overflowing_repeats(self, invalid: ibis.Value) -> None:
        """A milestone recorded 32 times or more for one declaration overflows its 5-bit packed
        count and then shows only as a count mismatch (like an invalid event): such repeats
        are counted exactly here, among the declarations with a mismatch."""
        assert self.facts is not None
        ev = Q.source("events")
        suspects = self.facts.filter(invalid).select("declaration_id")
        valid = ev.filter(ev.milestone.notnull() & ev.ts.notnull())
        rows = valid.semi_join(suspects, "declaration_id")
        pairs = rows.group_by(["declaration_id", "milestone"]).aggregate(n=rows.count())
        ids = sorted({r["declaration_id"] for r in self.engine.execute(
            pairs.filter(pairs.n >= Q.BASE)).to_pylist()})
        if ids:
            kind, examples = self._fact_examples("duplicate_event", ids[:EXAMPLES])
            self.report.add(kind, len(ids), examples)

    def _fact_examples(self, name: str, ids: list[str | None]) -> tuple[str, list[str]]:
        decl, ev = self.sources["declarations"], self.sources["events"]
        id_list = ", ".join(sql_literal(str(i)) for i in ids if i is not None) or "NULL"
        in_ids = f"declaration_id IN ({id_list})"
        if name == "orphan_event":
            pred = in_ids
            return "orphan_event", [
                _("{loc}: column 'declaration_id' = '{value}' has no row in declarations; "
                  "expected the id of a declaration").format(loc=loc, value=v[0])
                for loc, v in self._locate(ev, pred, ["declaration_id"])]
        if name == "duplicate_event":
            rows = self._locate(ev, in_ids, ["declaration_id", "milestone", "ts"], limit=200)
            seen: dict[tuple, int] = {}
            for _loc, v in rows:
                seen[(v[0], v[1])] = seen.get((v[0], v[1]), 0) + 1
            return "duplicate_event", [
                _("{loc}: milestone '{m}' of declaration '{d}' is recorded more than once; "
                  "expected one row per declaration and milestone").format(loc=loc, m=v[1],
                                                                            d=v[0])
                for loc, v in rows if seen[(v[0], v[1])] > 1][:EXAMPLES]
        if name in ("missing_lodgement", "missing_arrival", "missing_release", "implausible_span"):
            kind = {"missing_lodgement": "missing_lodgement",
                    "implausible_span": "implausible_interval"}.get(name, "missing_milestone")
            text = {
                "missing_lodgement": _("declaration '{d}' has no lodgement event; every "
                                       "declaration needs one"),
                "missing_arrival": _("import declaration '{d}' is released but has no arrival "
                                     "event (left out of arrival-based intervals)"),
                "missing_release": _("declaration '{d}' has no release event (not yet released "
                                     "or not recorded)"),
                "implausible_span": _("declaration '{d}' spans more than {days} days from its "
                                      "first to its last milestone"),
            }[name]
            return kind, [f"{loc}: " + text.format(d=v[0], days=Q.IMPLAUSIBLE_HOURS // 24)
                          for loc, v in self._locate(decl, in_ids, ["declaration_id"])]
        if name == "inspection_end_without_start":
            later, earlier, kind = "inspection_end", "inspection_start", "impossible_order"
        else:
            later, earlier = name.split("_before_")
            kind = next(k for e, lt, k in Q.ORDER_RULES if e == earlier and lt == later)
        times = {r["declaration_id"]: r for r in self.engine.execute(
            self.facts.filter(self.facts.declaration_id.isin([i for i in ids if i]))
            .select("declaration_id", earlier, later)).to_pylist()}
        pred = f"{in_ids} AND milestone = {sql_literal(later)}"
        out = []
        for loc, v in self._locate(ev, pred, ["declaration_id", "ts"]):
            when = times.get(v[0], {}).get(earlier)
            if when is None:
                out.append(_("{loc}: column 'ts' = '{value}': {later} of declaration '{d}' has "
                             "no {earlier}; expected {earlier} first").format(
                    loc=loc, value=v[1], later=later, d=v[0], earlier=earlier))
            else:
                out.append(_("{loc}: column 'ts' = '{value}': {later} of declaration '{d}' is "
                             "before its {earlier} ({when}); expected {later} at or after "
                             "{earlier}").format(loc=loc, value=v[1], later=later, d=v[0],
                                                 earlier=earlier, when=_iso(when)))
        return kind, out


def _iso(us: int) -> str:
    """An instant given in microseconds since the epoch, as ISO 8601 in UTC."""
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(us))
    return moment.isoformat().replace("+00:00", "Z")


def _type_fits(col: Column, typ: pa.DataType) -> bool:
    t = pa.types
    return {
        "string": t.is_string(typ) or t.is_large_string(typ) or t.is_string_view(typ),
        "enum": t.is_string(typ) or t.is_large_string(typ) or t.is_string_view(typ),
        "int": t.is_integer(typ),
        "bool": t.is_boolean(typ),
        "decimal": t.is_decimal(typ) or t.is_floating(typ) or t.is_integer(typ),
        # ISO 8601 text is accepted for dates and timestamps, and checked as CSV cells are
        "timestamp": t.is_timestamp(typ) or _is_text(typ),
        "date": t.is_date(typ) or _is_text(typ),
    }[col.kind]


def _is_text(typ: pa.DataType) -> bool:
    t = pa.types
    return t.is_string(typ) or t.is_large_string(typ) or t.is_string_view(typ)


def _kind_name(col: Column) -> str:
    return {"string": "text", "enum": "text", "int": "an integer type", "bool": "boolean",
            "decimal": "a decimal or numeric type",
            "timestamp": "a timestamp with time zone (or ISO 8601 text)",
            "date": "a date (or ISO 8601 text)"}[col.kind]


def _cell_predicates(col: Column, text: bool) -> list[tuple[str, str]]:
    """(kind, DuckDB predicate on the raw cell) for each way a cell can be bad."""
    c = f'"{col.name}"'
    present = f"{c} IS NOT NULL AND trim(CAST({c} AS VARCHAR)) <> ''" if text else \
        f"{c} IS NOT NULL"
    out: list[tuple[str, str]] = []
    if col.required:
        empty = f"({c} IS NULL OR trim(CAST({c} AS VARCHAR)) = '')" if col.kind in (
            "string", "enum") or text else f"{c} IS NULL"
        out.append(("null_value", empty))
    if col.kind == "enum":
        values = ", ".join(sql_literal(v) for v in col.values)
        out.append(("bad_value", f"{present} AND {c} NOT IN ({values})"))
    elif col.kind in ("int", "decimal"):
        num = f"TRY_CAST(trim({c}) AS {'BIGINT' if col.kind == 'int' else DECIMAL_SQL})" \
            if text else c
        if text:
            out.append(("bad_type", f"{present} AND {num} IS NULL"))
        if col.lo is not None:
            out.append(("bad_value", f"{present} AND {num} NOT BETWEEN {col.lo} AND {col.hi}"))
        if col.nonnegative:
            out.append(("bad_value", f"{present} AND {num} < 0"))
    elif col.kind == "bool" and text:
        out.append(("bad_type", f"{present} AND lower(trim({c})) NOT IN ('true', 'false')"))
    elif col.kind == "timestamp" and text:
        s = f"trim({c})"
        out.append(("timezone", f"{present} AND regexp_full_match({s}, '{TS_NAIVE}')"))
        out.append(("bad_type", f"{present} AND NOT regexp_full_match({s}, '{TS_NAIVE}') AND "
                                f"(NOT regexp_full_match({s}, '{TS_OFFSET}') OR "
                                f"TRY_CAST({s} AS TIMESTAMPTZ) IS NULL)"))
    elif col.kind == "date" and text:
        s = f"trim({c})"
        out.append(("bad_type", f"{present} AND (NOT regexp_full_match({s}, '{DATE}') OR "
                                f"TRY_CAST({s} AS DATE) IS NULL)"))
    return out


def _typed_pred(src: Source, column: str) -> str:
    if src.is_text(column):
        return f'TRY_CAST(trim("{column}") AS DATE)'
    return f'"{column}"'


def _describe(col: Column, kind: str, value: object) -> str:
    shown = "" if value is None else str(value)
    if kind == "null_value":
        return _("column '{column}' is empty; expected {expected}").format(
            column=col.name, expected=col.expected())
    if kind == "timezone":
        return _("column '{column}' = '{value}' has no UTC offset; expected {expected}").format(
            column=col.name, value=shown, expected=col.expected())
    return _("column '{column}' = '{value}'; expected {expected}").format(
        column=col.name, value=shown, expected=col.expected())


def verify(folder: Path, *, memory_limit: str | None = None,
           step: Callable[[str], None] | None = None, save: bool = False) -> Report:
    """Check a folder and return the report (the DuckDB engine is closed afterwards).

    With `save`, a clean folder's declaration table is kept beside the data for `trs` and
    `items` (see `saved.py`); a folder with errors loses any copy saved earlier.
    """
    from pmm.measure import saved

    engine = DuckDBEngine(memory_limit=memory_limit)
    try:
        verifier = Verifier(folder, engine, step)
        report = verifier.run()
        if save and report.ok:
            step and step(_("saving the verified declarations"))
            try:
                saved.save(engine, folder, verifier.sources, report)
            except PmmError as exc:  # the report still stands: show it above the reason
                raise PmmError(*report.lines(), report.summary(), *exc.lines) from None
        elif save and saved.path_of(folder).is_file():
            saved.path_of(folder).unlink()
        return report
    finally:
        engine.close()


__all__ = ["KINDS", "Finding", "Report", "Verifier", "compile_sql", "verify"]
