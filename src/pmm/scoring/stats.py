"""Small column-wise statistics shared by the scoring engine.

Every function works along axis 0 (units) of a 1-D or 2-D array and ignores NaN, so a whole
indicator table is handled in one call. The skewness and kurtosis are the sample-adjusted
estimators of e1071 `type = 2` (the definition Excel uses), which is what COINr's `skew()`,
`kurt()` and its legacy `treat()` use; they reproduce COINr's outlier treatment of the ASEM
example exactly (see docs/methodology-scoring.md). They are written out rather than taken from
`scipy.stats.skew/kurtosis(bias=False, nan_policy="omit")` because SciPy loops column by column
when NaN is omitted, returns rounding noise instead of NaN for a constant column and does not
return NaN below 3 (4) values, each of which would change which indicators get treated. Ranks
come from `scipy.stats.rankdata`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

Array = NDArray[np.float64]


def _moments(x: Array) -> tuple[Array, Array, Array, Array]:
    """Count, and the 2nd, 3rd and 4th central moment sums of each column (NaN ignored)."""
    present = ~np.isnan(x)
    n = present.sum(axis=0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(present, x, 0.0).sum(axis=0) / n
    d = np.where(present, x - mean, 0.0)
    d2 = d * d
    return n, d2.sum(axis=0), (d2 * d).sum(axis=0), (d2 * d2).sum(axis=0)


def skewness(values: ArrayLike) -> Array:
    """Sample-adjusted skewness G1 (e1071 type 2) of each column; NaN with fewer than 3 values."""
    x = np.asarray(values, dtype=float)
    n, m2, m3, _ = _moments(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        g1 = np.sqrt(n) * m3 / m2**1.5
        out = g1 * np.sqrt(n * (n - 1)) / (n - 2)
    return np.where(n >= 3, out, np.nan)


def kurtosis(values: ArrayLike) -> Array:
    """Sample-adjusted excess kurtosis G2 (e1071 type 2); NaN with fewer than 4 values."""
    x = np.asarray(values, dtype=float)
    n, m2, _, m4 = _moments(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = n * m4 / (m2 * m2)
        out = ((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))
    return np.where(n >= 4, out, np.nan)


def rank_min(values: ArrayLike, axis: int = 0, descending: bool = False) -> Array:
    """Ranks with ties given the lowest rank (R's `ties.method = "min"`); NaN stays NaN.

    Ascending by default (the smallest value gets rank 1), as COINr's `n_rank`; with
    `descending=True` the largest value gets rank 1, as COINr's `rank_df` does for results.
    """
    x = np.asarray(values, dtype=float)
    return stats.rankdata(-x if descending else x, method="min", axis=axis, nan_policy="omit")


def rank_desc_rows(scores: ArrayLike) -> Array:
    """Rank each row of a (runs × units) table: 1 = highest score, ties share the best rank."""
    return rank_min(scores, axis=-1, descending=True)
