"""Statistical disclosure control: which group statistics a viewer may receive.

One call decides, for one measure of one cycle (a KPI value, or a score), the statistics of every
group of every grouping a viewer can ask for. Deciding them all at once is what makes differencing
between groupings safe: the decision about the regions knows about the income groups.

The guarantee (docs/analysis.md proves it): for every value the viewer may not see (a "protected"
value), at least two data sets are consistent with everything the viewer receives - the values
it may see, every released n, mean, median, quartile and position of every grouping, and the
domain of the measure (bounds such as 0-100 %, or the levels of a yes/no KPI) - and they differ in
that value. So no protected value can be derived, by linear algebra or by order statistics.

The rules, in order:
1. minimum size: a group of fewer than `min_n` members releases nothing but n;
2. single protected member: a group with exactly one protected value releases nothing (its mean
   times n minus the visible values would be that value);
3. dominance (p% rule, non-negative measures): a group is withheld when the protected values other
   than the largest sum to no more than p% of the largest, so nobody can estimate it closely;
4. order statistics: a median or quartile is released only when the order statistics it is
   interpolated from are visible values and no protected value equals them; so it is never a
   protected value, nor computed from one. A member's position is released only when no protected
   value equals the member's own;
5. audit and secondary suppression: the released means of all groupings form linear equations in
   the protected values. A protected value is determined exactly when no perturbation of the
   protected values that keeps every released statistic (and the domain) changes it. The audit
   finds such values (linear programming and a null space for continuous measures; an exact
   integer program for measures with a few levels) and withholds one more group containing each,
   the smallest first, until none is left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, optimize

from pmm.errors import PmmError
from pmm.i18n import _

TOL = 1e-9
QUANTILES = (("q1", 0.25), ("median", 0.5), ("q3", 0.75))
STATS = ("mean", "median", "q1", "q3")


@dataclass(frozen=True)
class Domain:
    """What anyone knows of a measure's values beforehand: bounds, and levels if discrete."""

    lo: float = -np.inf
    hi: float = np.inf
    levels: tuple[float, ...] | None = None

    @property
    def discrete(self) -> bool:
        return self.levels is not None

    @property
    def nonnegative(self) -> bool:
        return self.lo >= 0


@dataclass(frozen=True)
class Rules:
    """Parameters of the disclosure control (docs/analysis.md explains the defaults)."""

    min_n: int = 3
    dominance_p: float = 10.0
    protection_p: float = 1.0

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.min_n, int | np.integer) or self.min_n < 1:
            problems.append(_("--min-n {value!r}: expected a whole number ≥ 1").format(
                value=self.min_n))
        if not 0 <= float(self.dominance_p) <= 100:
            problems.append(_("--dominance {value!r}: expected a percentage from 0 to 100")
                            .format(value=self.dominance_p))
        if not 0 <= float(self.protection_p) <= 100:
            problems.append(_("--protection {value!r}: expected a percentage from 0 to 100")
                            .format(value=self.protection_p))
        if problems:
            raise PmmError(*problems)


@dataclass
class Release:
    """What one viewer receives for each group (arrays over groups; NaN where withheld)."""

    n: np.ndarray
    mean: np.ndarray
    median: np.ndarray
    q1: np.ndarray
    q3: np.ndarray
    position: np.ndarray
    code: np.ndarray  # "" released, else min_n, single, dominance, secondary
    withheld_quantiles: list[list[str]] = field(default_factory=list)
    position_withheld: np.ndarray | None = None

    def reasons(self, rules: Rules) -> list[str]:
        """The reason of each group's withheld statistics, in the current language."""
        out = []
        for i, code in enumerate(self.code):
            parts = []
            if code:
                parts.append(reason_text(code, rules))
            elif self.withheld_quantiles[i]:
                parts.append(_("{stats} withheld: each would be, or be computed from, a value "
                               "you may not see").format(stats=", ".join(
                                   self.withheld_quantiles[i])))
            if self.position_withheld is not None and self.position_withheld[i]:
                parts.append(_("position withheld: a value you may not see equals yours"))
            out.append("; ".join(parts))
        return out

    @property
    def suppressed(self) -> np.ndarray:
        """True where any of mean, median, q1 or q3 is withheld."""
        return (self.code != "") | np.array([bool(w) for w in self.withheld_quantiles], bool)


