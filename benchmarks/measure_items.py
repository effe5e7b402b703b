"""Benchmark of `pmm measure items` (not a test).

For each size (declarations over two years, made by `pmm measure generate`, about 7.8 events per
declaration), runs in the same script, each in a fresh child process so that peak memory is the
child's own (`ru_maxrss`):

- `pmm`: `pmm measure items DIR --year T --out FILE` on a folder never verified before: every
  check of `pmm measure verify` runs first;
- `pmm-saved`: the same command after `pmm measure verify DIR --save` (timed apart as `save`):
  the verified declaration table is read back and only the measuring runs, as when an
  administration verifies its extract once and then measures from it;
- `sql`: one hand-written DuckDB SQL script computing the same items, with no verification: the
  practical limit of an expert writing SQL by hand for this one job;
- `pandas`: a straightforward pandas implementation of the same items.

It prints the median time of the repeats, the peak resident memory, the ratios to `pmm`, the
share of `pmm`'s time spent verifying, and checks that the three give the same values.

    .venv/bin/python benchmarks/measure_items.py --sizes 1000000,10000000 [--repeats 3]
        [--data-dir DIR] [--no-pandas-above N] [--pandas-repeats N] [--memory-limit 6GB]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from pmm.measure.saved import FILE_NAME

YEAR = 2024
HOURS = ("release_time_mean_h", "release_time_median_h", "release_time_p90_h")
CATEGORIES = ("drugs", "alcohol", "tobacco", "counterfeit", "weapons", "cites", "currency",
              "other")


# --- the contenders (each runs in a child process) --------------------------------------------

def run_pmm(folder: Path, out: Path, memory_limit: str | None) -> dict:
    from pmm.measure import items
    from pmm.measure.microdata import Microdata

    marks: list[tuple[str, float]] = []
    start = time.perf_counter()
    with Microdata(folder, memory_limit=memory_limit,
                   step=lambda m: marks.append((m, time.perf_counter() - start))) as md:
        verified = time.perf_counter() - start
        rows = items.measure(md, YEAR)
    items.write_csv(rows, out)
    return {"verify_s": verified}


def run_save(folder: Path, out: Path, memory_limit: str | None) -> dict:
    from pmm.measure.verify import verify

    assert verify(folder, memory_limit=memory_limit, save=True).ok
    return {}


SQL = """
SET TimeZone = 'UTC';
CREATE TEMP TABLE aeo AS SELECT trader_id, valid_from, valid_to FROM read_parquet('{d}/aeo/*');
CREATE TEMP TABLE d AS
WITH ev AS (
    SELECT declaration_id,
           min(ts) FILTER (WHERE milestone = 'arrival')   AS arrival,
           min(ts) FILTER (WHERE milestone = 'lodgement') AS lodgement,
           min(ts) FILTER (WHERE milestone = 'release')   AS release
    FROM read_parquet('{d}/events/*')
    WHERE milestone IN ('arrival', 'lodgement', 'release')
    GROUP BY declaration_id
)
SELECT x.flow, x.transport_mode, x.electronic, x.ecommerce, x.customs_value,
       x.duties_assessed + x.taxes_assessed AS revenue,
       make_timestamp(epoch_us(ev.arrival)) AS arrival,
       make_timestamp(epoch_us(ev.lodgement)) AS lodgement,
       make_timestamp(epoch_us(ev.release)) AS release,
       a.trader_id IS NOT NULL AS aeo
FROM read_parquet('{d}/declarations/*') x
JOIN ev USING (declaration_id)
LEFT JOIN aeo a ON a.trader_id = x.trader_id
    AND a.valid_from <= CAST(make_timestamp(epoch_us(ev.lodgement)) AS DATE)
    AND (a.valid_to IS NULL OR a.valid_to >= CAST(make_timestamp(epoch_us(ev.lodgement)) AS DATE));

SELECT year(lodgement) AS year, flow, count(*) AS declarations,
       count(*) FILTER (WHERE electronic) AS declarations_electronic,
       count(*) FILTER (WHERE ecommerce) AS ecommerce_shipments,
       sum(customs_value) FILTER (WHERE flow IN ('IM', 'EX')) AS trade_value,
       sum(customs_value) FILTER (WHERE flow IN ('IM', 'EX') AND aeo) AS trade_value_aeo,
       sum(revenue) AS revenue_assessed,
       count(*) FILTER (WHERE flow = 'IM' AND lodgement < arrival) AS prearrival_lodgements
FROM d WHERE year(lodgement) IN ({t1}, {t}) GROUP BY ALL;

