"""A verified folder's declaration table, saved beside the data so that later runs skip checking.

`pmm measure verify DIR --save` writes `DIR/.pmm-verified.duckdb`: the `facts` table (one row per
declaration, the result of the one costly pass over the events) and the verification report,
under a fingerprint of the files (name, size, modification time) and of pmm's version. `trs` and
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

from pmm.errors import PmmError
from pmm.i18n import _
from pmm.measure.contract import Source, discover
from pmm.measure.engine import DuckDBEngine, _sql_str
from pmm.measure.verify import Finding, Report

FILE_NAME = ".pmm-verified.duckdb"


def path_of(folder: Path) -> Path:
    return folder / FILE_NAME


def fingerprint(folder: Path, sources: dict[str, Source]) -> str:
    """What must be unchanged for a saved verification to hold: the files and pmm's version."""
    from importlib.metadata import version

    files = [[name, src.format, [[str(p.relative_to(folder)), p.stat().st_size,
                                  p.stat().st_mtime_ns] for p in src.files]]
             for name, src in sorted(sources.items())]
    text = json.dumps([version("customs-pmm"), files], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def save(engine: DuckDBEngine, folder: Path, sources: dict[str, Source], report: Report) -> Path:
    """Write the engine's `facts` and the report beside the data (replacing an older copy)."""
    import duckdb

    final = path_of(folder)
    tmp = final.with_name(final.name + ".part")
    tmp.unlink(missing_ok=True)
    old_umask = os.umask(0o077)  # DuckDB creates the file: owner-only from the first byte
    try:
        con = engine.con
        con.execute(f"ATTACH {_sql_str(str(tmp))} AS pmm_saved")
        con.execute("CREATE TABLE pmm_saved.facts AS SELECT * FROM facts")
        con.execute("CREATE TABLE pmm_saved.verification (fingerprint VARCHAR, saved VARCHAR, "
                    "report VARCHAR)")
        con.execute("INSERT INTO pmm_saved.verification VALUES (?, ?, ?)",
                    [fingerprint(folder, sources), dt.datetime.now(dt.UTC).isoformat(),
                     json.dumps(_report_dict(report))])
        con.execute("DETACH pmm_saved")
        tmp.replace(final)
    except (duckdb.Error, OSError) as exc:
        engine.con.execute("DETACH DATABASE IF EXISTS pmm_saved")
        tmp.unlink(missing_ok=True)
        raise PmmError(_("{folder}: cannot save the verification there ({error})").format(
            folder=folder, error=str(exc).splitlines()[0])) from None
    finally:
        os.umask(old_umask)
    return final


def load(engine: DuckDBEngine, folder: Path) -> tuple[Report, dict[str, Source], str] | None:
    """The saved report, the sources and the time of saving, with `facts` bound on the engine;
    None when nothing is saved or the files changed since."""
    import duckdb

    path = path_of(folder)
    if not path.is_file():
        return None
    sources, problems = discover(folder)
    if problems:
        return None
    try:
        engine.con.execute(f"ATTACH {_sql_str(str(path))} AS pmm_saved (READ_ONLY)")
    except duckdb.Error:
        return None  # not a saved verification we can read: verify the folder again
    try:
        row = engine.con.execute(
            "SELECT fingerprint, saved, report FROM pmm_saved.verification").fetchone()
        if row is None or row[0] != fingerprint(folder, sources):
            engine.con.execute("DETACH pmm_saved")
            return None
        engine.con.execute("CREATE TEMP VIEW facts AS SELECT * FROM pmm_saved.facts")
    except duckdb.Error:
        return None
    return _report_from(folder, json.loads(row[2])), sources, row[1]


def _report_dict(report: Report) -> dict:
    return {"rows": report.rows,
            "findings": [[f.kind, f.count, f.examples] for f in report.findings.values()]}


def _report_from(folder: Path, data: dict) -> Report:
    report = Report(folder, rows=dict(data["rows"]))
    for kind, count, examples in data["findings"]:
        report.findings[kind] = Finding(kind, count, list(examples))
    return report
