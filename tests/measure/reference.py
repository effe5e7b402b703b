"""An independent computation of the data items and TRS figures, in plain pandas and numpy.

Written straight from the definitions in DESIGN.md, reading the files with pandas/pyarrow and
sharing no code with `pmm.measure` (no Ibis, no SQL), so the tests compare two code paths.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

FLOWS = ["IM", "EX", "TR"]
CATEGORIES = ["drugs", "alcohol", "tobacco", "counterfeit", "weapons", "cites", "currency",
              "other"]


def read(folder: Path, name: str) -> pd.DataFrame:
    files = sorted((folder / name).iterdir())
    if files[0].suffix == ".parquet":
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    df = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files],
                   ignore_index=True)
    for col in ("ts",):
        if col in df:
            df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601")
    for col in ("valid_from", "valid_to", "date"):
        if col in df:
            df[col] = pd.to_datetime(df[col].replace("", None)).dt.date
    for col in ("customs_value", "duties_assessed", "taxes_assessed", "additional_revenue"):
        if col in df:
            df[col] = df[col].map(Decimal)
    for col in ("electronic", "ecommerce"):
        if col in df:
            df[col] = df[col] == "true"
    for col in ("transport_mode", "year"):
        if col in df:
            df[col] = df[col].astype(int)
    return df


def declarations(folder: Path) -> pd.DataFrame:
    """One row per declaration, with its milestones (UTC) and AEO status on lodgement day."""
    d = read(folder, "declarations")
    ev = read(folder, "events")
    ev["ts"] = pd.to_datetime(ev["ts"], utc=True)
    ev["milestone"] = ev["milestone"].astype(str)
    wide = ev.pivot_table(index="declaration_id", columns="milestone", values="ts", aggfunc="min")
    d = d.merge(wide, left_on="declaration_id", right_index=True, how="left")
    aeo = read(folder, "aeo")
    d["lodgement_day"] = d["lodgement"].dt.date
    m = d[["declaration_id", "trader_id", "lodgement_day"]].merge(aeo, on="trader_id")
    held = m[(m.valid_from <= m.lodgement_day)
             & (m.valid_to.isna() | (m.valid_to.astype(object) >= m.lodgement_day))]
    d["aeo"] = d["declaration_id"].isin(held["declaration_id"])
    return d


def hours(d: pd.DataFrame, start: str, end: str) -> pd.Series:
    return (d[end] - d[start]).dt.total_seconds() / 3600.0


def trs_stats(h: pd.Series, within: list[float]) -> dict:
    """n, missing, prearrival, mean, exact quantiles (numpy linear) and within-shares."""
    total = len(h)
    h = h.dropna().to_numpy(dtype=float)
    out: dict = {"n": len(h), "missing": total - len(h), "prearrival": int((h < 0).sum())}
    c = np.where(h < 0, 0.0, h)
    if len(c) == 0:
        return {**out, "mean_h": None, "median_h": None, "p75_h": None, "p90_h": None,
                "p95_h": None, **{f"within_{x}": None for x in within}}
    out.update(mean_h=c.mean(), median_h=np.quantile(c, 0.5), p75_h=np.quantile(c, 0.75),
               p90_h=np.quantile(c, 0.9), p95_h=np.quantile(c, 0.95))
    out.update({f"within_{x}": float((c <= x).mean()) for x in within})
    return out


def items(folder: Path, year: int) -> dict[tuple[str, int, str], str | None]:
    """(data_item, year, breakdown) -> value text (None: not_available), for T and T-1."""
    d = declarations(folder)
    d["lyear"] = d["lodgement"].dt.year
    d["ryear"] = d["release"].dt.year
    out: dict[tuple[str, int, str], str | None] = {}
    for y in (year - 1, year):
        g = d[d.lyear == y]
        if g.empty:
            continue
        for fl in [None, *FLOWS]:
            s = g if fl is None else g[g.flow == fl]
            bd = "" if fl is None else f"flow={fl}"
            out[("declarations", y, bd)] = str(len(s))
            out[("declarations_electronic", y, bd)] = str(int(s.electronic.sum()))
            out[("ecommerce_shipments", y, bd)] = str(int(s.ecommerce.sum()))
        for fl in [None, "IM", "EX"]:
            s = g[g.flow.isin(["IM", "EX"] if fl is None else [fl])]
            bd = "" if fl is None else f"flow={fl}"
            out[("trade_value", y, bd)] = dec(sum(s.customs_value, Decimal(0)))
            out[("trade_value_aeo", y, bd)] = dec(sum(s[s.aeo].customs_value, Decimal(0)))
        out[("revenue_assessed", y, "")] = dec(sum(g.duties_assessed, Decimal(0))
                                               + sum(g.taxes_assessed, Decimal(0)))
        im = g[g.flow == "IM"]
        out[("prearrival_lodgements", y, "")] = str(int((im.lodgement < im.arrival).sum()))
        rel = d[(d.flow == "IM") & (d.ryear == y)]
        modes = sorted(d[d.flow == "IM"].transport_mode.unique())
        for mode in [None, *modes]:
            s = rel if mode is None else rel[rel.transport_mode == mode]
            bd = "" if mode is None else f"transport_mode={mode}"
            st = trs_stats(hours(s, "arrival", "release"), [])
            for code, key in (("release_time_mean_h", "mean_h"),
                              ("release_time_median_h", "median_h"),
                              ("release_time_p90_h", "p90_h")):
                out[(code, y, bd)] = None if st[key] is None else f"{st[key]:.6f}"
    years = sorted({k[1] for k in out})
    c = read(folder, "controls")
    for y in years:
        cy = c[c.year == y]
        found = cy.result.isin(["irregularity", "seizure"])
        phys, pca = cy.control_type == "physical", cy.control_type == "pca"
        out[("physical_controls", y, "")] = str(int(phys.sum()))
        out[("physical_controls_with_findings", y, "")] = str(int((phys & found).sum()))
        out[("pca_audits", y, "")] = str(int(pca.sum()))
        out[("pca_audits_with_findings", y, "")] = str(int((pca & found).sum()))
        out[("pca_additional_revenue", y, "")] = dec(sum(cy[pca].additional_revenue, Decimal(0)))
    s = read(folder, "seizures")
    s["year"] = pd.to_datetime(s["date"]).dt.year
    for y in years:
        sy = s[s.year == y]
        out[("seizures", y, "")] = str(len(sy))
        for cat in CATEGORIES:
            out[("seizures", y, f"category={cat}")] = str(int((sy.category == cat).sum()))
    a = read(folder, "aeo")
    for y in years:
        import datetime as dt

        day = dt.date(y, 12, 31)
        held = a[(a.valid_from <= day) & (a.valid_to.isna() | (a.valid_to.astype(object) >= day))]
        out[("aeo_count", y, "")] = str(held.trader_id.nunique())
    return out


def dec(value: Decimal) -> str:
    return "0" if value == 0 else format(Decimal(value).normalize(), "f")