WITH r AS (
    SELECT year(release) AS year, transport_mode,
           greatest(date_diff('microsecond', arrival, release), 0) / 3600e6 AS h
    FROM d WHERE flow = 'IM' AND year(release) IN ({t1}, {t}) AND arrival IS NOT NULL
)
SELECT year, transport_mode, avg(h) AS mean_h, quantile_cont(h, [0.5, 0.9]) AS q
FROM r GROUP BY GROUPING SETS ((year), (year, transport_mode));

SELECT year, count(*) FILTER (WHERE control_type = 'physical') AS physical_controls,
       count(*) FILTER (WHERE control_type = 'physical' AND result <> 'no_finding')
           AS physical_controls_with_findings,
       count(*) FILTER (WHERE control_type = 'pca') AS pca_audits,
       count(*) FILTER (WHERE control_type = 'pca' AND result <> 'no_finding')
           AS pca_audits_with_findings,
       coalesce(sum(additional_revenue) FILTER (WHERE control_type = 'pca'), 0)
           AS pca_additional_revenue
FROM read_parquet('{d}/controls/*') WHERE year IN ({t1}, {t}) GROUP BY year;

SELECT year(date) AS year, category, count(*) AS n
FROM read_parquet('{d}/seizures/*') WHERE year(date) IN ({t1}, {t}) GROUP BY ALL;

