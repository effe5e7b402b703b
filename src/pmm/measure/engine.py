"""Engines that run the measurements: DuckDB in-process (default) and Apache Spark.

Measurements are Ibis expressions over unbound tables (see `queries.py`); an engine compiles them
to its SQL dialect with `ibis.to_sql` and runs that SQL on its own native connection. Only the
Ibis *compiler* is used, not Ibis's backends: the compiler is what makes one expression give
`quantile_cont` on DuckDB and `percentile` on Spark, while the native connections keep us clear
of backend/driver version coupling (Ibis 12's DuckDB backend calls APIs DuckDB 2 removed) and let
us set UTC, memory limits and spilling ourselves.

Both engines read the contract's files into typed views named after the tables, with the
canonical types of `contract.py`, and take every year and date of a timestamp in UTC.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from pmm.errors import PmmError
from pmm.i18n import _
from pmm.measure.contract import DECIMAL_SQL, TABLES, Column, Source

# Canonical column types per contract kind, in each dialect. A timestamp becomes an integer:
# microseconds since 1970-01-01T00:00:00Z. Intervals are then exact integer differences, a year or
# a day is a range of integers computed in Python in UTC, and both engines do the same integer
# arithmetic (DuckDB's calendar functions on TIMESTAMPTZ go through ICU and are several times
# slower; aggregating BIGINTs is the fastest path on both engines).
_TYPES = {
    "duckdb": {"string": "VARCHAR", "enum": "VARCHAR", "int": "INTEGER", "bool": "BOOLEAN",
               "decimal": DECIMAL_SQL, "timestamp": "TIMESTAMPTZ", "date": "DATE"},
    "spark": {"string": "STRING", "enum": "STRING", "int": "INT", "bool": "BOOLEAN",
              "decimal": DECIMAL_SQL, "timestamp": "TIMESTAMP", "date": "DATE"},
}
# The same types as Ibis sees them, for the unbound tables queries are written against.
IBIS_TYPES = {"string": "string", "enum": "string", "int": "int32", "bool": "boolean",
              "decimal": "decimal(18, 3)", "timestamp": "int64", "date": "date"}


def table_schema(name: str) -> ibis.Schema:
    return ibis.schema({c.name: IBIS_TYPES[c.kind] for c in TABLES[name].columns})


def _quote(ident: str, dialect: str) -> str:
    return f"`{ident}`" if dialect == "spark" else f'"{ident}"'


def typed_select(source: Source, raw: str, dialect: str) -> str:
    """SQL selecting the contract's columns of `raw` with their canonical types.

    Text cells (every CSV cell, and Parquet dates and timestamps stored as strings) are cast with
    TRY_CAST on DuckDB, so a verifier reading a bad file still sees every other cell; Spark reads
    only verified folders.
    """
    cols = []
    for col in TABLES[source.table].columns:
        text = source.is_text(col.name)
        target = _TYPES[dialect][col.kind]
        q = _quote(col.name, dialect)
        cast = "TRY_CAST" if (text and dialect == "duckdb") else "CAST"
        expr = f"{cast}({_cell(q, col, text, dialect)} AS {target})"
        if col.kind == "timestamp":
            expr = f"epoch_us({expr})" if dialect == "duckdb" else f"unix_micros({expr})"
        cols.append(f"{expr} AS {q}")
    return f"SELECT {', '.join(cols)} FROM {raw}"


def _cell(q: str, col: Column, from_text: bool, dialect: str) -> str:
    if from_text and col.kind == "bool":
        return f"lower(trim({q}))"
    if from_text and dialect == "duckdb":
        # trim() also keeps DuckDB from pushing the cast into its CSV reader, where a TRY_CAST
        # becomes a hard conversion error.
        return f"trim({q})"
    if from_text and col.kind in ("date", "timestamp"):
        # Spark's CSV reader gives null for an empty cell, but a Parquet string stays '' (an
        # open AEO end): both mean no value.
        return f"nullif(trim({q}), '')"
    return q


class Engine(Protocol):
    dialect: str

    def register(self, sources: dict[str, Source]) -> None: ...
    def execute(self, expr: ir.Table) -> pa.Table: ...
    def materialise(self, name: str, expr: ir.Table) -> ir.Table: ...
    def drop(self, name: str) -> None: ...
    def close(self) -> None: ...


def compile_sql(expr: ir.Table, dialect: str) -> str:
    """The SQL of an expression in an engine's dialect (`duckdb` or `spark`)."""
    if dialect == "spark":
        _ensure_ibis_options()
        return str(ibis.to_sql(expr, dialect="pyspark"))
    return str(ibis.to_sql(expr, dialect=dialect))


def _ensure_ibis_options() -> None:
    # The pyspark compiler reads `ibis.options.pyspark`, which exists once the backend module
    # is loaded; loading it does not start Spark.
    if getattr(ibis.options, "pyspark", None) is None:
        from ibis.backends.pyspark import Backend

        ibis.options.pyspark = Backend.Options()