def reason_text(code: str, rules: Rules) -> str:
    texts = {
        "min_n": _("fewer than {k} members reported").format(k=rules.min_n),
        "single": _("with the values you can see, it would reveal the one value in the group "
                    "you may not see"),
        "dominance": _("one member's value dominates the group (p% rule, p = {p:g})").format(
            p=rules.dominance_p),
        "secondary": _("withheld so that no value you may not see can be derived from the other "
                       "statistics released (secondary suppression)"),
    }
    return texts[code]


def release(values: np.ndarray, visible: np.ndarray, incidence: np.ndarray, domain: Domain,
            rules: Rules, *, own: int | None = None, direction: int = 1,
            priority: Sequence[float] | None = None, own_value: float | None = None,
            own_groups: np.ndarray | None = None) -> Release:
    """Decide every group statistic of one measure for one viewer.

    `values`: the validated values (finite) of the members; `visible`: which of them the viewer
    may see; `incidence`: groups × members, True where the member is in the group (groups of all
    groupings the viewer can ask for, together); `own`: index of the viewer's own member, for
    its position (share of the others in the group doing worse, `direction` 1 when higher is
    better); when the member's own value is not among `values` (not validated yet), give it as
    `own_value` with the groups it belongs to as `own_groups`; `priority`: order in which groups
    are withheld by the audit (lowest first; default the group size).
    """
    x = np.asarray(values, dtype=float)
    vis = np.asarray(visible, dtype=bool)
    inc = np.asarray(incidence, dtype=bool).reshape(-1, len(x))
    if not np.isfinite(x).all():
        raise ValueError("release() needs finite values; drop missing ones first")
    prot = ~vis
    if own is not None:
        own_value, own_groups = float(x[own]), inc[:, own]
    if own_value is not None and own_groups is None:
        raise ValueError("own_value needs own_groups")
    n = inc.sum(axis=1)
    n_prot = (inc & prot).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, (inc * x).sum(axis=1) / np.maximum(n, 1), np.nan)
    code = np.full(len(inc), "", dtype=object)
    code[n < rules.min_n] = "min_n"
    code[(code == "") & (n_prot == 1)] = "single"
    if not domain.discrete and domain.nonnegative and rules.dominance_p > 0:
        in_prot = inc & prot
        largest = np.where(in_prot, x, -np.inf).max(axis=1, initial=-np.inf)
        total = (in_prot * x).sum(axis=1)
        dominated = (n_prot >= 2) & (largest > 0) & (
            total - largest <= rules.dominance_p / 100 * largest)
        code[(code == "") & dominated] = "dominance"
    order = np.asarray(priority if priority is not None else n, dtype=float)
    # approximate disclosure: no hidden value may be narrowed to an interval narrower than
    # protection_p % of the larger of itself and the measure's mean magnitude
    scale = float(np.mean(np.abs(x))) if len(x) else 0.0
    protection = rules.protection_p / 100 * np.maximum(np.abs(x), scale)

    quant = {name: np.full(len(inc), np.nan) for name, _q in QUANTILES}
    withheld: list[list[str]] = [[] for _g in range(len(inc))]
    used: list[list[float]] = [[] for _g in range(len(inc))]  # order statistics released
    position = np.full(len(inc), np.nan)
    pos_withheld = np.zeros(len(inc), dtype=bool)
    for g in np.flatnonzero(code == ""):
        members = np.flatnonzero(inc[g])
        xs = x[members]
        sorted_x = np.sort(xs)
        prot_values = xs[prot[members]]
        for name, q in QUANTILES:
            h = (len(xs) - 1) * q
            lo = int(np.floor(h))
            frac = h - lo
            picks = [sorted_x[lo]] + ([sorted_x[lo + 1]] if frac > TOL else [])
            # held by visible members only when no protected value equals it: then the
            # quantile is a function of visible values and of ranks, never of a protected value
            if not np.isin(prot_values, picks).any():
                quant[name][g] = float(np.quantile(xs, q))
                used[g].extend(picks)
            else:
                withheld[g].append(name)
        if own_value is not None and own_groups is not None and own_groups[g]:
            others = members[members != own] if own is not None else members
            tie = x[others] == own_value
            if (tie & prot[others]).any():
                pos_withheld[g] = True
            elif len(others):
                worse = direction * (x[others] - own_value) < 0
                position[g] = 100.0 * (worse.sum() + 0.5 * tie.sum()) / len(others)

    released = code == ""
    # groups withheld for their size or dominance keep that protection: their hidden sum must
    # not be derivable by differencing either (continuous measures; see _exposed_sums)
    sensitive = np.flatnonzero(np.isin(code, ("min_n", "dominance")) & (n_prot >= 2))
    safe = np.zeros(len(x), dtype=bool)
    while True:
        rows = np.flatnonzero(released & (n_prot > 0))
        determined = _determined(x, prot, inc, rows, domain, used, own_value, position,
                                 direction, protection, safe)
        # withholding a group only removes an equation: what is safe now stays safe
        safe |= prot & ~determined
        if determined.any():
            hit = _culprits(inc, rows, prot, determined)
        else:
            exposed = [] if domain.discrete else _exposed_sums(x, prot, inc, rows, sensitive,
                                                               domain)
            if not exposed:
                break
            hit = _culprits(inc, rows, prot, inc[exposed[0]] & prot, whole=True)
        if not len(hit):
            break  # only a degenerate domain (a single possible value) determines these
        g = hit[np.lexsort((hit, order[hit]))][0]
        code[g] = "secondary"
        released[g] = False
    for g in np.flatnonzero(~released):
        mean[g] = np.nan
        for name, _q in QUANTILES:
            quant[name][g] = np.nan
        withheld[g] = []
        position[g] = np.nan
        pos_withheld[g] = False
    return Release(n=n, mean=mean, median=quant["median"], q1=quant["q1"], q3=quant["q3"],
                   position=position, code=code, withheld_quantiles=withheld,
                   position_withheld=pos_withheld)


