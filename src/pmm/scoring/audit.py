"""Statistical audit of a composite indicator (JRC/COIN practice).

* `correlations`: Pearson or Spearman correlation of every indicator and aggregate with its
  parent, with the other aggregates of its parent's level and with the index, per year, with
  flags (negative or weak with its own parent, more correlated with another group than with its
  own);
* `collinearity_flags`: pairs of siblings correlating above 0.9 (double counting);
* `cronbach`: Cronbach's alpha of each aggregation group;
* `pca_summary`: per group, the share of variance explained by the first principal component,
  its eigenvalue and whether all loadings share a sign;
* `drop_one`: how far each unit's rank moves when one indicator is removed;
* `strengths_weaknesses`: each unit's best- and worst-ranked indicators.

All take a pipeline `Result` and work on the normalised and aggregated stages.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from pmm.scoring import steps as k
from pmm.scoring.pipeline import Result
from pmm.scoring.stats import rank_min

HIGH = 0.9
WEAK = 0.3


def _years(res: Result) -> list[tuple[object, pd.DataFrame]]:
    df = res.stages["aggregated"]
    if "year" in df.columns:
        return [(y, g) for y, g in df.groupby("year")]
    return [(None, df)]


def _drop_empty_year(out: pd.DataFrame) -> pd.DataFrame:
    """Cross-sectional runs carry no year: drop the all-empty column."""
    return out.drop(columns="year") if out["year"].isna().all() else out


def _corr(a: np.ndarray, b: np.ndarray, method: str) -> float:
    ok = ~np.isnan(a) & ~np.isnan(b)
    if ok.sum() < 3:
        return float("nan")
    x, y = a[ok], b[ok]
    if method == "spearman":  # Pearson on average ranks (ties share the mean rank), as R's cor()
        x, y = stats.rankdata(x), stats.rankdata(y)
    if x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def correlations(res: Result, method: str = "pearson") -> pd.DataFrame:
    """Correlations of each node with its parent, the other groups of that level, and the index."""
    if method not in ("pearson", "spearman"):
        raise ValueError("method must be pearson or spearman")
    s = res.structure
    rows = []
    for year, df in _years(res):
        for level in range(1, s.n_levels):
            for code in s.codes_at(level):
                own = s.parent.get(code)
                for other in s.codes_at(level + 1):
                    r = _corr(df[code].to_numpy(float), df[other].to_numpy(float), method)
                    rows.append({"year": year, "level": level, "code": code, "with": other,
                                 "relation": "parent" if other == own else "other group",
                                 "r": r})
                for top in s.top:
                    if level + 1 < s.n_levels:
                        rows.append({"year": year, "level": level, "code": code, "with": top,
                                     "relation": "index",
                                     "r": _corr(df[code].to_numpy(float),
                                                df[top].to_numpy(float), method)})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    best_other = (out[out["relation"] == "other group"].groupby(["year", "code"], dropna=False)["r"]
                  .max())
    flags = []
    for _i, row in out.iterrows():
        f = []
        if row["relation"] == "parent":
            if row["r"] < 0:
                f.append("negative with own group")
            elif row["r"] < WEAK:
                f.append("weak with own group")
            other = best_other.get((row["year"], row["code"]), np.nan)
            if not np.isnan(other) and other > row["r"]:
                f.append("closer to another group")
        flags.append("; ".join(f))
    out["flag"] = flags
    return _drop_empty_year(out)


def collinearity_flags(res: Result, threshold: float = HIGH,
                       method: str = "pearson") -> pd.DataFrame:
    """Sibling pairs whose correlation exceeds `threshold` (COINr `get_corr_flags`)."""
    s = res.structure
    rows = []
    for year, df in _years(res):
        for a in s.aggregates:
            kids = s.children(a)
            for i, c1 in enumerate(kids):
                for c2 in kids[i + 1:]:
                    r = _corr(df[c1].to_numpy(float), df[c2].to_numpy(float), method)
                    if abs(r) > threshold or r < 0:
                        rows.append({"year": year, "group": a, "code": c1, "with": c2, "r": r,
                                     "flag": "collinear" if r > threshold else "negative"})
    out = pd.DataFrame(rows, columns=["year", "group", "code", "with", "r", "flag"])
    return _drop_empty_year(out)


def cronbach_alpha(values: np.ndarray) -> float:
    """k/(k−1)·(1 − Σ var_i / var_total) over complete rows (sample variances)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x).any(axis=1)]
    kk = x.shape[1]
    if kk < 2 or len(x) < 2:
        return float("nan")
    total = x.sum(axis=1).var(ddof=1)
    if total == 0:
        return float("nan")
    return float(kk / (kk - 1) * (1 - x.var(axis=0, ddof=1).sum() / total))


