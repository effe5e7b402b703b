"""Aggregation functions: weighted means, generalised means and Copeland, as array functions.

`aggregate` reduces the last axis (the children of one aggregate) of an array of any shape, so
one call aggregates every unit, and a stack of Monte Carlo runs, at once. Weights are relative:
they are re-scaled to sum to one over the children that are present (missing children, NaN, are
left out and the others re-weighted). With `coverage`, an aggregate is computed only when at
least that share of its children is present, otherwise it is NaN ("insufficient data").

The formulas are COINr's `a_amean`, `a_gmean`, `a_hmean` and `a_genmean`; `outranking_sum` is
COINr's `a_copeland` (row sums of the outranking matrix) and `copeland` is the Condorcet–Copeland
score of the JRC/OECD Handbook (pairwise wins minus losses). PEFA's M1 and M2 are in
`pmm.scoring.pefa`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pmm.errors import PmmError
from pmm.i18n import _

Array = NDArray[np.float64]

MEAN_METHODS = ("arithmetic", "geometric", "harmonic", "generalised")
RANKING_METHODS = ("copeland", "outranking_sum")
METHODS = MEAN_METHODS + RANKING_METHODS


class AggregationDomainError(PmmError):
    """A value outside the domain of the aggregation method (e.g. zero for a geometric mean)."""

    def __init__(self, method: str, index: tuple[int, ...], value: float) -> None:
        self.method = method
        self.index = index
        self.value = value
        super().__init__(
            _("The {method} mean needs strictly positive values, but the value at position "
              "{index} is {value}. Normalise onto a positive range (for example min-max 1-100) "
              "or shift the values first.").format(method=method, index=index, value=value))


def _weights(values: Array, weights: ArrayLike | None) -> Array:
    k = values.shape[-1]
    if weights is None:
        return np.ones(k)
    w = np.asarray(weights, dtype=float)
    if w.shape[-1] != k:
        raise ValueError(f"{w.shape[-1]} weights for {k} children")
    if np.any(np.isnan(w)):
        raise ValueError("weights cannot be missing")
    return w


def _check_positive(x: Array, used: NDArray[np.bool_], method: str) -> None:
    bad = used & ~(x > 0)
    if np.any(bad):
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AggregationDomainError(method, index, float(x[index]))


def aggregate(values: ArrayLike, weights: ArrayLike | None = None, method: str = "arithmetic",
              *, p: float | None = None, coverage: float | None = None) -> Array:
    """Aggregate the last axis of `values` with relative `weights` (broadcast against it).

    method: arithmetic, geometric, harmonic, generalised (power mean of order `p`; p = 1 is
    arithmetic, p → 0 geometric, p = −1 harmonic), copeland or outranking_sum (these two compare
    units, so axis −2 must hold the units). Children that are missing, or have weight 0, are left
    out and the remaining weights re-scaled to sum to one.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim == 0:
        raise ValueError("values must have at least one axis (the children)")
    if method in RANKING_METHODS:
        out = copeland(x, weights) if method == "copeland" else outranking_sum(x, weights)
        return _apply_coverage(out, x, coverage, weights, unit_axis=True)
    if method not in MEAN_METHODS:
        raise ValueError(f"unknown aggregation method {method!r}; expected one of {METHODS}")
    w = _weights(x, weights)
    if np.isnan(x).any():
        present = ~np.isnan(x)
        w_eff = np.where(present, w, 0.0)
        used = present & (w_eff != 0)
        wsum = w_eff.sum(axis=-1)
    else:  # complete data: the weights need no masking (and their sum no unit axis)
        w_eff = w
        used = np.broadcast_to(w != 0, np.broadcast_shapes(x.shape, np.shape(w)))
        wsum = w.sum(axis=-1)
    if method == "generalised":
        if p is None:
            raise ValueError("the generalised mean needs its order p")
        if p == 1:
            method = "arithmetic"
        elif p == 0:
            method = "geometric"
        elif p == -1:
            method = "harmonic"
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "arithmetic":
            out = (np.where(used, x, 0.0) * w_eff).sum(axis=-1) / wsum
        elif method == "geometric":
            _check_positive(x, used, "geometric")
            out = np.exp((np.log(np.where(used, x, 1.0)) * w_eff).sum(axis=-1) / wsum)
        elif method == "harmonic":
            _check_positive(x, used, "harmonic")
            out = wsum / (w_eff / np.where(used, x, 1.0)).sum(axis=-1)
        else:
            assert p is not None
            if p < 0:
                _check_positive(x, used, "generalised")
            elif np.any(used & (x < 0)):
                _check_positive(x, used & (x < 0), "generalised")
            out = ((np.where(used, x, 1.0) ** p * w_eff).sum(axis=-1) / wsum) ** (1.0 / p)
    out = np.where(wsum == 0, np.nan, out)
    shape = np.broadcast_shapes(x.shape, np.shape(w))[:-1]
    if out.shape != shape:
        out = np.broadcast_to(out, shape).copy()
    return _apply_coverage(out, x, coverage, w)