def _determined(x: np.ndarray, prot: np.ndarray, inc: np.ndarray, rows: np.ndarray,
                domain: Domain, used: list[list[float]], own_value: float | None,
                position: np.ndarray, direction: int, protection: np.ndarray,
                safe: np.ndarray) -> np.ndarray:
    """Mask over all members: protected values that the released statistics determine, or (for
    continuous measures) narrow down to an interval narrower than `protection`. Values in
    `safe` were shown safe under more equations, so they are not checked again."""
    out = np.zeros(len(x), dtype=bool)
    pidx = np.flatnonzero(prot)
    if not len(pidx):
        return out
    A = inc[rows][:, pidx].astype(float)
    if domain.discrete and _on_levels(x[pidx], domain.levels or ()):
        out[pidx] = _determined_discrete(x, pidx, inc, rows, domain, used, own_value,
                                         position, direction)
    else:
        lower, upper = _bounds_masks(x[pidx], domain)
        exact = determined_continuous(A, lower, upper)
        out[pidx] = exact | narrowed(A, x[pidx], domain, protection[pidx],
                                     ~exact & ~safe[pidx])
    return out


def narrowed(A: np.ndarray, xp: np.ndarray, domain: Domain, protection: np.ndarray,
             candidates: np.ndarray) -> np.ndarray:
    """Which hidden values the released sums and the bounds confine to an interval narrower
    than `protection`.

    The range of value p over all data consistent with the release is [x_p + min δ_p,
    x_p + max δ_p] over perturbations δ with A δ = 0 inside the bounds. A cheap lower bound
    comes from moving along the projection of e_p on the null space of A as far as the bounds
    allow; only where that is not enough are the two linear programs solved.
    """
    k = len(xp)
    out = np.zeros(k, dtype=bool)
    if not candidates.any() or not (protection > 0).any():
        return out
    down = np.full(k, domain.lo) - xp  # ≤ 0 (−∞ when unbounded)
    up = np.full(k, domain.hi) - xp  # ≥ 0
    basis = linalg.null_space(A) if A.shape[0] and A.any() else np.eye(k)
    V = basis @ basis.T  # column p: the perturbation that moves p most per unit of norm
    V[np.abs(V) < 1e-12] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        t_lo = np.where(V > 0, down[:, None] / V, np.where(V < 0, up[:, None] / V, -np.inf))
        t_hi = np.where(V > 0, up[:, None] / V, np.where(V < 0, down[:, None] / V, np.inf))
    t_lo = np.nan_to_num(t_lo, nan=0.0, neginf=-np.inf, posinf=np.inf).max(axis=0)
    t_hi = np.nan_to_num(t_hi, nan=0.0, neginf=-np.inf, posinf=np.inf).min(axis=0)
    with np.errstate(invalid="ignore"):
        width = np.diag(V) * (t_hi - t_lo)
    width = np.nan_to_num(width, nan=0.0)
    check = candidates & (width < protection)
    bounds = [(None if not np.isfinite(d) else d, None if not np.isfinite(u) else u)
              for d, u in zip(down, up, strict=True)]
    if A.shape[0] and check.any():
        # batches: one LP moves many values up as far as their protection, one down; every
        # solution is a consistent alternative, so a value's range covers all it moved to
        seen_lo, seen_hi = np.zeros(k), np.zeros(k)
        for _round in range(3):
            targets = np.flatnonzero(check)
            if not len(targets):
                break
            for sign in (1.0, -1.0):
                delta = _batch_move(A, bounds, targets, protection[targets], sign)
                seen_lo, seen_hi = np.minimum(seen_lo, delta), np.maximum(seen_hi, delta)
            still = check & (seen_hi - seen_lo < protection)
            if still.sum() == check.sum():
                break
            check = still
    for p in np.flatnonzero(check):
        c = np.zeros(k)
        c[p] = 1.0
        lo = optimize.linprog(c, A_eq=A, b_eq=np.zeros(A.shape[0]), bounds=bounds,
                              method="highs") if A.shape[0] else None
        hi = optimize.linprog(-c, A_eq=A, b_eq=np.zeros(A.shape[0]), bounds=bounds,
                              method="highs") if A.shape[0] else None
        if lo is None or lo.status == 3 or hi.status == 3:
            continue  # unbounded: not narrowed
        if lo.status != 0 or hi.status != 0:
            raise RuntimeError(f"disclosure audit LP failed: {lo.message} / {hi.message}")
        out[p] = (-hi.fun - lo.fun) < protection[p]
    return out


