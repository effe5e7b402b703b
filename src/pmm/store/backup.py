"""`pmm db backup` / `verify` / `restore`: a logical, portable, byte-reproducible copy of
everything, which proves itself whole before anything is written.

The file is gzip-compressed JSON lines: a header (format, format version, schema revision), then
for each table a line naming its columns followed by one line per row, in primary-key order, and
last a manifest: the row count and SHA-256 digest of each table's lines and the digest of every
line before the manifest. Values are written by column type (timestamps as ISO 8601 UTC, file
contents as base64, floats in their shortest exact form), so a backup restored into a new
database, SQLite or PostgreSQL, and backed up again gives the same bytes.

Restore reads the whole file first (`verify`): a file cut short (even exactly at a line end, which
is still valid gzip), altered or malformed is refused with its line before the database is even
opened. Then, in one transaction, it creates the schema if needed, loads every row and brings the
schema to the newest revision, into an empty database only: a refused or failed restore leaves
the target as it was (no empty schema behind), and nothing that exists is ever overwritten.
Format version 1 (before manifests) cannot prove itself whole and is refused.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import gzip
import hashlib
import json
import sqlite3
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    Double,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from pmm.errors import PmmError
from pmm.i18n import _
from pmm.store.engine import display_url, get_engine, resolve_url
from pmm.store.migrate import current, head, upgrade_on
from pmm.store.models import Base, UTCDateTime

FORMAT = "customs-pmm-backup"
FORMAT_VERSION = 2
BATCH = 5000


def _encode(column_type: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column_type, UTCDateTime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(column_type, Date):
        return value.isoformat()
    if isinstance(column_type, LargeBinary):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(column_type, Double):
        return float(value)
    return value


def _decode(column: Column, value: Any) -> Any:
    """The database value of a JSON value; ValueError (with what was expected) if malformed."""
    kind = column.type
    if value is None:
        if not column.nullable:
            raise ValueError(_("a value (the column cannot be empty)"))
        return None
    try:
        if isinstance(kind, UTCDateTime):
            return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
        if isinstance(kind, Date):
            return dt.date.fromisoformat(value)
        if isinstance(kind, LargeBinary):
            return base64.b64decode(value, validate=True)
    except (TypeError, ValueError, binascii.Error):
        pass
    else:
        if isinstance(kind, Double) and isinstance(value, int | float) and not isinstance(
                value, bool):
            return float(value)
        if isinstance(kind, Boolean) and isinstance(value, bool):
            return value
        if isinstance(kind, Integer) and isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(kind, String | Text) and isinstance(value, str):
            return value
    expected = {UTCDateTime: _("a UTC timestamp YYYY-MM-DDTHH:MM:SS.ffffffZ"),
                Date: _("a date YYYY-MM-DD"), LargeBinary: _("base64 text"),
                Double: _("a number"), Boolean: _("true or false"), Integer: _("a whole number")}
    raise ValueError(next((text for t, text in expected.items() if isinstance(kind, t)),
                          _("text")))


def _json_line(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


# Tables of derived data, made again on demand from the rest (rendered page fragments): not
# backed up, so a backup holds data, not caches, and a restore starts with them empty.
CACHES = frozenset({"fragments"})


def _saved() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables if t.name not in CACHES]


def backup(path: Path, url: str | None = None) -> dict[str, int]:
    """Write every table to `path`; returns the row count per table."""
    engine = get_engine(url)
    revision = current(engine)
    if revision is None:
        raise PmmError(_("The database {url} is not initialised: nothing to back up.").format(
            url=display_url(resolve_url(url))))
    tables: dict[str, dict[str, Any]] = {}
    whole = hashlib.sha256()
    tmp = path.with_name(path.name + ".part")
    try:
        # One read transaction on one snapshot, so the copy is consistent even while others
        # write: SQLite's BEGIN IMMEDIATE holds writers off; PostgreSQL's default (READ
        # COMMITTED) would give each table's SELECT a newer snapshot, REPEATABLE READ does not.
        snapshot = {"isolation_level": "REPEATABLE READ"} if (
            engine.dialect.name == "postgresql") else {}
        with engine.connect().execution_options(**snapshot) as conn, conn.begin(), open(
                tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                 mtime=0) as out:
            def write(data: bytes, digest: Any = None) -> None:
                out.write(data)
                whole.update(data)
                if digest is not None:
                    digest.update(data)

            write(_json_line({"format": FORMAT, "version": FORMAT_VERSION, "schema": revision}))
            for table in _saved():
                columns = list(table.columns)
                digest = hashlib.sha256()
                write(_json_line({"table": table.name, "columns": [c.name for c in columns]}),
                      digest)
                query = select(*columns).order_by(*table.primary_key.columns)
                n = 0
                for row in conn.execute(query):
                    write(_json_line([_encode(c.type, v) for c, v in zip(columns, row,
                                                                         strict=True)]), digest)
                    n += 1
                tables[table.name] = {"rows": n, "sha256": digest.hexdigest()}
            out.write(_json_line({"manifest": {
                "format": FORMAT, "version": FORMAT_VERSION, "schema": revision,
                "tables": tables, "rows": sum(t["rows"] for t in tables.values()),
                "sha256": whole.hexdigest()}}))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return {name: t["rows"] for name, t in tables.items()}


@dataclass
class Verified:
    """What a whole backup holds (its manifest, checked against every line)."""

    schema: str
    counts: dict[str, int] = field(default_factory=dict)
    sha256: str = ""


@dataclass
class _Table:
    table: Table
    columns: list[Column]
    first: int  # line of its column list
    rows: int = 0
    digest: Any = field(default_factory=hashlib.sha256)


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """The file's lines, numbered from 1; a damaged or cut gzip stream is an error here."""
    number = 0
    try:
        with gzip.open(path, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                yield number, raw
    except (OSError, EOFError, zlib.error) as exc:
        if number == 0:
            raise PmmError(_("{file}: not a customs-pmm backup (not a readable gzip file: "
                             "{error})").format(file=path, error=exc)) from None
        raise PmmError(_("{file}:{line}: the file is cut short or damaged after this line "
                         "({error}): the backup is incomplete. Nothing was restored.").format(
            file=path, line=number + 1, error=exc)) from None


def _records(path: Path, verified: Verified | None = None
             ) -> Iterator[tuple[_Table, int, dict[str, Any]]]:
    """Every row of the backup as (table, line, values), checking each line as it goes and the
    manifest at the end: a PmmError naming the line for anything wrong. `verified` is filled."""
    known = {t.name: t for t in _saved()}
    whole = hashlib.sha256()
    seen: dict[str, _Table] = {}
    current_table: _Table | None = None
    manifest: dict[str, Any] | None = None
    last = 0

    def fail(line: int, message: str) -> PmmError:
        return PmmError(_("{file}:{line}: {problem}. Nothing was restored.").format(
            file=path, line=line, problem=message))

    for number, raw in _lines(path):
        last = number
        if manifest is not None:
            raise fail(number, _("content after the manifest (the last line)"))
        if not raw.endswith(b"\n"):
            raise fail(number, _("the line is cut short: the backup is incomplete"))
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            raise fail(number, _("not valid JSON ({error})").format(error=exc)) from None
        if number == 1:
            verified_schema = _check_header(path, obj)
            if verified is not None:
                verified.schema = verified_schema
            whole.update(raw)
            continue
        if isinstance(obj, dict) and "manifest" in obj:
            manifest = obj["manifest"]
            if not isinstance(manifest, dict):
                raise fail(number, _("the manifest is malformed"))
            continue
        whole.update(raw)
        if isinstance(obj, dict):
            current_table = _start_table(path, number, obj, known, seen, fail)
            current_table.digest.update(raw)
            continue
        if current_table is None:
            raise fail(number, _("a row before any table"))
        current_table.digest.update(raw)
        yield current_table, number, _row(current_table, number, obj, fail)
        current_table.rows += 1
    if manifest is None:
        raise PmmError(_("{file}: the backup ends at line {line} without its manifest: it is "
                         "incomplete (cut short). Nothing was restored.").format(
            file=path, line=last))
    _check_manifest(path, last, manifest, seen, whole.hexdigest(), fail)
    if verified is not None:
        verified.counts = {name: t.rows for name, t in seen.items()}
        verified.sha256 = whole.hexdigest()


def _check_header(path: Path, obj: Any) -> str:
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise PmmError(_("{file}:1: not a customs-pmm backup").format(file=path))
    version = obj.get("version")
    if version != FORMAT_VERSION:
        raise PmmError(_("{file}:1: this backup is of format version {found}; this version of "
                         "customs-pmm restores format version {wanted} only, whose manifest "
                         "proves a backup whole (version 1 had none). Back up the source "
                         "database again with this version.").format(
            file=path, found=version, wanted=FORMAT_VERSION))
    schema = obj.get("schema")
    if not isinstance(schema, str) or not schema:
        raise PmmError(_("{file}:1: the header names no schema revision").format(file=path))
    return schema


def _start_table(path: Path, number: int, obj: dict[str, Any], known: dict[str, Table],
                 seen: dict[str, _Table], fail: Any) -> _Table:
    name = obj.get("table")
    table = known.get(name) if isinstance(name, str) else None
    if table is None:
        raise fail(number, _("unknown table {name!r}").format(name=name))
    if name in seen:
        raise fail(number, _("table {name} appears a second time").format(name=name))
    names = obj.get("columns")
    if not isinstance(names, list) or sorted(map(str, names)) != sorted(table.columns.keys()):
        raise fail(number, _("table {name}: the columns {found} are not the table's "
                             "({wanted})").format(name=name, found=names,
                                                  wanted=", ".join(table.columns.keys())))
    seen[table.name] = _Table(table, [table.columns[n] for n in names], number)
    return seen[table.name]


def _row(current: _Table, number: int, obj: Any, fail: Any) -> dict[str, Any]:
    columns = current.columns
    if not isinstance(obj, list) or len(obj) != len(columns):
        size = len(obj) if isinstance(obj, list) else 1
        raise fail(number, _("a row of table {table} has {found} values, expected {wanted} "
                             "({columns})").format(table=current.table.name, found=size,
                                                   wanted=len(columns),
                                                   columns=", ".join(c.name for c in columns)))
    values = {}
    for column, value in zip(columns, obj, strict=True):
        try:
            values[column.name] = _decode(column, value)
        except ValueError as exc:
            shown = json.dumps(value, ensure_ascii=False)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise fail(number, _("table {table}, column {column}: {value} is not {expected}")
                       .format(table=current.table.name, column=column.name, value=shown,
                               expected=exc)) from None
    return values


def _check_manifest(path: Path, last: int, manifest: dict[str, Any], seen: dict[str, _Table],
                    digest: str, fail: Any) -> None:
    listed = manifest.get("tables")
    if not isinstance(listed, dict):
        raise fail(last, _("the manifest is malformed"))
    for name in listed:
        if name not in seen:
            raise fail(last, _("the manifest lists table {name}, which the file does not "
                               "hold: the backup is incomplete").format(name=name))
    for name, found in seen.items():
        entry = listed.get(name)
        if not isinstance(entry, dict):
            raise fail(found.first, _("table {name} is not in the manifest").format(name=name))
        if entry.get("rows") != found.rows:
            raise fail(found.first, _("table {name}: the manifest says {wanted} rows, the file "
                                      "holds {found}: the backup is incomplete or was "
                                      "altered").format(name=name, wanted=entry.get("rows"),
                                                        found=found.rows))
        if entry.get("sha256") != found.digest.hexdigest():
            raise fail(found.first, _("table {name} (lines {first}-{end}) does not match the "
                                      "manifest's digest: the backup was altered or damaged "
                                      "after it was made").format(
                name=name, first=found.first, end=found.first + found.rows))
    if manifest.get("sha256") != digest:
        raise fail(last, _("the content does not match the manifest's digest: the backup was "
                           "altered or damaged after it was made"))


def verify(path: Path) -> Verified:
    """Read the whole backup and check every line against the manifest (nothing is written)."""
    verified = Verified(schema="")
    for _record in _records(path, verified):
        pass
    return verified


def restore(path: Path, url: str | None = None) -> dict[str, int]:
    """Load a verified backup into an empty database (created or upgraded as needed), all or
    nothing, in one transaction with the schema it creates."""
    verified = verify(path)  # before the database is even opened
    resolved = resolve_url(url)
    where = display_url(resolved)
    created_file = _new_sqlite_file(resolved)
    engine = get_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            found = current(engine, conn)
            if found is None:
                upgrade_on(conn, verified.schema)
            elif found != verified.schema:
                raise PmmError(_("The database {url} is at schema {found}, the backup at "
                                 "{schema}: restore into a new database.").format(
                    url=where, found=found, schema=verified.schema))
            for table in Base.metadata.sorted_tables:
                if conn.execute(select(func.count()).select_from(table)).scalar_one():
                    raise PmmError(_("The database {url} already holds data (table {table}): "
                                     "restore into a new, empty database.").format(
                        url=where, table=table.name))
            _load(path, conn)
            if verified.schema != head():
                upgrade_on(conn, "head")
    except BaseException:
        if created_file is not None:
            engine.dispose()
            if created_file.exists() and _no_schema(created_file):
                created_file.unlink()  # as it was: no file
        raise
    return verified.counts


def _load(path: Path, conn: Connection) -> None:
    table: _Table | None = None
    batch: list[dict[str, Any]] = []
    start = 0

    def flush() -> None:
        if table is None or not batch:
            return
        try:
            conn.execute(insert(table.table), batch)
        except IntegrityError as exc:
            rule = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or str(
                exc.orig).strip().splitlines()[0]
            raise PmmError(_("{file}:{first}-{end}: rows of table {table} break a rule of the "
                             "database ({rule}): the backup was not made by `pmm db backup`. "
                             "Nothing was restored.").format(
                file=path, first=start, end=start + len(batch) - 1, table=table.table.name,
                rule=rule)) from None
        batch.clear()

    # The file is read a second time: checked again line by line, and its digest again at the
    # end, so a file changed since `verify` rolls everything back.
    for owner, number, values in _records(path):
        if owner is not table or len(batch) >= BATCH:
            flush()
            table, start = owner, number
        batch.append(values)
    flush()
    if conn.dialect.name == "postgresql":
        # Rows came with their ids: move each id sequence past the highest one.
        for t in Base.metadata.sorted_tables:
            pk = list(t.primary_key.columns)
            if len(pk) == 1 and isinstance(pk[0].type, Integer) and pk[0].autoincrement:
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{t.name}', '{pk[0].name}'), "
                    f"COALESCE((SELECT MAX({pk[0].name}) FROM {t.name}), 0) + 1, false)"))


def _new_sqlite_file(resolved: str) -> Path | None:
    """The SQLite file a restore would create (None: it exists, or not a plain SQLite file)."""
    parsed = make_url(resolved)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name.startswith(("file:", ":")):
        return None
    file = Path(name)
    return None if file.exists() else file


def _no_schema(file: Path) -> bool:
    """Whether an SQLite file holds nothing (empty, or only the header its first connection
    wrote to switch it to write-ahead logging)."""
    if file.stat().st_size == 0:
        return True
    connection = sqlite3.connect(file)
    try:
        return connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    except sqlite3.DatabaseError:
        return False
    finally:
        connection.close()  # the last connection removes the -wal and -shm files