def _apply_coverage(out: Array, x: Array, coverage: float | None, weights: ArrayLike | None,
                    unit_axis: bool = False) -> Array:
    """Missing where fewer than `coverage` of the children are present. Children with weight 0
    are not part of the aggregate and are not counted (so giving a child weight 0 is the same as
    removing it)."""
    if coverage is None:
        return out
    if not 0 <= coverage <= 1:
        raise ValueError("coverage must be between 0 and 1")
    w = _weights(x, weights)
    if unit_axis:  # ranking methods: weights (..., children) without the unit axis
        w = w[..., np.newaxis, :]
    counted = np.broadcast_to(w != 0, np.broadcast_shapes(x.shape, w.shape))
    present = (~np.isnan(x) & counted).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = present / counted.sum(axis=-1)
    return np.where(~(share >= coverage), np.nan, out)


def outranking_matrix(values: ArrayLike, weights: ArrayLike | None = None) -> Array:
    """COINr's outranking matrix: e[j, k] = share of weight where unit j beats unit k (ties ½).

    `values` is (..., units, children); weights are re-scaled to sum to one. As in COINr, the
    lower triangle is 1 − the upper one and the diagonal is 0.
    """
    x = np.asarray(values, dtype=float)
    w = _weights(x, weights)
    w = w / w.sum(axis=-1, keepdims=True)
    wb = w[..., np.newaxis, np.newaxis, :]
    xj = x[..., :, np.newaxis, :]
    xk = x[..., np.newaxis, :, :]
    e = ((xj > xk) * wb).sum(axis=-1) + 0.5 * ((xj == xk) * wb).sum(axis=-1)
    n = x.shape[-2]
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    lower = upper.T
    e = np.where(lower, 1.0 - np.swapaxes(e, -1, -2), e)
    idx = np.arange(n)
    e[..., idx, idx] = 0.0
    return e


def outranking_sum(values: ArrayLike, weights: ArrayLike | None = None) -> Array:
    """COINr's `a_copeland`: the row sums of the outranking matrix."""
    return outranking_matrix(values, weights).sum(axis=-1)


def copeland(values: ArrayLike, weights: ArrayLike | None = None) -> Array:
    """Condorcet–Copeland score: for each unit, pairwise majorities won minus lost.

    A pair is won when the weight of the children where the unit is better exceeds the weight
    where the other is better; equal weight is a draw. Fully non-compensatory.
    """
    x = np.asarray(values, dtype=float)
    w = _weights(x, weights)
    wb = w[..., np.newaxis, np.newaxis, :]
    xj = x[..., :, np.newaxis, :]
    xk = x[..., np.newaxis, :, :]
    wins = ((xj > xk) * wb).sum(axis=-1)
    losses = ((xj < xk) * wb).sum(axis=-1)
    return np.sign(wins - losses).sum(axis=-1)