def cronbach(res: Result) -> pd.DataFrame:
    s = res.structure
    rows = []
    for year, df in _years(res):
        for a in s.aggregates:
            kids = s.children(a)
            rows.append({"year": year, "group": a, "level": s.level_of(a), "children": len(kids),
                         "alpha": cronbach_alpha(df[kids].to_numpy(float))})
    out = pd.DataFrame(rows)
    return _drop_empty_year(out)


def pca_summary(res: Result) -> pd.DataFrame:
    s = res.structure
    rows = []
    for year, df in _years(res):
        for a in s.aggregates:
            kids = s.children(a)
            x = df[kids].to_numpy(float)
            x = x[~np.isnan(x).any(axis=1)]
            if len(kids) < 2 or len(x) < 3:
                rows.append({"year": year, "group": a, "children": len(kids)})
                continue
            sd = x.std(axis=0, ddof=1)
            z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
            eig, vec = np.linalg.eigh(np.cov(z, rowvar=False))
            eig, vec = eig[::-1], vec[:, ::-1]  # eigh sorts ascending
            load = vec[:, 0]
            rows.append({"year": year, "group": a, "children": len(kids),
                         "eigenvalue_1": eig[0], "variance_explained_1": eig[0] / eig.sum(),
                         "components_above_1": int((eig > 1).sum()),
                         "loadings_same_sign": bool((load >= 0).all() or (load <= 0).all())})
    out = pd.DataFrame(rows)
    return _drop_empty_year(out)


def drop_one(res: Result, target: str | None = None) -> pd.DataFrame:
    """For each indicator: mean and largest absolute rank change of the units when it is
    removed (its weight set to 0 and its siblings re-weighted, all removals at once)."""
    from pmm.scoring.robustness import ranks_of

    s = res.structure
    step = res.spec.step("aggregate")
    if step is None:
        raise ValueError("the run has no aggregate step")
    target = target or res.target
    tree = k.Tree.of(s)
    used = res.weights.set_index("code")["weight"]
    w = np.array([used[c] for c in tree.nodes], dtype=float)
    specs = {lev: step.for_level(lev) for lev in range(2, s.n_levels + 1)}
    t = res.tables["normalised"]
    rows = []
    col = tree.nodes.index(target)
    for year, idx in t.year_rows():
        x = t.values[idx]
        n_ind = len(s.indicators)
        batch_w = np.repeat(w[np.newaxis, :], n_ind + 1, axis=0)
        batch_w[np.arange(1, n_ind + 1), np.arange(n_ind)] = 0.0
        vals, _w = k.aggregate_tree(x, tree, specs, batch_w)
        ranks = ranks_of(vals[..., col])
        shift = np.abs(ranks[1:] - ranks[0])
        for j, c in enumerate(s.indicators):
            rows.append({"year": year, "indicator": c, "mean_abs_rank_change": np.nanmean(shift[j]),
                         "max_abs_rank_change": np.nanmax(shift[j]),
                         "units_changed": int((shift[j] > 0).sum())})
    out = pd.DataFrame(rows)
    return _drop_empty_year(out)


def strengths_weaknesses(res: Result, n: int = 5, unit: str | None = None) -> pd.DataFrame:
    """Each unit's `n` best- and worst-ranked indicators (rank among units, 1 = best; COINr
    `get_str_weak`), with the normalised value."""
    s = res.structure
    df = res.stages["normalised"]
    keys = ["unit"] + (["year"] if "year" in df.columns else [])
    rows = []
    blocks = df.groupby("year") if "year" in df.columns else [(None, df)]
    for year, g in blocks:
        x = g[list(s.indicators)].to_numpy(float)
        ranks = rank_min(x, axis=0, descending=True)
        for i, u in enumerate(g["unit"].to_numpy()):
            if unit is not None and u != unit:
                continue
            r = ranks[i]
            ok = np.flatnonzero(~np.isnan(r))
            order = ok[np.argsort(r[ok], kind="stable")]
            for kind, picks in (("strength", order[:n]), ("weakness", order[::-1][:n])):
                for j in picks:
                    rows.append({"unit": u, **({"year": year} if year is not None else {}),
                                 "kind": kind, "indicator": s.indicators[j],
                                 "parent": s.parent.get(s.indicators[j]) or "",
                                 "rank": int(r[j]), "value": x[i, j]})
    return pd.DataFrame(rows, columns=[*keys, "kind", "indicator", "parent", "rank", "value"])


def coherence(res: Result, flag_threshold: float = HIGH) -> dict[str, pd.DataFrame]:
    """The coherence checks at once: Pearson and Spearman correlations per level with flags,
    collinear or negative sibling pairs, Cronbach's alpha and PCA per group."""
    return {
        "correlations_pearson": correlations(res, "pearson"),
        "correlations_spearman": correlations(res, "spearman"),
        "collinearity": collinearity_flags(res, flag_threshold),
        "cronbach": cronbach(res),
        "pca": pca_summary(res),
    }