class DuckDBEngine:
    """DuckDB in-process: UTC, a memory limit, and spilling to a temporary folder beyond it."""

    dialect = "duckdb"

    def __init__(self, memory_limit: str | None = None) -> None:
        import duckdb

        self._tmp = tempfile.TemporaryDirectory(prefix="pmm-duckdb-")
        # In memory, with a temporary folder: beyond the memory limit the buffer manager writes
        # blocks of tables and of large aggregations there, so `facts` for tens of millions of
        # declarations fits (a database file would compress and checkpoint every table: slower).
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"SET temp_directory = '{self._tmp.name}'")
        limit = memory_limit or default_memory_limit()
        try:
            self.con.execute(f"SET memory_limit = {sql_literal(limit)}")
        except duckdb.Error:
            self.close()
            raise PmmError(_("--memory-limit: {value!r} is not an amount of memory; expected a "
                             "number and a unit, e.g. 6GB or 500MB").format(value=limit)) from None
        # Order of rows is never relied upon by a measurement; letting DuckDB drop it saves
        # memory on large aggregations.
        self.con.execute("SET preserve_insertion_order = false")

    def register(self, sources: dict[str, Source]) -> None:
        for name, source in sources.items():
            self.con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS '
                             + typed_select(source, raw_scan(source), "duckdb"))

    def sql(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def execute(self, expr: ir.Table) -> pa.Table:
        return self.sql(compile_sql(expr, self.dialect))

    def materialise(self, name: str, expr: ir.Table) -> ir.Table:
        self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS ' + compile_sql(expr, self.dialect))
        return ibis.table(expr.schema(), name=name)

    def drop(self, name: str) -> None:
        self.con.execute(f'DROP TABLE IF EXISTS "{name}"')

    def close(self) -> None:
        self.con.close()
        self._tmp.cleanup()


def raw_scan(source: Source, *, row_numbers: bool = False) -> str:
    """DuckDB table function reading a source's files as they are (CSV: all text)."""
    files = "[" + ", ".join(sql_literal(str(p)) for p in source.files) + "]"
    if source.format == "parquet":
        extra = ", file_row_number = true, filename = true" if row_numbers else ""
        return f"read_parquet({files}, union_by_name = true{extra})"
    return (f"read_csv({files}, all_varchar = true, header = true, union_by_name = true"
            f"{', filename = true' if row_numbers else ''})")


def sql_literal(text: str) -> str:
    """A SQL string literal (quotes doubled) for the statements DuckDB cannot parametrise."""
    return "'" + text.replace("'", "''") + "'"


def default_memory_limit() -> str:
    """A third of physical memory, at most 6 GB: DuckDB spills the rest to disk."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return "4GB"
    return f"{max(1, min(6, total // 3 // 2**30))}GB"


class SparkEngine:
    """Apache Spark: local mode by default, or a cluster's master URL; session time zone UTC."""

    dialect = "spark"

    def __init__(self, master: str | None = None, session: Any = None) -> None:
        self.spark = session or spark_session(master or "local[2]")
        self.spark.conf.set("spark.sql.session.timeZone", "UTC")
        self._cached: dict[str, Any] = {}
        self._staged: list[Path] = []

    def register(self, sources: dict[str, Source]) -> None:
        for name, source in sources.items():
            paths = [str(p) for p in source.files]
            if source.format == "parquet":
                df = self.spark.read.parquet(*paths)
            else:
                df = self.spark.read.option("header", True).option("mode", "FAILFAST").csv(paths)
            raw = f"pmm_raw_{name}"
            df.createOrReplaceTempView(raw)
            self.spark.sql(f"CREATE OR REPLACE TEMP VIEW `{name}` AS "
                           + typed_select(source, f"`{raw}`", "spark"))

    def execute(self, expr: ir.Table) -> pa.Table:
        return self.spark.sql(compile_sql(expr, self.dialect)).toArrow()

    def read_table(self, name: str, path: Path, like: ir.Table) -> ir.Table:
        """A Parquet file (a saved `facts`) as the view `name`, with the schema of `like`.

        Spark skips files whose name starts with a dot, even named explicitly, so the file is
        linked under a visible name in a private folder beside it (removed on `close`); that
        folder sits in the microdata folder, which the cluster reads anyway. OSError when the
        folder cannot be written.
        """
        staging = Path(tempfile.mkdtemp(prefix=".pmm-spark-", dir=path.parent))
        self._staged.append(staging)
        visible = staging / "facts.parquet"
        try:
            os.link(path, visible)
        except OSError:  # a file system without hard links
            shutil.copyfile(path, visible)
        df = self.spark.read.parquet(str(staging))
        missing = [c for c in like.columns if c not in df.columns]
        if missing:
            raise PmmError(_("{file}: not a saved verification of this version (no column "
                             "{column!r}); run pmm measure verify --save again").format(
                file=path, column=missing[0]))
        df.select(*like.columns).createOrReplaceTempView(name)
        return ibis.table(like.schema(), name=name)

    def materialise(self, name: str, expr: ir.Table) -> ir.Table:
        from pyspark import StorageLevel

        df = self.spark.sql(compile_sql(expr, self.dialect)).persist(StorageLevel.MEMORY_AND_DISK)
        df.count()  # compute it now, so that what it was built from can be released
        df.createOrReplaceTempView(name)
        self._cached[name] = df
        return ibis.table(expr.schema(), name=name)

    def drop(self, name: str) -> None:
        df = self._cached.pop(name, None)
        if df is not None:
            df.unpersist()
        self.spark.catalog.dropTempView(name)

    def close(self) -> None:
        for df in self._cached.values():
            df.unpersist()
        self._cached.clear()
        for folder in self._staged:
            shutil.rmtree(folder, ignore_errors=True)
        self._staged.clear()


def spark_session(master: str) -> Any:
    """A Spark session set to UTC (reused if one is already running in this process)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise PmmError(_("--engine spark needs pyspark: pip install 'customs-pmm[spark]'")
                       ) from None
    try:
        session = (SparkSession.builder.master(master).appName("pmm-measure")
                   .config("spark.sql.session.timeZone", "UTC")
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.shuffle.partitions", "8")
                   .getOrCreate())
        session.sparkContext.setLogLevel("ERROR")
        return session
    except Exception as exc:  # Java missing, master unreachable, ...
        raise PmmError(_("Spark could not start ({error}); check Java 17 and --spark-master")
                       .format(error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                       ) from None
