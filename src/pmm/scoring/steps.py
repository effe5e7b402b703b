"""Column-wise kernels of the pipeline steps: imputation, outlier treatment, normalisation,
weights and tree aggregation.

They work on numpy arrays of one cycle (units × indicators) and never loop over units; the
aggregation kernel also takes a leading batch axis of Monte Carlo runs. `pmm.scoring.pipeline`
wraps them with file handling, panel years and error messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pmm.errors import PmmError
from pmm.i18n import _
from pmm.scoring import rules
from pmm.scoring.aggregation import RANKING_METHODS, AggregationDomainError, aggregate
from pmm.scoring.spec import LevelAggregation, NormaliseParams, TreatStep
from pmm.scoring.stats import kurtosis, skewness
from pmm.scoring.structure import Structure

Array = NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# Imputation
# --------------------------------------------------------------------------------------------

def impute_columns(x: Array, method: str, groups: NDArray[np.object_] | None = None) -> Array:
    """Fill missing values of each column by its mean or median, overall or within groups.

    Observed values are never changed; a group whose values are all missing stays missing.
    """
    out = x.copy()
    missing = np.isnan(x)
    if not missing.any() or method == "none":
        return out
    stat = np.nanmedian if method.endswith("median") else np.nanmean
    if method in ("mean", "median"):
        blocks = [np.ones(len(x), dtype=bool)]
    else:
        assert groups is not None
        blocks = [groups == g for g in np.unique(groups[groups != ""])]
    for rows in blocks:
        sub = x[rows]
        have = ~np.isnan(sub).all(axis=0)
        fill = np.full(x.shape[1], np.nan)
        if have.any():
            fill[have] = stat(sub[:, have], axis=0)
        out[rows] = np.where(np.isnan(sub), fill, sub)
    return out


# --------------------------------------------------------------------------------------------
# Outlier treatment
# --------------------------------------------------------------------------------------------

@dataclass
class Treatment:
    values: Array
    #: per indicator: points winsorised at the low and high end
    low: NDArray[np.int_]
    high: NDArray[np.int_]
    #: per indicator: what was done
    label: list[str]
    skew_before: Array
    kurt_before: Array
    skew_after: Array
    kurt_after: Array
    #: per value: "", "winlo", "winhi" or the transformation's name
    flags: NDArray[np.str_]


def _fails(sk: Array, kt: Array, p: TreatStep) -> NDArray[np.bool_]:
    with np.errstate(invalid="ignore"):
        return (np.abs(sk) > p.skew) & (kt > p.kurtosis)


def _transform(col: Array, kind: str, lam: float | None) -> tuple[Array, str]:
    lo, hi = np.nanmin(col), np.nanmax(col)
    if kind == "log_ct":
        return np.log(col - lo + 0.01 * (hi - lo)), "log_ct"
    if kind == "log_ct_orig":
        return np.log(col - lo + 1.0), "log_ct_orig"
    if kind == "log":
        if np.nanmin(col) <= 0:
            return col, "log failed: values of 0 or less"
        return np.log(col), "log"
    if kind == "boxcox":
        assert lam is not None
        shifted = col - lo + 1.0
        return (np.log(shifted) if lam == 0 else (shifted**lam - 1.0) / lam), "boxcox"
    return col, "none"


def treat_columns(x: Array, p: TreatStep, active: NDArray[np.bool_] | None = None) -> Treatment:
    """COINr's two-stage outlier treatment, all indicators at once.

    An indicator fails when |skewness| > `skew` and kurtosis > `kurtosis` (e1071 type 2). While it
    fails, its most extreme value(s) at the end given by the sign of the skewness are replaced by
    the next value (ties move together), until it passes or `winmax` points are winsorised. If it
    still fails, the fallback transformation is applied to the original values (or to the
    winsorised ones with `combine`). Indicators with fewer than 4 values are left as they are.
    """
    n_units, k = x.shape
    winmax = int(np.ceil(0.1 * n_units)) if p.winmax == "auto" else int(p.winmax)
    y = x.copy()
    if active is None:
        active = np.ones(k, dtype=bool)
    enough = (~np.isnan(x)).sum(axis=0) >= 4
    sk = skewness(y)
    kt = kurtosis(y)
    sk0, kt0 = sk.copy(), kt.copy()
    failing0 = active & enough & _fails(sk, kt, p)
    hi = np.zeros_like(x, dtype=bool)
    lo = np.zeros_like(x, dtype=bool)
    fixed_high = sk >= 0
    going = failing0.copy()
    stuck = np.zeros(k, dtype=bool)
    while True:
        going &= (hi.sum(axis=0) + lo.sum(axis=0)) < winmax
        if not going.any():
            break
        cols = np.flatnonzero(going)
        sub = y[:, cols]
        high = (sk[cols] >= 0) if p.winchange else fixed_high[cols]
        with np.errstate(invalid="ignore"):
            mx = np.fmax.reduce(sub, axis=0)
            mn = np.fmin.reduce(sub, axis=0)
            is_max = sub == mx
            is_min = sub == mn
            next_max = np.fmax.reduce(np.where(is_max | np.isnan(sub), -np.inf, sub), axis=0)
            next_min = np.fmin.reduce(np.where(is_min | np.isnan(sub), np.inf, sub), axis=0)
        blocked = np.where(high, np.isinf(next_max), np.isinf(next_min))
        if blocked.any():  # fewer than two distinct values: cannot winsorise further
            stuck[cols[blocked]] = True
            going[cols[blocked]] = False
        move_hi = is_max & (high & ~blocked)
        move_lo = is_min & (~high & ~blocked)
        sub = np.where(move_hi, next_max, np.where(move_lo, next_min, sub))
        y[:, cols] = sub
        hi[:, cols] |= move_hi
        lo[:, cols] |= move_lo
        sk[cols] = skewness(sub)
        kt[cols] = kurtosis(sub)
        going[cols] &= _fails(sk[cols], kt[cols], p)
    labels = ["None"] * k
    for j in np.flatnonzero(failing0):
        n_points = int(hi[:, j].sum() + lo[:, j].sum())
        if n_points:
            labels[j] = f"Winsorised {n_points} points"
    flags = np.full(x.shape, "", dtype=object)
    flags[hi] = "winhi"
    flags[lo] = "winlo"
    still = failing0 & _fails(sk, kt, p)
    for j in np.flatnonzero(still):
        if p.fallback == "none":
            labels[j] += " (thresholds still exceeded)"
            continue
        base = y[:, j] if p.combine else x[:, j]
        new, what = _transform(base, p.fallback, p.boxcox_lambda)
        if what.startswith("log failed"):  # COINr: returned untreated
            y[:, j] = x[:, j]
            hi[:, j] = lo[:, j] = False
            flags[:, j] = ""
            labels[j] = f"None (winsorisation was not enough and {what})"
            sk[j], kt[j] = sk0[j], kt0[j]
            continue
        if not p.combine:
            y[:, j] = new
            hi[:, j] = lo[:, j] = False
            flags[:, j] = np.where(np.isnan(x[:, j]), "", what)
            labels[j] = f"{what} (winsorisation to {winmax} points was not enough)"
        else:
            y[:, j] = new
            flags[:, j] = np.where(flags[:, j] == "", what, flags[:, j] + "+" + what)
            labels[j] += f" + {what}"
        sk[j] = skewness(y[:, j])
        kt[j] = kurtosis(y[:, j])
    for j in np.flatnonzero(active & ~enough):
        labels[j] = "None (fewer than 4 values)"
    for j in np.flatnonzero(stuck & ~still):
        labels[j] += " (stopped: fewer than two distinct values left)"
    return Treatment(values=y, low=lo.sum(axis=0), high=hi.sum(axis=0), label=labels,
                     skew_before=sk0, kurt_before=kt0, skew_after=sk, kurt_after=kt,
                     flags=flags.astype(str))


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------

def normalise_columns(x: Array, params: NormaliseParams, direction: Array,
                      codes: Sequence[str], structure: Structure,
                      reference_row: int | None = None) -> Array:
    """Normalise the columns of `x` (one cycle, or all years together) with one method."""
    m = params.method
    if m == "none":
        return x * direction
    if m == "minmax":
        return rules.minmax(x, direction, params.range[0], params.range[1])
    if m == "zscore":
        return rules.zscore(x, direction, params.mean, params.sd)
    if m == "rank":
        return rules.rank(x, direction)
    if m == "borda":
        return rules.borda(x, direction)
    if m == "percentile_rank":
        return rules.percentile_rank(x, direction, params.scale or 1.0)
    if m == "scaled":
        return rules.scaled(x, params.range[0], params.range[1], direction)
    if m == "distance_to_maximum":
        return rules.distance_to_maximum(x, direction, params.scale or 1.0)
    if m == "fraction_of_max":
        return rules.fraction_of_max(x, direction, params.scale or 1.0)
    if m == "distance_to_reference":
        assert reference_row is not None
        return rules.distance_to_reference(x, reference_row, direction,
                                           bool(params.cap), params.scale or 1.0)
    if m == "goalposts":
        lower = _meta(structure.lower, codes, "lower goalpost")
        upper = _meta(structure.upper, codes, "upper goalpost")
        return rules.goalposts(x, lower, upper, direction, params.scale or 100.0,
                               clip=params.cap is not False)
    if m == "distance_to_target":
        target = _meta(structure.target, codes, "target")
        return rules.distance_to_target(x, target, direction, cap=params.cap is not False,
                                        scale=params.scale or 1.0)
    raise ValueError(m)


def _meta(values: dict[str, float], codes: Sequence[str], what: str) -> Array:
    missing = [c for c in codes if c not in values]
    if missing:
        raise PmmError(_("Normalisation needs the {what} of indicator {code!r} in the metadata, "
                         "but it is empty").format(what=what, code=missing[0]))
    return np.array([values[c] for c in codes])


# --------------------------------------------------------------------------------------------
# Weights and aggregation over the tree
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tree:
    """Index positions of the structure, for vectorised aggregation (nodes = indicators, then
    aggregates level by level)."""

    nodes: tuple[str, ...]
    n_indicators: int
    #: per level (from 2): list of (aggregate position, children positions)
    groups: tuple[tuple[tuple[int, NDArray[np.int_]], ...], ...]

    @classmethod
    def of(cls, s: Structure) -> Tree:
        nodes = (*s.indicators, *s.aggregates)
        pos = {c: i for i, c in enumerate(nodes)}
        groups = []
        for lev in range(2, s.n_levels + 1):
            groups.append(tuple(
                (pos[a], np.array([pos[c] for c in s.children(a)], dtype=int))
                for a in s.codes_at(lev)))
        return cls(nodes=nodes, n_indicators=len(s.indicators), groups=tuple(groups))

    def level_inputs(self, level: int) -> NDArray[np.int_]:
        kids = [k for _a, k in self.groups[level - 2]]
        return np.concatenate(kids) if kids else np.array([], dtype=int)


def pca_weights(children: Array) -> Array:
    """First-principal-component weights of a group (COINr `get_PCA`): PCA of the standardised
    complete cases, loadings oriented so that they sum to a positive number, re-scaled to sum
    to one. A single child gets weight 1."""
    k = children.shape[-1]
    if k == 1:
        return np.ones(1)
    rows = children[~np.isnan(children).any(axis=1)]
    if len(rows) < 2:
        return np.full(k, 1.0 / k)
    sd = rows.std(axis=0, ddof=1)
    z = (rows - rows.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    _u, _s, vt = np.linalg.svd(z, full_matrices=False)
    load = vt[0]
    if load.sum() < 0:
        load = -load
    return load / load.sum()


def aggregate_tree(x: Array, tree: Tree, specs: dict[int, LevelAggregation], weights: Array,
                   pca: bool = False, units: Sequence[str] | None = None,
                   keep_indicators: bool = True) -> tuple[Array, Array]:
    """Aggregate indicators (…, units, indicators) up the tree.

    `weights` holds one weight per node (…, nodes), in `tree.nodes` order; a batch of weight
    vectors (runs × nodes) with one shared indicator table aggregates every run at once without
    copying the table. Returns the values of every node (…, units, nodes), or only of the
    aggregates with `keep_indicators=False`, and the weights used (PCA weights replace the given
    ones when `pca` is set; they are computed per group on the children's values).
    """
    n_ind = tree.n_indicators
    batch = np.broadcast_shapes(x.shape[:-2], np.shape(weights)[:-1])
    n_units = x.shape[-2]
    aggs = np.empty((*batch, n_units, len(tree.nodes) - n_ind))
    w_used = np.array(np.broadcast_to(weights, (*batch, len(tree.nodes))), dtype=float)

    def values(pos: NDArray[np.int_]) -> Array:
        # children of one level are all indicators (level 2) or all aggregates
        return x[..., pos] if pos[0] < n_ind else aggs[..., pos - n_ind]

    for level, groups in enumerate(tree.groups, start=2):
        spec = specs[level]
        shift: Array | float = 0.0 if spec.shift in (None, "auto") else float(spec.shift)
        inputs = tree.level_inputs(level)
        if spec.shift == "auto" and spec.method in ("geometric", "harmonic", "generalised") \
                and inputs.size:
            with np.errstate(invalid="ignore"):
                lo = np.fmin.reduce(np.fmin.reduce(values(inputs), axis=-1), axis=-1)
            shift = np.where(lo <= 0, 1.0 - lo, 0.0)[..., np.newaxis, np.newaxis]
        for a, kids in groups:
            if kids.size == 0:
                aggs[..., a - n_ind] = np.nan
                continue
            v = values(kids)
            if not (np.isscalar(shift) and shift == 0.0):
                v = v + shift
            if pca and not batch:
                w_used[kids] = pca_weights(v)
            w = w_used[..., kids]
            try:
                if spec.method in RANKING_METHODS:
                    aggs[..., a - n_ind] = aggregate(v, w, spec.method, coverage=spec.coverage)
                else:
                    aggs[..., a - n_ind] = aggregate(v, w[..., np.newaxis, :], spec.method,
                                                     p=spec.p, coverage=spec.coverage)
            except AggregationDomainError as exc:
                unit = exc.index[-2]
                child = tree.nodes[kids[exc.index[-1]]]
                raise PmmError(_(
                    "Aggregate {code!r} ({method} mean, level {level}): unit {unit!r} has "
                    "{value} for {child!r}; the {method} mean needs values above 0. Normalise "
                    "onto a positive range (e.g. min-max with range [1, 100]) or set 'shift' "
                    "in the aggregate step (\"auto\" shifts the level so its minimum is 1)."
                ).format(code=tree.nodes[a], method=exc.method, level=level,
                         unit=units[unit] if units is not None else unit, value=exc.value,
                         child=child)) from None
    if not keep_indicators:
        return aggs, w_used
    full = np.concatenate([np.broadcast_to(x, (*batch, n_units, n_ind)), aggs], axis=-1)
    return full, w_used