def _bounds_masks(xp: np.ndarray, domain: Domain) -> tuple[np.ndarray, np.ndarray]:
    """Which protected values sit at the domain's lower and upper bound."""
    lower = xp <= domain.lo + TOL * max(1.0, abs(domain.lo)) if np.isfinite(domain.lo) \
        else np.zeros(len(xp), bool)
    upper = xp >= domain.hi - TOL * max(1.0, abs(domain.hi)) if np.isfinite(domain.hi) \
        else np.zeros(len(xp), bool)
    return lower, upper


def _exposed_sums(x: np.ndarray, prot: np.ndarray, inc: np.ndarray, rows: np.ndarray,
                  sensitive: np.ndarray, domain: Domain) -> list[int]:
    """Withheld small or dominated groups whose hidden sum the released sums determine.

    The sum is determined when every perturbation that keeps the released sums and the domain
    keeps it too: the same test as for one value, on a linear functional.
    """
    pidx = np.flatnonzero(prot)
    if not len(sensitive) or not len(pidx):
        return []
    A = inc[rows][:, pidx].astype(float)
    lower, upper = _bounds_masks(x[pidx], domain)
    out = []
    for g in sensitive:
        f = inc[g][pidx].astype(float)
        if not A.shape[0]:
            continue
        if not (lower | upper).any():
            c = np.linalg.lstsq(A.T, f, rcond=None)[0]
            if np.allclose(A.T @ c, f, atol=1e-8):
                out.append(int(g))
            continue
        bounds = [(0.0, 0.0) if lo and hi else (0.0, 1.0) if lo else (-1.0, 0.0) if hi
                  else (-1.0, 1.0) for lo, hi in zip(lower, upper, strict=True)]
        moves = [optimize.linprog(sign * f, A_eq=A, b_eq=np.zeros(A.shape[0]), bounds=bounds,
                                  method="highs") for sign in (1.0, -1.0)]
        if all(r.status == 0 and abs(r.fun) <= 1e-9 for r in moves):
            out.append(int(g))
    return out


