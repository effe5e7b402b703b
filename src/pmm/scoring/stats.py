"""Small column-wise statistics shared by the scoring engine.

Every function works along axis 0 (units) of a 1-D or 2-D array and ignores NaN, so a whole
indicator table is handled in one call. The skewness and kurtosis are the sample-adjusted
estimators of e1071 `type = 2` (the definition Excel uses), which is what COINr's `skew()`,
`kurt()` and its legacy `treat()` use; they reproduce COINr's outlier treatment of the ASEM
example exactly (see docs/methodology-scoring.md).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

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


def _rank_min_last_axis(key: Array) -> Array:
    """Ascending ranks along the last axis, ties sharing the lowest rank; NaN stays NaN."""
    nan = np.isnan(key)
    filled = np.where(nan, np.inf, key)
    order = np.argsort(filled, axis=-1, kind="stable")
    srt = np.take_along_axis(filled, order, axis=-1)
    n = key.shape[-1]
    pos = np.broadcast_to(np.arange(n), srt.shape)
    starts = np.ones(srt.shape, dtype=bool)
    starts[..., 1:] = srt[..., 1:] != srt[..., :-1]
    first = np.maximum.accumulate(np.where(starts, pos, 0), axis=-1)
    ranks = np.empty(key.shape, dtype=float)
    np.put_along_axis(ranks, order, (first + 1).astype(float), axis=-1)
    ranks[nan] = np.nan
    return ranks


def rank_min(values: ArrayLike, axis: int = 0, descending: bool = False) -> Array:
    """Ranks with ties given the lowest rank (R's `ties.method = "min"`); NaN stays NaN.

    Ascending by default (the smallest value gets rank 1), as COINr's `n_rank`; with
    `descending=True` the largest value gets rank 1, as COINr's `rank_df` does for results.
    """
    x = np.asarray(values, dtype=float)
    key = np.moveaxis(-x if descending else x, axis, -1)
    return np.moveaxis(_rank_min_last_axis(key), -1, axis)


def rank_desc_rows(scores: ArrayLike) -> Array:
    """Rank each row of a (runs × units) table: 1 = highest score, ties share the best rank."""
    return rank_min(scores, axis=-1, descending=True)
