"""An attacker, written apart from `pmm.analysis.sdc`, that tries to recover hidden values.

It takes everything a viewer receives - the individual values it may see and every released
group statistic of every grouping and cycle (n, mean, median, quartiles, trends) - and assumes
the worst: it knows which members are behind each group and the domain of each measure (bounds,
levels). It then tries, for each value the viewer may not see:
- linear algebra: the released means times n, minus the visible values, are sums of hidden
  values; the exact range of a hidden value over all solutions within the bounds is computed by
  linear programming (a null-space rank test is run too, without bounds); a range of width 0
  means the value is derived;
- integer programming for measures with levels (yes/no): is there a solution with the value
  flipped?
- order statistics: whether a released median or quartile is a hidden value, or yields one by
  undoing the linear interpolation with a visible neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, optimize

QUANTILE_P = {"q1": 0.25, "median": 0.5, "q3": 0.75}


@dataclass
class Statistic:
    """One released group statistic: its members (worst case: known) and its numbers."""

    measure: tuple  # e.g. (cycle, level, code)
    members: frozenset[str]
    n: int
    mean: float | None
    quantiles: dict[str, float] = field(default_factory=dict)


@dataclass
class Knowledge:
    """Everything the viewer receives, for one or more measures."""

    visible: dict[tuple, dict[str, float]]  # measure -> member -> value
    hidden_truth: dict[tuple, dict[str, float]]  # measure -> member -> value (to score)
    stats: list[Statistic]
    bounds: dict[tuple, tuple[float, float]]
    levels: dict[tuple, tuple[float, ...]] = field(default_factory=dict)
    # differences of means between two measures over the same group (trends): (a, b, group,
    # change) meaning mean_b - mean_a = change
    differences: list[tuple[Statistic, Statistic, float]] = field(default_factory=list)


def _system(k: Knowledge) -> tuple[list[tuple], np.ndarray, np.ndarray]:
    """Unknowns (measure, member) and equations A x = b over them."""
    unknowns = sorted({(m, p) for m, ps in k.hidden_truth.items() for p in ps})
    col = {u: i for i, u in enumerate(unknowns)}
    rows, rhs = [], []

    def equation(stat: Statistic, weight: float) -> tuple[np.ndarray, float]:
        row = np.zeros(len(unknowns))
        known = 0.0
        for member in stat.members:
            if member in k.visible.get(stat.measure, {}):
                known += k.visible[stat.measure][member]
            else:
                row[col[(stat.measure, member)]] = 1.0
        return weight * row, weight * (stat.mean * stat.n - known)

    for s in k.stats:
        if s.mean is None or not np.isfinite(s.mean):
            continue
        row, b = equation(s, 1.0)
        rows.append(row)
        rhs.append(b)
    for a, b_stat, change in k.differences:
        # mean_b - mean_a = change, each mean being (hidden sum + visible sum) / n
        ra, _ba = equation(a, 1.0 / a.n)
        rb, _bb = equation(b_stat, 1.0 / b_stat.n)
        rows.append(rb - ra)
        rhs.append(change - (_known_mean(k, b_stat) - _known_mean(k, a)))
    A = np.array(rows) if rows else np.zeros((0, len(unknowns)))
    return unknowns, A, np.array(rhs)


def _known_mean(k: Knowledge, stat: Statistic) -> float:
    vis = k.visible.get(stat.measure, {})
    return sum(vis[m] for m in stat.members if m in vis) / stat.n


def derived_linear(k: Knowledge, tol: float = 1e-6, p: float = 0.0) -> list[tuple]:
    """Hidden values pinned by the released sums and the bounds (exact LP ranges).

    With `p` > 0, also the values confined to a range narrower than p% of the larger of the
    value and the measure's mean magnitude (approximate disclosure)."""
    unknowns, A, b = _system(k)
    if not unknowns:
        return []
    bounds = []
    for measure, _member in unknowns:
        lo, hi = k.bounds.get(measure, (-np.inf, np.inf))
        bounds.append((None if not np.isfinite(lo) else lo, None if not np.isfinite(hi) else hi))
    found = []
    for i, u in enumerate(unknowns):
        if not A.shape[0] or not A[:, i].any():
            continue
        c = np.zeros(len(unknowns))
        c[i] = 1.0
        lo = optimize.linprog(c, A_eq=A, b_eq=b, bounds=bounds, method="highs")
        hi = optimize.linprog(-c, A_eq=A, b_eq=b, bounds=bounds, method="highs")
        if lo.status == 0 and hi.status == 0:
            width = -hi.fun - lo.fun
            truth = k.hidden_truth[u[0]][u[1]]
            values = [*k.visible.get(u[0], {}).values(), *k.hidden_truth[u[0]].values()]
            protection = p / 100 * max(abs(truth), float(np.mean(np.abs(values))))
            if width <= tol * max(1.0, abs(truth)) or width < protection - 1e-9:
                found.append(u)
        elif lo.status == 3 or hi.status == 3:  # unbounded: not pinned
            continue
    return found