SELECT y AS year, count(DISTINCT trader_id) AS aeo_count
FROM aeo, (VALUES ({t1}), ({t})) v(y)
WHERE valid_from <= make_date(y, 12, 31) AND (valid_to IS NULL OR valid_to >= make_date(y, 12, 31))
GROUP BY y;
"""


def run_sql(folder: Path, out: Path, memory_limit: str | None) -> dict:
    import duckdb

    con = duckdb.connect()
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    script = SQL.format(d=folder, t=YEAR, t1=YEAR - 1)
    results = []
    for stmt in (s.strip() for s in script.split(";")):
        if stmt.upper().startswith(("SELECT", "WITH")):
            results.append(con.sql(stmt).fetchall())
        elif stmt:
            con.sql(stmt)
    lodged, release, controls, seizures, aeo = results[-5:]
    rows: dict[tuple, str | None] = {}
    for y, flow, *vals in lodged:
        names = ("declarations", "declarations_electronic", "ecommerce_shipments",
                 "trade_value", "trade_value_aeo", "revenue_assessed", "prearrival_lodgements")
        for name, v in zip(names, vals, strict=True):
            rows[(name, y, f"flow={flow}")] = v
    _write_totals(rows, out, release, controls, seizures, aeo)
    return {}


def run_pandas(folder: Path, out: Path, memory_limit: str | None) -> dict:
    import numpy as np
    import pandas as pd

    def read(name: str, columns: list[str] | None = None) -> pd.DataFrame:
        return pd.read_parquet(folder / name, columns=columns)

    ev = read("events")
    ev = ev[ev.milestone.isin(["arrival", "lodgement", "release"])]
    wide = ev.pivot_table(index="declaration_id", columns="milestone", values="ts",
                          aggfunc="min", observed=True)
    del ev
    d = read("declarations").merge(wide, left_on="declaration_id", right_index=True)
    del wide
    for c in ("arrival", "lodgement", "release"):
        d[c] = d[c].dt.tz_convert("UTC")
    aeo = read("aeo")
    d["day"] = d.lodgement.dt.tz_localize(None).dt.normalize()
    m = d[["declaration_id", "trader_id", "day"]].merge(aeo, on="trader_id")
    vf = pd.to_datetime(m.valid_from)
    vt = pd.to_datetime(m.valid_to)
    held = m[(vf <= m.day) & (vt.isna() | (vt >= m.day))]
    d["aeo"] = d.declaration_id.isin(held.declaration_id)
    d["year"] = d.lodgement.dt.year
    d["revenue"] = d.duties_assessed.astype(float) + d.taxes_assessed.astype(float)
    d["value"] = d.customs_value.astype(float)
    rows: dict[tuple, object] = {}
    for (y, flow), g in d[d.year.isin([YEAR - 1, YEAR])].groupby(["year", "flow"]):
        trade = flow in ("IM", "EX")
        rows[("declarations", y, f"flow={flow}")] = len(g)
        rows[("declarations_electronic", y, f"flow={flow}")] = int(g.electronic.sum())
        rows[("ecommerce_shipments", y, f"flow={flow}")] = int(g.ecommerce.sum())
        rows[("trade_value", y, f"flow={flow}")] = g.value.sum() if trade else None
        rows[("trade_value_aeo", y, f"flow={flow}")] = g.value[g.aeo].sum() if trade else None
        rows[("revenue_assessed", y, f"flow={flow}")] = g.revenue.sum()
        rows[("prearrival_lodgements", y, f"flow={flow}")] = int(
            (g.lodgement < g.arrival).sum()) if flow == "IM" else 0
    im = d[d.flow == "IM"].copy()
    im["ryear"] = im.release.dt.year
    im["h"] = ((im.release - im.arrival).dt.total_seconds() / 3600).clip(lower=0)
    im = im[im.ryear.isin([YEAR - 1, YEAR]) & im.h.notna()]
    release = []
    for y, g in im.groupby("ryear"):
        release.append((y, None, g.h.mean(), list(np.quantile(g.h, [0.5, 0.9]))))
        for mode, gm in g.groupby("transport_mode"):
            release.append((y, mode, gm.h.mean(), list(np.quantile(gm.h, [0.5, 0.9]))))
    c = read("controls")
    controls = []
    for y in (YEAR - 1, YEAR):
        cy = c[c.year == y]
        found = cy.result != "no_finding"
        phys, pca = cy.control_type == "physical", cy.control_type == "pca"
        controls.append((y, int(phys.sum()), int((phys & found).sum()), int(pca.sum()),
                         int((pca & found).sum()), cy.additional_revenue[pca].astype(float).sum()))
    s = read("seizures")
    s["year"] = pd.to_datetime(s.date).dt.year
    seizures = [(y, cat, n) for (y, cat), n in s.groupby(["year", "category"]).size().items()
                if y in (YEAR - 1, YEAR)]
    aeo_rows = []
    for y in (YEAR - 1, YEAR):
        day = dt.date(y, 12, 31)
        held = aeo[(aeo.valid_from <= day) & (aeo.valid_to.isna() | (aeo.valid_to >= day))]
        aeo_rows.append((y, held.trader_id.nunique()))
    _write_totals(rows, out, release, controls, seizures, aeo_rows)
    return {}


def _write_totals(rows: dict, out: Path, release: list, controls: list, seizures: list,
                  aeo: list) -> None:
    """Per-flow figures plus totals, in a simple CSV (data_item, year, breakdown, value)."""
    totals: dict[tuple, float] = {}
    for (name, y, _bd), v in rows.items():
        if v is not None:
            totals[(name, y, "")] = totals.get((name, y, ""), 0) + float(v)
    rows.update(totals)
    for y, mode, mean, q in release:
        bd = "" if mode is None else f"transport_mode={int(mode)}"
        rows[("release_time_mean_h", y, bd)] = mean
        rows[("release_time_median_h", y, bd)] = q[0]
        rows[("release_time_p90_h", y, bd)] = q[1]
    names = ("physical_controls", "physical_controls_with_findings", "pca_audits",
             "pca_audits_with_findings", "pca_additional_revenue")
    for y, *vals in controls:
        for name, v in zip(names, vals, strict=True):
            rows[(name, y, "")] = v
    for y, cat, n in seizures:
        rows[("seizures", y, f"category={cat}")] = n
        rows[("seizures", y, "")] = rows.get(("seizures", y, ""), 0) + n
    for y, n in aeo:
        rows[("aeo_count", y, "")] = n
    with out.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["data_item", "year", "breakdown", "value"])
        for (name, y, bd), v in sorted(rows.items(), key=str):
            w.writerow([name, int(y), bd, "" if v is None else v])


CONTENDERS = {"pmm": run_pmm, "save": run_save, "pmm-saved": run_pmm, "sql": run_sql,
              "pandas": run_pandas}


def child(name: str, folder: Path, out: Path, memory_limit: str | None) -> None:
    start = time.perf_counter()
    extra = CONTENDERS[name](folder, out, memory_limit)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, **extra}))


# --- the driver ----------------------------------------------------------------------------------

def values(path: Path) -> dict[tuple, float]:
    with path.open(encoding="utf-8") as fh:
        return {(r["data_item"], int(r["year"]), r["breakdown"]): float(Decimal(r["value"]))
                for r in csv.DictReader(fh) if r["value"] != "" and r["data_item"]}


def agree(reference: dict[tuple, float], other: dict[tuple, float]) -> str:
    """Compare the values both files hold (relative tolerance 1e-6: pandas sums floats)."""
    common = [k for k in other if k in reference]
    diffs = [k for k in common if abs(reference[k] - other[k]) > 1e-6 * max(1.0, abs(other[k]))]
    if diffs or len(common) < 0.8 * len(reference):
        return f"DIFFER on {len(diffs)} of {len(common)} values, e.g. {diffs[:3]}"
    return f"same values ({len(common)} of pmm's {len(reference)} compared)"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000000,10000000")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--data-dir", type=Path, default=Path("/tmp/pmm-measure-bench"))
    p.add_argument("--no-pandas-above", type=int, default=10_000_000)
    p.add_argument("--pandas-repeats", type=int, default=None,
                   help="Repeats for pandas at sizes above 1 million (default: --repeats).")
    p.add_argument("--memory-limit", default=None, help="DuckDB memory limit for pmm and sql.")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, args.folder, args.out, args.memory_limit)
        return
    args.data_dir.mkdir(parents=True, exist_ok=True)
    print(f"pmm measure items, year {YEAR} (and {YEAR - 1}); {os.cpu_count()} cores; "
          f"medians of {args.repeats} runs; each run a fresh process")
    for n in (int(s) for s in args.sizes.split(",")):
        folder = args.data_dir / f"decl{n}"
        if not (folder / "aeo").is_dir():  # written last: the folder is complete
            from pmm.measure.generate import generate

            shutil.rmtree(folder, ignore_errors=True)
            t = time.perf_counter()
            generate(n, YEAR, folder)
            print(f"generated {n:,} declarations in {time.perf_counter() - t:.1f} s")
        events = sum(f.stat().st_size for f in (folder / "events").iterdir())
        print(f"\n{n:,} declarations ({events / 2**20:,.0f} MiB of events Parquet)")
        results: dict[str, dict] = {}
        names = [c for c in CONTENDERS if c != "pandas" or n <= args.no_pandas_above]
        saved_copy = folder / FILE_NAME
        saved_copy.unlink(missing_ok=True)  # `pmm` must verify
        for name in names:
            runs = []
            repeats = 1 if name == "save" else args.repeats
            if name == "pandas" and n > 1_000_000 and args.pandas_repeats:
                repeats = args.pandas_repeats
            for _ in range(repeats):
                out = args.data_dir / f"out-{name}-{n}.csv"
                proc = subprocess.run(
                    [sys.executable, __file__, "--child", name, "--folder", str(folder),
                     "--out", str(out), *(["--memory-limit", args.memory_limit]
                                          if args.memory_limit else [])],
                    capture_output=True, text=True, env=_env())
                if proc.returncode != 0:
                    print(f"  {name}: failed ({proc.stderr.strip().splitlines()[-1:]})")
                    break
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            if runs and name == "save":
                results[name] = {"seconds": runs[0]["seconds"], "peak_mb": runs[0]["peak_mb"]}
            elif runs:
                results[name] = {
                    "seconds": statistics.median(r["seconds"] for r in runs),
                    "peak_mb": max(r["peak_mb"] for r in runs),
                    "verify_s": statistics.median(r.get("verify_s", 0) for r in runs),
                    "values": values(args.data_dir / f"out-{name}-{n}.csv"),
                }
        base = results.get("pmm")
        print(f"  {'contender':<8} {'median s':>9} {'peak MiB':>9} {'time / pmm':>11}")
        for name, r in results.items():
            ratio = r["seconds"] / base["seconds"] if base else float("nan")
            print(f"  {name:<8} {r['seconds']:>9.2f} {r['peak_mb']:>9.0f} {ratio:>11.2f}")
        if base:
            print(f"  pmm spent {base['verify_s']:.2f} s verifying "
                  f"({100 * base['verify_s'] / base['seconds']:.0f}%) and "
                  f"{base['seconds'] - base['verify_s']:.2f} s measuring")
            if "sql" in results:
                sql_s = results["sql"]["seconds"]
                print(f"  pmm / hand-written SQL: {base['seconds'] / sql_s:.2f}x (measuring "
                      f"only: {(base['seconds'] - base['verify_s']) / sql_s:.2f}x)")
            if "pandas" in results:
                print(f"  pandas / pmm: {results['pandas']['seconds'] / base['seconds']:.1f}x")
            for name in ("sql", "pandas"):
                if name in results:
                    print(f"  {name} vs pmm: {agree(base['values'], results[name]['values'])}")
            if "pmm-saved" in results and "sql" in results:
                warm = results["pmm-saved"]
                print(f"  pmm-saved / hand-written SQL: {warm['seconds'] / sql_s:.2f}x; "
                      f"{warm['seconds']:.2f} s against {results['save']['seconds']:.2f} s to "
                      "verify and save once")
                print(f"  pmm-saved vs pmm: {agree(base['values'], warm['values'])}")
        saved_copy.unlink(missing_ok=True)


def _env() -> dict[str, str]:
    """Children import from src/ and may cache bytecode, as an installed package does."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}


if __name__ == "__main__":
    main()
