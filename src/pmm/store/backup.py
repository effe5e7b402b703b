"""`pmm db backup` / `pmm db restore`: a logical, portable, byte-reproducible copy of everything.

The file is gzip-compressed JSON lines: a header (format, schema revision), then for each table
a line naming its columns followed by one line per row, in primary-key order. Values are written
by column type (timestamps as ISO 8601 UTC, file contents as base64, floats in their shortest
exact form), so a backup restored into a new database, SQLite or PostgreSQL, and backed up again
gives the same bytes. Restore writes into an empty database only, in one transaction: nothing that
exists is ever overwritten.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Date, Double, Integer, LargeBinary, func, insert, select, text
from sqlalchemy.orm import Session

from pmm.errors import PmmError
from pmm.i18n import _
from pmm.store.engine import display_url, get_engine, resolve_url
from pmm.store.migrate import current, head, upgrade
from pmm.store.models import Base, UTCDateTime

FORMAT = "customs-pmm-backup"
FORMAT_VERSION = 1


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


def _decode(column_type: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column_type, UTCDateTime):
        return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    if isinstance(column_type, Date):
        return dt.date.fromisoformat(value)
    if isinstance(column_type, LargeBinary):
        return base64.b64decode(value)
    if isinstance(column_type, Double):
        return float(value)
    if isinstance(column_type, Boolean):
        return bool(value)
    if isinstance(column_type, Integer):
        return int(value)
    return value


def backup(path: Path, url: str | None = None) -> dict[str, int]:
    """Write every table to `path`; returns the row count per table."""
    engine = get_engine(url)
    revision = current(engine)
    if revision is None:
        raise PmmError(_("The database {url} is not initialised: nothing to back up.").format(
            url=display_url(resolve_url(url))))
    counts: dict[str, int] = {}
    tmp = path.with_name(path.name + ".part")
    # One read transaction, so the copy is consistent even while others write.
    with engine.connect() as conn, conn.begin(), open(tmp, "wb") as raw, gzip.GzipFile(
            filename="", mode="wb", fileobj=raw, mtime=0) as out:
        def line(obj: Any) -> None:
            out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")

        line({"format": FORMAT, "version": FORMAT_VERSION, "schema": revision})
        for table in Base.metadata.sorted_tables:
            columns = list(table.columns)
            line({"table": table.name, "columns": [c.name for c in columns]})
            query = select(*columns).order_by(*table.primary_key.columns)
            n = 0
            for row in conn.execute(query):
                line([_encode(c.type, v) for c, v in zip(columns, row, strict=True)])
                n += 1
            counts[table.name] = n
    tmp.replace(path)
    return counts


def restore(path: Path, url: str | None = None) -> dict[str, int]:
    """Load a backup into an empty database (created or upgraded as needed), all or nothing."""
    try:
        with gzip.open(path, "rb") as fh:
            lines = fh.read().splitlines()
        header = json.loads(lines[0]) if lines else {}
    except (OSError, EOFError, ValueError) as exc:
        raise PmmError(_("{file}: not a customs-pmm backup ({error})").format(
            file=path, error=exc)) from None
    if header.get("format") != FORMAT or header.get("version") != FORMAT_VERSION:
        raise PmmError(_("{file}:1: not a customs-pmm backup of format version {v}").format(
            file=path, v=FORMAT_VERSION))
    engine = get_engine(url)
    schema = header.get("schema")
    found = current(engine)
    if found is None:
        upgrade(url, schema)
    elif found != schema:
        raise PmmError(_("The database {url} is at schema {found}, the backup at {schema}: "
                         "restore into a new database.").format(
            url=display_url(resolve_url(url)), found=found, schema=schema))
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    counts: dict[str, int] = {}
    with Session(engine) as session, session.begin():
        for table in tables.values():
            if session.execute(select(func.count()).select_from(table)).scalar_one():
                raise PmmError(_("The database {url} already holds data (table {table}): "
                                 "restore into a new, empty database.").format(
                    url=display_url(resolve_url(url)), table=table.name))
        table = None
        columns: list[Any] = []
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            if table is not None and batch:
                session.execute(insert(table), batch)
                batch.clear()

        for number, raw in enumerate(lines[1:], start=2):
            obj = json.loads(raw)
            if isinstance(obj, dict):
                flush()
                table = tables.get(obj.get("table", ""))
                if table is None:
                    raise PmmError(_("{file}:{line}: unknown table {name!r}").format(
                        file=path, line=number, name=obj.get("table")))
                columns = [table.columns[name] for name in obj["columns"]]
                counts[table.name] = 0
            else:
                if table is None:
                    raise PmmError(_("{file}:{line}: a row before any table").format(
                        file=path, line=number))
                batch.append({c.name: _decode(c.type, v) for c, v in zip(columns, obj,
                                                                         strict=True)})
                counts[table.name] += 1
                if len(batch) >= 5000:
                    flush()
        flush()
        if engine.dialect.name == "postgresql":
            # Rows came with their ids: move each id sequence past the highest one.
            for t in tables.values():
                pk = list(t.primary_key.columns)
                if len(pk) == 1 and isinstance(pk[0].type, Integer) and pk[0].autoincrement:
                    session.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{t.name}', '{pk[0].name}'), "
                        f"COALESCE((SELECT MAX({pk[0].name}) FROM {t.name}), 0) + 1, false)"))
    if schema != head():
        upgrade(url)
    return counts