def _culprits(inc: np.ndarray, rows: np.ndarray, prot: np.ndarray, members: np.ndarray,
              whole: bool = False) -> np.ndarray:
    """Released groups whose withholding can undo a determination.

    `members`: a mask over members; the determined quantity is the first of them (`whole`
    False: a value) or their sum (`whole` True: a withheld group's hidden sum). When it is a
    linear combination of released sums (Σ c_r A_r), the groups with c_r ≠ 0 are those combined:
    withholding one of them breaks that combination. Otherwise (a bound or the levels pin it),
    the groups that contain one of the members.
    """
    pidx = np.flatnonzero(prot)
    A = inc[rows][:, pidx].astype(float)
    target = np.zeros(len(pidx))
    if whole:
        target[members[pidx]] = 1.0
    else:
        target[int(np.flatnonzero(members[pidx])[0])] = 1.0
    c = np.linalg.lstsq(A.T, target, rcond=None)[0]
    if np.allclose(A.T @ c, target, atol=1e-8):
        return rows[np.abs(c) > 1e-8]
    return rows[(inc[rows][:, members]).any(axis=1)]


def _on_levels(values: np.ndarray, levels: Sequence[float]) -> bool:
    lv = np.asarray(levels, dtype=float)
    return bool(len(lv)) and bool(np.isclose(values[:, None], lv[None, :]).any(axis=1).all())


def _batch_move(A: np.ndarray, bounds: list, targets: np.ndarray, caps: np.ndarray,
                sign: float) -> np.ndarray:
    """A perturbation keeping the released sums that moves the `targets` (in direction `sign`)
    as far as their caps, as many as possible."""
    k, t = A.shape[1], len(targets)
    weights = 1.0 / np.maximum(caps, 1e-12)
    c = np.concatenate([np.zeros(k), -weights])
    a_ub = np.zeros((t, k + t))
    a_ub[np.arange(t), k + np.arange(t)] = 1.0
    a_ub[np.arange(t), targets] = -sign
    a_eq = np.hstack([A, np.zeros((A.shape[0], t))])
    res = optimize.linprog(c, A_ub=a_ub, b_ub=np.zeros(t), A_eq=a_eq, b_eq=np.zeros(A.shape[0]),
                           bounds=[*bounds, *((0.0, float(cap)) for cap in caps)],
                           method="highs")
    if res.status != 0:
        raise RuntimeError(f"disclosure audit LP failed: {res.message}")
    return res.x[:k]


