"""An attacker, written apart from `pmm.analysis.sdc` and `pmm.analysis.audit`, that tries to
recover hidden values.

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

Channels beyond one release (see `tests/analysis/test_release_attack.py`):
- several audiences and successive releases: their statistics are simply more equations on the
  same unknowns (`Knowledge.stats`); a value that changed between releases is another unknown;
- linear measures: `identities` are relations the framework fixes between one member's values
  of several measures (an SDG target score is the mean of its outcomes' scores), and
  `combinations` are released figures that are linear combinations of group means of several
  measures (a dimension figure computed from outcome means);
- member knowledge: `knowing(k, member)` moves one member's hidden values to the known ones (an
  NCP knows its own member's values, a peer reviewer those it reviews);
- relative scores and what-if sweeps: `breakpoints` bisects a member's own score as a function of
  its own value (a percentile rank jumps at every other value in the pool), `zscore_pool` reads
  the sum and sum of squares of the others in the pool off two z-scores, and `from_moments`
  solves for one or two unknown values from them;
- tie oracles: `tie_oracle` intersects the groups where a position was withheld "because a hidden
  value equals yours".
"""

from __future__ import annotations

from collections.abc import Callable
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
    # per-member relations: ({(measure, member): coefficient}, constant) meaning Σ c x = constant
    identities: list[tuple[dict[tuple, float], float]] = field(default_factory=list)
    # released linear combinations of group means: ([(coefficient, statistic)], value) meaning
    # Σ c · mean(statistic) = value (the statistics' own means may be withheld)
    combinations: list[tuple[list[tuple[float, Statistic]], float]] = field(default_factory=list)


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
    for coefficients, constant in k.identities:
        row = np.zeros(len(unknowns))
        known = 0.0
        for (measure, member), c in coefficients.items():
            if member in k.visible.get(measure, {}):
                known += c * k.visible[measure][member]
            elif (measure, member) in col:
                row[col[(measure, member)]] += c
        if row.any():
            rows.append(row)
            rhs.append(constant - known)
    for parts, value in k.combinations:
        row = np.zeros(len(unknowns))
        known = 0.0
        for c, stat in parts:
            r, _b = equation(stat, c / stat.n)
            row += r
            known += c * _known_mean(k, stat)
        rows.append(row)
        rhs.append(value - known)
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
         and d[1].measure not in k.levels], k.identities,
        [c for c in k.combinations if all(s.measure not in k.levels for _c, s in c[0])])
    found = set(derived_linear(continuous, p=p)) | set(derived_rank(continuous))
    found |= set(derived_discrete(k))
    found |= set(exposed_by_quantiles(k))
    return found


def knowing(k: Knowledge, member: str) -> Knowledge:
    """The same knowledge for an adversary that also knows every value of `member`."""
    visible = {m: dict(v) for m, v in k.visible.items()}
    hidden = {}
    for measure, values in k.hidden_truth.items():
        hidden[measure] = {p: x for p, x in values.items() if p != member}
        if member in values:
            visible.setdefault(measure, {})[member] = values[member]
    return Knowledge(visible, hidden, k.stats, k.bounds, k.levels, k.differences,
                     k.identities, k.combinations)


def breakpoints(score: Callable[[float], float], lo: float, hi: float, *, steps: int = 64,
                tol: float = 1e-7) -> list[float]:
    """Where a member's own score jumps as its own value sweeps [lo, hi] (a what-if sweep): a
    grid, then bisection inside every cell where the score changes. A percentile rank jumps at
    every value of the pool it is ranked in."""
    grid = np.linspace(lo, hi, steps + 1)
    scores = [score(float(v)) for v in grid]
    found = []
    for a, b, sa, sb in zip(grid[:-1], grid[1:], scores[:-1], scores[1:], strict=True):
        if abs(sa - sb) <= 1e-12:
            continue
        # a cell may hold several jumps: split it until each piece holds one, then bisect
        stack = [(float(a), float(b), sa, sb)]
        while stack:
            a0, b0, s0, s1 = stack.pop()
            if b0 - a0 <= tol:
                found.append((a0 + b0) / 2)
                continue
            m = (a0 + b0) / 2
            sm = score(m)
            if abs(sm - s0) > 1e-12:
                stack.append((a0, m, s0, sm))
            if abs(s1 - sm) > 1e-12:
                stack.append((m, b0, sm, s1))
    return sorted(found)


def zscore_pool(z: Callable[[float], float], v1: float, v2: float, n: int
                ) -> tuple[float, float] | None:
    """The sum and the sum of squares of the n - 1 other values of a pool, from one's own
    z-score (sample s.d.) at two values of one's own (the own value is in the pool).

    With m = n - 1 others of sum S and squares Q: z² (Q + v² - (S + v)²/n) = (n - 1) d², where
    d = (m v - S)/n; Q is eliminated between the two queries, leaving a quadratic in S."""
    m = n - 1

    def coefficients(v: float, zv: float) -> np.ndarray:  # f(S) = z² Q, as S², S, 1
        return np.array([(n - 1) / n**2 + zv * zv / n,
                         -2 * m * v * (n - 1) / n**2 + 2 * zv * zv * v / n,
                         (n - 1) * m * m * v * v / n**2 - zv * zv * v * v + zv * zv * v * v / n])

    z1, z2 = z(v1), z(v2)
    if abs(z1) < 1e-12 or abs(z2) < 1e-12:
        return None
    f1, f2 = coefficients(v1, z1), coefficients(v2, z2)
    for root in np.roots(f1 / z1**2 - f2 / z2**2):
        if abs(root.imag) > 1e-9:
            continue
        total = float(root.real)
        if np.sign(m * v1 - total) == np.sign(z1) and np.sign(m * v2 - total) == np.sign(z2):
            return total, float(np.polyval(f1, total) / z1**2)
    return None


def from_moments(total: float, squares: float, known: list[float], unknown: int
                 ) -> list[float] | None:
    """One or two unknown values from the sum and the sum of squares of a pool whose other
    values are known (None if more are unknown)."""
    s = total - sum(known)
    q = squares - sum(v * v for v in known)
    if unknown == 1:
        return [s]
    if unknown == 2:
        disc = 2 * q - s * s
        if disc < -1e-6:
            return None
        r = np.sqrt(max(disc, 0.0))
        return [(s - r) / 2, (s + r) / 2]
    return None


def tie_oracle(flags: dict[frozenset[str], bool], hidden: set[str]) -> set[str]:
    """Members a "position withheld: a hidden value equals yours" oracle pins to one's own value.

    `flags`: for each group (its members), whether the position was withheld (True) or released
    (False, so no hidden member of it has one's value). A hidden member in a withheld group and
    in no released group is a candidate; a withheld group with a single candidate pins it."""
    cleared = set().union(*[g for g, w in flags.items() if not w]) if flags else set()
    pinned = set()
    for group, withheld in flags.items():
        if withheld:
            candidates = (group & hidden) - cleared
            if len(candidates) == 1:
                pinned |= candidates
    return pinned
