"""Scoring rules and normalisation methods, as array functions.

Each function takes the values of one or more indicators for the units of one cycle (axis 0 =
units, axis 1 = indicators) and returns scores of the same shape. Missing values (NaN) stay
missing and are ignored by the column statistics. `direction` is +1 (higher is better) or -1
(lower is better), a scalar or one value per indicator; after scoring, higher is always better.

The formulas are COINr's (`n_minmax`, `n_zscore`, `n_rank`, `n_prank`, `n_borda`,
`n_goalposts`, `n_dist2targ`, `n_dist2ref`, `n_dist2max`, `n_fracmax`, `n_scaled`), with the
direction applied first by multiplying by -1, as COINr does. Targets, goalposts and references
are given in the indicator's own units, whatever its direction.

`bands` and `criteria_grade` turn values or criteria into ordinal levels (A–D) with PEFA's
"all criteria met" semantics and D* for insufficient information.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pmm.scoring.stats import rank_min

Array = NDArray[np.float64]

GRADES = ("D", "C", "B", "A")
INSUFFICIENT = "D*"


def _prepare(values: ArrayLike, direction: ArrayLike) -> tuple[Array, Array]:
    x = np.asarray(values, dtype=float)
    d = np.asarray(direction, dtype=float)
    if not np.all(np.isin(d, (-1.0, 1.0))):
        raise ValueError(f"direction must be 1 or -1, got {direction!r}")
    return x, d


def _param(value: ArrayLike, x: Array) -> Array:
    """A per-indicator parameter broadcast against the unit axis."""
    p = np.asarray(value, dtype=float)
    if p.ndim == 1 and x.ndim == 2:
        return p[np.newaxis, :]
    return p


def _nanmin(x: Array) -> Array:
    with np.errstate(invalid="ignore"):
        return np.where(np.all(np.isnan(x), axis=0), np.nan, np.fmin.reduce(x, axis=0))


def _nanmax(x: Array) -> Array:
    with np.errstate(invalid="ignore"):
        return np.where(np.all(np.isnan(x), axis=0), np.nan, np.fmax.reduce(x, axis=0))


def minmax(values: ArrayLike, direction: ArrayLike = 1, low: float = 0.0,
           high: float = 100.0) -> Array:
    """Min–max to [low, high] within the cycle: (x − min)/(max − min)·(high − low) + low."""
    x, d = _prepare(values, direction)
    x = x * d
    lo, hi = _nanmin(x), _nanmax(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (x - lo) / (hi - lo) * (high - low) + low


def zscore(values: ArrayLike, direction: ArrayLike = 1, mean: float = 0.0,
           sd: float = 1.0) -> Array:
    """Standardise to the given mean and standard deviation (sample SD, n − 1, as R's `sd`)."""
    if sd <= 0:
        raise ValueError("sd must be positive")
    x, d = _prepare(values, direction)
    x = x * d
    present = ~np.isnan(x)
    n = present.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.where(present, x, 0.0).sum(axis=0) / n
        dev = np.where(present, x - mu, 0.0)
        s = np.sqrt((dev * dev).sum(axis=0) / (n - 1))
        return (x - mu) / s * sd + mean


def rank(values: ArrayLike, direction: ArrayLike = 1) -> Array:
    """Rank within the cycle, 1 = worst; ties share the lowest rank (COINr `n_rank`)."""
    x, d = _prepare(values, direction)
    return rank_min(x * d, axis=0)


def borda(values: ArrayLike, direction: ArrayLike = 1) -> Array:
    """Borda score = rank − 1 (COINr `n_borda`)."""
    return rank(values, direction) - 1.0


def percentile_rank(values: ArrayLike, direction: ArrayLike = 1, scale: float = 1.0) -> Array:
    """Percentile rank within the cycle, (rank − 1)/(n − 1), times `scale` (COINr `n_prank`)."""
    x, d = _prepare(values, direction)
    r = rank_min(x * d, axis=0)
    n = np.sum(~np.isnan(x), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (r - 1.0) / (n - 1.0) * scale


def goalposts(values: ArrayLike, lower: ArrayLike, upper: ArrayLike, direction: ArrayLike = 1,
              scale: float = 100.0, clip: bool = True) -> Array:
    """Distance from the lower to the upper goalpost, in `scale` units (fixed bounds, so scores
    are comparable across cycles). For direction −1 the best value is `lower`.
    """
    x, d = _prepare(values, direction)
    lo, up = _param(lower, x), _param(upper, x)
    d = _param(d, x)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.where(d > 0, (x - lo) / (up - lo), (up - x) / (up - lo))
    if clip:
        y = np.clip(y, 0.0, 1.0)
    return y * scale


def distance_to_target(values: ArrayLike, target: ArrayLike, direction: ArrayLike = 1,
                       baseline: ArrayLike | None = None, cap: bool = True,
                       scale: float = 1.0) -> Array:
    """1 − (target − x)/(target − baseline), in `scale` units (COINr `n_dist2targ`).

    The baseline is the worst value in the cycle (min, or max for direction −1) unless given;
    with `cap`, values beyond the target score the maximum.
    """
    x, d = _prepare(values, direction)
    xd = x * d
    t = _param(target, x) * _param(d, x)
    base = _nanmin(xd) if baseline is None else _param(baseline, x) * _param(d, x)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = 1.0 - (t - xd) / (t - base)
    if cap:
        y = np.where(y > 1.0, 1.0, y)
    return y * scale


def distance_to_reference(values: ArrayLike, reference: int, direction: ArrayLike = 1,
                          cap: bool = False, scale: float = 1.0) -> Array:
    """1 − (x_ref − x)/(x_ref − min), the reference being the unit at row `reference`."""
    x, d = _prepare(values, direction)
    xd = x * d
    ref = xd[reference]
    with np.errstate(invalid="ignore", divide="ignore"):
        y = 1.0 - (ref - xd) / (ref - _nanmin(xd))
    if cap:
        y = np.where(y > 1.0, 1.0, y)
    return y * scale


def distance_to_maximum(values: ArrayLike, direction: ArrayLike = 1, scale: float = 1.0) -> Array:
    """1 − (max − x)/(max − min) (COINr `n_dist2max`)."""
    x, d = _prepare(values, direction)
    xd = x * d
    hi, lo = _nanmax(xd), _nanmin(xd)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (1.0 - (hi - xd) / (hi - lo)) * scale


def fraction_of_max(values: ArrayLike, direction: ArrayLike = 1, scale: float = 1.0) -> Array:
    """x / max (COINr `n_fracmax`), after the direction is applied."""
    x, d = _prepare(values, direction)
    xd = x * d
    with np.errstate(invalid="ignore", divide="ignore"):
        return xd / _nanmax(xd) * scale


def scaled(values: ArrayLike, low: float, high: float, direction: ArrayLike = 1) -> Array:
    """(x − low)/(high − low)·100, a fixed linear rescaling (COINr `n_scaled`)."""
    x, d = _prepare(values, direction)
    return (x * d - low) / (high - low) * 100.0


# --------------------------------------------------------------------------------------------
# Ordinal rules
# --------------------------------------------------------------------------------------------

def bands(values: ArrayLike, cutoffs: Sequence[float], direction: int = 1,
          labels: Sequence[str] = GRADES, missing: str = INSUFFICIENT) -> NDArray[np.str_]:
    """Ordinal levels from thresholds: the i-th cutoff is the least value reaching `labels[i+1]`.

    With direction −1 the cutoffs are upper limits (a value at or below the cutoff reaches the
    level). Cutoffs must be ordered from the second-lowest level to the highest. A missing value
    gets `missing` (D*, insufficient information), never the lowest level silently.
    """
    x = np.asarray(values, dtype=float)
    c = np.asarray(cutoffs, dtype=float)
    if len(c) != len(labels) - 1:
        raise ValueError(f"{len(labels)} levels need {len(labels) - 1} cutoffs, got {len(c)}")
    if direction not in (1, -1):
        raise ValueError(f"direction must be 1 or -1, got {direction!r}")
    steps = np.diff(c) * direction
    if np.any(steps < 0):
        raise ValueError("cutoffs must increase towards the best level "
                         "(decrease for direction -1)")
    if direction > 0:
        level = (x[..., np.newaxis] >= c).sum(axis=-1)
    else:
        level = (x[..., np.newaxis] <= c).sum(axis=-1)
    out = np.asarray(labels, dtype=object)[level]
    out[np.isnan(x)] = missing
    return out.astype(str)


def criteria_grade(criteria: Mapping[str, ArrayLike], grades: Sequence[str] = GRADES,
                   insufficient: str = INSUFFICIENT) -> NDArray[np.str_]:
    """PEFA "all criteria met" grading.

    `criteria` maps each grade above the lowest (C, B, A) to a (units × criteria) array whose
    entries are True (met), False (not met) or None/NaN (no information). A unit gets the highest
    grade whose criteria, and those of every lower grade, are all met. Missing information never
    counts as met. A unit left at the lowest grade only because information is missing (no basic
    criterion is known to fail) gets D*, which aggregates like D.
    """
    upper = list(grades[1:])
    unknown = set(criteria) - set(upper)
    if unknown:
        raise ValueError(f"criteria given for unknown grades {sorted(unknown)}; "
                         f"expected some of {upper}")
    tables: list[tuple[NDArray[np.bool_], NDArray[np.bool_]]] = []
    n_units: int | None = None
    for g in upper:
        raw = np.asarray(criteria.get(g, np.empty((0, 0))), dtype=object)
        if raw.ndim == 1:
            raw = raw[:, np.newaxis]
        if raw.size == 0 and g in criteria:
            raise ValueError(f"grade {g} has an empty criteria table")
        if g in criteria:
            n_units = raw.shape[0] if n_units is None else n_units
            if raw.shape[0] != n_units:
                raise ValueError("every criteria table needs one row per unit")
        flat = raw.ravel()
        is_unknown = np.array([v is None or (isinstance(v, float) and np.isnan(v))
                               for v in flat], dtype=bool).reshape(raw.shape)
        met = np.array([bool(v) if not u else False for v, u in zip(flat, is_unknown.ravel(),
                                                                   strict=True)],
                       dtype=bool).reshape(raw.shape)
        tables.append((met, is_unknown))
    if n_units is None:
        raise ValueError("no criteria given")
    level = np.zeros(n_units, dtype=int)
    still = np.ones(n_units, dtype=bool)
    for i, g in enumerate(upper):
        if g not in criteria:
            break  # a grade without criteria cannot be reached, nor anything above it
        met, _unk = tables[i]
        ok = still & met.all(axis=1)
        level = np.where(ok, i + 1, level)
        still = ok
    out = np.asarray(grades, dtype=object)[level]
    basic_met, basic_unknown = tables[0]
    no_info = (level == 0) & basic_unknown.any(axis=1) & ~(~basic_met & ~basic_unknown).any(axis=1)
    out[no_info] = insufficient
    return out.astype(str)