def derived_rank(k: Knowledge) -> list[tuple]:
    """Hidden values in the row space of the released sums (no bounds): least-squares attack."""
    unknowns, A, b = _system(k)
    if not unknowns or not A.shape[0]:
        return []
    basis = linalg.null_space(A)
    free = np.linalg.norm(basis, axis=1) > 1e-8 if basis.size else np.zeros(len(unknowns), bool)
    solution = np.linalg.lstsq(A, b, rcond=None)[0]
    found = []
    for i, u in enumerate(unknowns):
        if A[:, i].any() and not free[i]:
            assert abs(solution[i] - k.hidden_truth[u[0]][u[1]]) < 1e-6 * max(
                1.0, abs(solution[i]))  # the attack really recovers it
            found.append(u)
    return found


def derived_discrete(k: Knowledge) -> list[tuple]:
    """For measures with levels: hidden values that no other level assignment explains."""
    unknowns, A, b = _system(k)
    found = []
    for measure, levels in k.levels.items():
        idx = [i for i, u in enumerate(unknowns) if u[0] == measure]
        if not idx:
            continue
        lv = np.asarray(levels, float)
        L = len(lv)
        inside = np.zeros(A.shape[1], bool)
        inside[idx] = True
        rows = [r for r in range(A.shape[0]) if A[r, idx].any() and not A[r, ~inside].any()]
        # z[j, l]: unknown idx[j] takes level l
        eqs, rhs = [], []
        for j in range(len(idx)):
            e = np.zeros(len(idx) * L)
            e[j * L:(j + 1) * L] = 1
            eqs.append(e)
            rhs.append(1.0)
        for r in rows:
            e = np.zeros(len(idx) * L)
            for j, i in enumerate(idx):
                e[j * L:(j + 1) * L] = A[r, i] * lv
            eqs.append(e)
            rhs.append(b[r])
        con = optimize.LinearConstraint(np.array(eqs), np.array(rhs) - 1e-7,
                                        np.array(rhs) + 1e-7)
        for j, i in enumerate(idx):
            truth = k.hidden_truth[measure][unknowns[i][1]]
            ub = np.ones(len(idx) * L)
            ub[j * L + int(np.argmin(np.abs(lv - truth)))] = 0
            res = optimize.milp(np.zeros(len(idx) * L), constraints=[con],
                                integrality=np.ones(len(idx) * L),
                                bounds=optimize.Bounds(0, ub))
            if res.status != 0:
                found.append(unknowns[i])
    return found


def exposed_by_quantiles(k: Knowledge, tol: float = 1e-9) -> list[tuple]:
    """Hidden values that a released median or quartile is, or is interpolated from.

    With the true data (the hidden values are known to this test), the order statistics that
    a released quantile is computed from are found; if one of them is a hidden member's value
    (or a hidden value equals it), the quantile hands that value, or a linear equation in it,
    to the viewer."""
    found = []
    for s in k.stats:
        vis = k.visible.get(s.measure, {})
        hid = k.hidden_truth.get(s.measure, {})
        values = {m: (vis[m] if m in vis else hid[m]) for m in s.members}
        ordered = sorted(values.values())
        for name, q in s.quantiles.items():
            if q is None or not np.isfinite(q):
                continue
            h = (len(ordered) - 1) * QUANTILE_P[name]
            lo = int(np.floor(h))
            used = [ordered[lo]] + ([ordered[lo + 1]] if h - lo > tol else [])
            assert abs(np.quantile(ordered, QUANTILE_P[name]) - q) <= 1e-7 * max(1, abs(q))
            for member, value in values.items():
                if member in hid and any(abs(value - u) <= tol * max(1.0, abs(u))
                                         for u in used):
                    found.append((s.measure, member))
    return found


def attack(k: Knowledge, p: float = 0.0) -> set[tuple]:
    """Every hidden value any of the attacks derives (or, with `p`, narrows to within p%)."""
    continuous = Knowledge(
        k.visible, {m: v for m, v in k.hidden_truth.items() if m not in k.levels},
        [s for s in k.stats if s.measure not in k.levels], k.bounds, {},
        [d for d in k.differences if d[0].measure not in k.levels
         and d[1].measure not in k.levels])
    found = set(derived_linear(continuous, p=p)) | set(derived_rank(continuous))
    found |= set(derived_discrete(k))
    found |= set(exposed_by_quantiles(k))
    return found
