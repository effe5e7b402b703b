"""The microdata contract: which tables, columns, types and values `pmm measure` accepts.

One source for the contract of DESIGN.md ("Microdata contract"): the verifier, the readers of both
engines, the generator and the documentation all read these specs, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Kind = Literal["string", "int", "bool", "decimal", "timestamp", "date", "enum"]

FLOWS = ("IM", "EX", "TR")
LANES = ("green", "yellow", "red", "blue")
MILESTONES = ("arrival", "lodgement", "registration", "lane_assigned", "inspection_start",
              "inspection_end", "assessment", "payment", "release", "exit")
CONTROL_TYPES = ("documentary", "physical", "non_intrusive", "pca")
CONTROL_RESULTS = ("no_finding", "irregularity", "seizure")
SEIZURE_CATEGORIES = ("drugs", "alcohol", "tobacco", "counterfeit", "weapons", "cites", "currency",
                      "other")
TRANSPORT_MODES = tuple(range(10))

# Canonical SQL types every engine casts to (exact decimals so both engines sum alike).
DECIMAL_SQL = "DECIMAL(18,3)"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = True  # False: the column must exist but a cell may be empty
    values: tuple[str, ...] = ()  # allowed values of an enum
    lo: int | None = None  # bounds of an int
    hi: int | None = None
    nonnegative: bool = False  # for decimals

    def expected(self) -> str:
        """What a valid cell looks like, for messages."""
        if self.kind == "enum":
            return "one of " + ", ".join(self.values)
        if self.kind == "int" and self.lo is not None:
            return f"an integer from {self.lo} to {self.hi}"
        return {
            "string": "a non-empty text",
            "int": "an integer",
            "bool": "true or false",
            "decimal": "a non-negative decimal number" if self.nonnegative else "a decimal number",
            "timestamp": "an ISO 8601 timestamp with a UTC offset, e.g. 2024-03-01T08:30:00+03:00",
            "date": "an ISO 8601 date, e.g. 2024-03-01",
        }[self.kind]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # unique key
    required: bool = True

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("declarations", (
            Column("declaration_id", "string"),
            Column("flow", "enum", values=FLOWS),
            Column("office_code", "string"),
            Column("transport_mode", "int", lo=0, hi=9),
            Column("trader_id", "string"),
            Column("electronic", "bool"),
            Column("ecommerce", "bool"),
            Column("lane", "enum", values=LANES),
            Column("customs_value", "decimal", nonnegative=True),
            Column("duties_assessed", "decimal", nonnegative=True),
            Column("taxes_assessed", "decimal", nonnegative=True),
        ), key=("declaration_id",)),
        Table("events", (
            Column("declaration_id", "string"),
            Column("milestone", "enum", values=MILESTONES),
            Column("ts", "timestamp"),
        ), key=("declaration_id", "milestone")),
        Table("controls", (
            Column("control_id", "string"),
            Column("declaration_id", "string", required=False),
            Column("trader_id", "string"),
            Column("control_type", "enum", values=CONTROL_TYPES),
            Column("year", "int", lo=1900, hi=2999),
            Column("result", "enum", values=CONTROL_RESULTS),
            Column("additional_revenue", "decimal", nonnegative=True),
        ), key=("control_id",), required=False),
        Table("seizures", (
            Column("seizure_id", "string"),
            Column("date", "date"),
            Column("office_code", "string"),
            Column("category", "enum", values=SEIZURE_CATEGORIES),
            Column("quantity", "decimal", nonnegative=True),
            Column("unit", "string"),
        ), key=("seizure_id",), required=False),
        Table("aeo", (
            Column("trader_id", "string"),
            Column("valid_from", "date"),
            Column("valid_to", "date", required=False),
        ), required=False),
    )
}

FORMATS = ("parquet", "csv")


@dataclass(frozen=True)
class Source:
    """The files of one table in a microdata folder, all in one format."""

    table: str
    files: tuple[Path, ...]
    format: Literal["parquet", "csv"]
    #: Parquet date and timestamp columns stored as strings (ISO 8601 text, as many tools write
    #: them): read and checked as CSV cells are
    text: frozenset[str] = frozenset()

    def is_text(self, column: str) -> bool:
        """Whether a column's cells are text to be parsed (every column of a CSV file)."""
        return self.format == "csv" or column in self.text


def discover(folder: Path) -> tuple[dict[str, Source], list[str]]:
    """Find each table's files: `NAME.parquet|csv` or a folder `NAME/` of such parts.

    Returns the sources found and problems (mixed formats, empty part folders); a missing table
    is left to the verifier, which knows whether it is required.
    """
    sources: dict[str, Source] = {}
    problems: list[str] = []
    for name in TABLES:
        found: list[Path] = []
        for fmt in FORMATS:
            single = folder / f"{name}.{fmt}"
            if single.is_file():
                found.append(single)
        part_dir = folder / name
        if part_dir.is_dir():
            found.extend(sorted(p for p in part_dir.iterdir()
                                if p.is_file() and p.suffix.lstrip(".") in FORMATS))
            if not found:
                problems.append(f"{part_dir}: folder holds no .parquet or .csv file")
        if not found:
            continue
        formats = {p.suffix.lstrip(".") for p in found}
        if len(formats) > 1:
            listed = ", ".join(map(str, found))
            problems.append(f"{name}: files in both Parquet and CSV ({listed}); expected one "
                            "format per table")
            continue
        fmt = formats.pop()
        text = _text_columns(TABLES[name], found) if fmt == "parquet" else frozenset()
        sources[name] = Source(name, tuple(found), fmt, text)  # type: ignore[arg-type]
    return sources, problems


def _text_columns(table: Table, files: list[Path]) -> frozenset[str]:
    """The date and timestamp columns that some Parquet file of a table stores as strings.

    Only the files' footers are read; a file that cannot be read is left to the verifier.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    timed = {c.name for c in table.columns if c.kind in ("date", "timestamp")}
    out: set[str] = set()
    for path in files:
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowException, OSError):
            continue
        for name in timed & set(schema.names):
            typ = schema.field(name).type
            if pa.types.is_dictionary(typ):
                typ = typ.value_type
            if pa.types.is_string(typ) or pa.types.is_large_string(typ) or \
                    pa.types.is_string_view(typ):
                out.add(name)
    return frozenset(out)