def determined_continuous(A: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Which unknowns are fixed by `A δ = 0` with δ ≥ 0 where `lower`, δ ≤ 0 where `upper`.

    An unknown is undetermined when some small perturbation δ of the protected values keeps
    every released sum (A δ = 0) and the domain (a value at its lower bound can only go up, at its
    upper bound only down) and moves it. First the sign-constrained unknowns that can move are
    found by repeated linear programs (each round maximises the movement of those not yet shown
    movable; their sum keeps every sign, so one perturbation moves all of them); the others are
    fixed at 0, and the free unknowns that can move are those with a non-zero row in the null
    space of the remaining system.
    """
    k = A.shape[1]
    lower = np.asarray(lower, bool).copy()
    upper = np.asarray(upper, bool).copy()
    fixed = lower & upper  # a value known beforehand (degenerate domain)
    lower &= ~fixed
    upper &= ~fixed
    signed = np.flatnonzero(lower | upper)
    movable_signed = np.zeros(k, dtype=bool)
    if len(signed) and A.shape[0]:
        open_ = set(signed.tolist())
        while open_:
            moved = _lp_round(A, lower, upper, fixed, sorted(open_))
            if not moved:
                break
            movable_signed[moved] = True
            open_ -= set(moved)
        fixed |= (lower | upper) & ~movable_signed
    elif len(signed):
        movable_signed[signed] = True
    free = ~fixed
    determined = fixed.copy()
    if not free.any():
        return determined
    if A.shape[0] == 0:
        return determined
    basis = linalg.null_space(A[:, free]) if A[:, free].any() else np.eye(int(free.sum()))
    movable = np.linalg.norm(basis, axis=1) > 1e-7 if basis.size else np.zeros(int(free.sum()),
                                                                                 bool)
    determined[np.flatnonzero(free)] = ~movable
    return determined


def _lp_round(A: np.ndarray, lower: np.ndarray, upper: np.ndarray, fixed: np.ndarray,
              targets: list[int]) -> list[int]:
    """One LP: the sign-constrained unknowns among `targets` that some perturbation moves."""
    k = A.shape[1]
    t = len(targets)
    # variables: δ (k), y (t); maximise Σ y with y_j ≤ |δ_targets[j]| (sign known), y ≤ 1
    c = np.concatenate([np.zeros(k), -np.ones(t)])
    a_eq = np.hstack([A, np.zeros((A.shape[0], t))])
    b_eq = np.zeros(A.shape[0])
    a_ub = np.zeros((t, k + t))
    for j, i in enumerate(targets):
        a_ub[j, k + j] = 1.0
        a_ub[j, i] = -1.0 if lower[i] else 1.0
    bounds = []
    for i in range(k):
        if fixed[i]:
            bounds.append((0.0, 0.0))
        elif lower[i]:
            bounds.append((0.0, 1.0))
        elif upper[i]:
            bounds.append((-1.0, 0.0))
        else:
            bounds.append((-1.0, 1.0))
    bounds += [(0.0, 1.0)] * t
    res = optimize.linprog(c, A_ub=a_ub, b_ub=np.zeros(t), A_eq=a_eq, b_eq=b_eq, bounds=bounds,
                           method="highs")
    if res.status != 0:
        raise RuntimeError(f"disclosure audit LP failed: {res.message}")
    y = res.x[k:]
    return [i for j, i in enumerate(targets) if y[j] > 1e-7]


def _determined_discrete(x: np.ndarray, pidx: np.ndarray, inc: np.ndarray, rows: np.ndarray,
                         domain: Domain, used: list[list[float]], own_value: float | None,
                         position: np.ndarray, direction: int) -> np.ndarray:
    """Exact check for a measure with a few levels (e.g. yes/no): for each protected value, is
    there another assignment of levels to the protected members that gives every released
    statistic unchanged? First by swapping two members in exactly the same released groups
    (which changes nothing any viewer receives), then by an integer program."""
    levels = np.asarray(domain.levels, dtype=float)
    xp = x[pidx]
    k, L = len(pidx), len(levels)
    level_of = np.argmin(np.abs(xp[:, None] - levels[None, :]), axis=1)
    member_rows = inc[rows][:, pidx]
    signature = [member_rows[:, i].tobytes() for i in range(k)]
    by_signature: dict[bytes, set[int]] = {}
    for i, s in enumerate(signature):
        by_signature.setdefault(s, set()).add(int(level_of[i]))
    out = np.zeros(k, dtype=bool)
    pending = [i for i in range(k) if len(by_signature[signature[i]]) < 2]
    if not pending:
        return out
    # linear equalities over z[i, l] (member i has level l), flattened i * L + l
    eq_rows: list[np.ndarray] = []
    eq_b: list[float] = []
    for i in range(k):
        row = np.zeros(k * L)
        row[i * L:(i + 1) * L] = 1.0
        eq_rows.append(row)
        eq_b.append(1.0)

    def count_row(members: np.ndarray, level_mask: np.ndarray) -> np.ndarray:
        row = np.zeros((k, L))
        row[np.ix_(members, np.flatnonzero(level_mask))] = 1.0
        return row.ravel()

    for r_i, g in enumerate(rows):
        members = np.flatnonzero(member_rows[r_i])
        row = np.zeros((k, L))
        row[members, :] = levels[None, :]
        eq_rows.append(row.ravel())
        eq_b.append(float(xp[members].sum()))
        for u in sorted(set(used[g])):
            eq_rows.append(count_row(members, levels < u - TOL))
            eq_b.append(float((xp[members] < u - TOL).sum()))
            eq_rows.append(count_row(members, np.isclose(levels, u)))
            eq_b.append(float(np.isclose(xp[members], u).sum()))
        if own_value is not None and np.isfinite(position[g]):
            o = own_value
            worse_levels = direction * (levels - o) < -TOL
            eq_rows.append(count_row(members, worse_levels))
            eq_b.append(float((direction * (xp[members] - o) < -TOL).sum()))
            eq_rows.append(count_row(members, np.isclose(levels, o)))
            eq_b.append(float(np.isclose(xp[members], o).sum()))
    a_eq = np.vstack(eq_rows)
    b_eq = np.asarray(eq_b)
    constraint = optimize.LinearConstraint(a_eq, b_eq, b_eq)
    for i in pending:
        upper = np.ones(k * L)
        upper[i * L + level_of[i]] = 0.0  # member i must take another level
        res = optimize.milp(np.zeros(k * L), constraints=[constraint],
                            integrality=np.ones(k * L), bounds=optimize.Bounds(0.0, upper))
        out[i] = res.status != 0 or res.x is None
    return out
