"""A verified folder's declaration table, saved beside the data so that later runs skip checking.

`pmm measure verify DIR --save` writes `DIR/.pmm-verified.parquet`: the `facts` table (one row
per declaration, the result of the one costly pass over the events), with the verification report
and a fingerprint of the files (name, size, modification time) and of pmm's version in its
key-value metadata. Parquet, not a DuckDB file: DuckDB writes it twice as fast. `trs` and
`items` then open the saved table while the fingerprint matches, and verify the folder again
otherwise: a changed, added or removed file is never measured unverified.

The file holds declaration-level data, as confidential as the microdata it comes from: it is kept
in the microdata folder (so it shares the folder's access controls), readable by its owner only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import pmm
from pmm.errors import PmmError
from pmm.i18n import _
from pmm.measure import queries as Q
from pmm.measure.contract import Source, discover
from pmm.measure.engine import DuckDBEngine, sql_literal
from pmm.measure.report import Finding, Report

FILE_NAME = ".pmm-verified.parquet"


def path_of(folder: Path) -> Path:
    return folder / FILE_NAME


def fingerprint(folder: Path, sources: dict[str, Source]) -> str:
    """What must be unchanged for a saved verification to hold: the files, pmm's version and
    the shape of the saved table."""
    files = [[name, src.format, [[str(p.relative_to(folder)), p.stat().st_size,
                                  p.stat().st_mtime_ns] for p in src.files]]
             for name, src in sorted(sources.items())]
    shape = str(Q.facts_table(sources).schema())
    text = json.dumps([pmm.__version__, shape, files], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def save(engine: DuckDBEngine, folder: Path, sources: dict[str, Source], report: Report) -> Path:
    """Write the engine's `facts` and the report beside the data (replacing an older copy)."""
    import duckdb

    final = path_of(folder)
    tmp = final.with_name(final.name + ".part")
    meta = {"fingerprint": fingerprint(folder, sources),
            "saved": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "report": json.dumps(_report_dict(report))}
    kv = ", ".join(f"{k}: {sql_literal(v)}" for k, v in meta.items())
    old_umask = os.umask(0o077)  # DuckDB creates the file: owner-only from the first byte
    try:
        engine.con.execute(f"COPY facts TO {sql_literal(str(tmp))} "
                           f"(FORMAT parquet, COMPRESSION snappy, KV_METADATA {{{kv}}})")
        tmp.replace(final)
    except (duckdb.Error, OSError) as exc:
        if tmp.is_file():
            tmp.unlink()
        raise PmmError(_("{folder}: cannot save the verification there ({error})").format(
            folder=folder, error=str(exc).splitlines()[0])) from None
    finally:
        os.umask(old_umask)
    return final


def load(engine: DuckDBEngine, folder: Path) -> tuple[Report, dict[str, Source], str] | None:
    """The saved report, the sources and the time of saving, with `facts` bound on the engine;
    None when nothing is saved or the files changed since (the folder is then verified)."""
    import duckdb

    path = path_of(folder)
    if not path.is_file():
        return None
    sources, problems = discover(folder)
    if problems:
        return None
    try:
        meta = {k.decode(): v.decode() for k, v in engine.con.execute(
            f"SELECT key, value FROM parquet_kv_metadata({sql_literal(str(path))})").fetchall()}
    except (duckdb.Error, UnicodeDecodeError):
        return None  # not a saved verification we can read
    if meta.get("fingerprint") != fingerprint(folder, sources) or "report" not in meta:
        return None
    engine.con.execute(f"CREATE OR REPLACE TEMP VIEW facts AS SELECT * FROM "
                       f"read_parquet({sql_literal(str(path))})")
    return _report_from(folder, json.loads(meta["report"])), sources, meta["saved"]


def _report_dict(report: Report) -> dict:
    return {"rows": report.rows,
            "findings": [[f.kind, f.count, f.examples] for f in report.findings.values()]}


def _report_from(folder: Path, data: dict) -> Report:
    report = Report(folder, rows=dict(data["rows"]))
    for kind, count, examples in data["findings"]:
        report.findings[kind] = Finding(kind, count, list(examples))
    return report
