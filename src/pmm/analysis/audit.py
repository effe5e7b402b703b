"""The audit of a release: which group statistics of one measure each audience may receive.

`sdc.release` decides one measure for one viewer at one moment. A release is read by many
principals at once and stays readable, so `decide` audits, for one measure of one cycle, the
statistics of both audiences together against every adversary that can combine them:

- audiences: the public release (read by everyone) and the WCO-level release (read by NCPs and
  peer reviewers, who also read the public one). Hidden from the public: WCO-level and
  restricted values; hidden from the WCO level: restricted values;
- member knowledge: each adversary may also know one member's own values (an NCP or a member's
  viewer knows its member's, a peer reviewer the submission it reviews), so a value must stay
  protected when any one other value is known;
- time: the statistics of every earlier release of the cycle (withdrawn ones too: they were
  read) are fixed equations; a value that changed since is a separate unknown.

A hidden value is safe against an adversary when the audit exhibits a perturbation of the values
the adversary does not know that keeps every statistic it receives and the domain, and moves the
value over an interval at least `protection` wide (an exact test for values that no perturbation
moves, a cheap witness otherwise: the projection of the value's axis on the null space, with the
values at a bound held, and a linear program where that witness falls short). For measures with
levels (yes/no) a hidden value is safe when two other hidden members of another level fall in
exactly the same released groups: swapping with either changes nothing anyone receives.

Suppression keeps the released set useful: primary rules first (minimum size, one or two hidden
values, the p% rule with the second largest as intruder), then, while something is unsafe, the
smallest released group that contains an unsafe value (the global group last) is withheld - the
groups whose combination determines it when it is determined exactly - one per unsafe value and
round, public statistics before WCO-level ones are decided so that the WCO-level release only
adds to what is safe.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from pmm.analysis.sdc import QUANTILES, TOL, Domain, Rules, _exposed_sums

AUDIENCES = ("public", "wco")
LEVEL = {"public": 0, "wco": 1}


@dataclass
class Decision:
    """What one audience receives of one measure (arrays over the candidate groups)."""

    n: np.ndarray
    mean: np.ndarray
    median: np.ndarray
    q1: np.ndarray
    q3: np.ndarray
    code: np.ndarray  # "" released, else min_n, single, dominance, secondary
    withheld_quantiles: list[list[str]]

    @property
    def released(self) -> np.ndarray:
        return self.code == ""


def decide(x: np.ndarray, rank: np.ndarray, member: np.ndarray, incidence: np.ndarray,
           domain: Domain, rules: Rules, *, priority: np.ndarray,
           prior: dict[str, np.ndarray] | None = None) -> dict[str, Decision]:
    """Decide the public and WCO-level statistics of one measure together.

    `x`: values over the columns (the current validated values first, then values of earlier
    releases that changed since); `rank`: for each column the widest audience that may see it
    (0 public, 1 WCO level, 2 restricted; the lowest it ever had); `member`: the member of each
    column (an adversary knows all of its own member's columns); `incidence`: candidate groups ×
    columns (zero on the earlier-value columns); `priority`: order in which groups are withheld
    (lowest first); `prior`: per audience, the rows (groups × columns) earlier releases gave it.
    """
    x = np.asarray(x, float)
    rank = np.asarray(rank, int)
    inc = np.asarray(incidence, bool)
    prior = prior or {}
    empty = np.zeros((0, len(x)), bool)
    prior_public = np.asarray(prior.get("public", empty), bool).reshape(-1, len(x))
    prior_wco = np.asarray(prior.get("wco", empty), bool).reshape(-1, len(x))
    scale = float(np.mean(np.abs(x))) if len(x) else 0.0
    protection = rules.protection_p / 100 * np.maximum(np.abs(x), scale)
    out: dict[str, Decision] = {}
    # the public release: safe for the public (hidden: rank >= 1) and, read together with the
    # earlier WCO-level releases, for NCPs (hidden: rank 2)
    code_p = _primary(x, inc, rank >= 1, domain, rules)
    # NCPs read the public release too, knowing the WCO-level values
    also = _primary(x, inc, rank >= 2, domain, rules)
    code_p = np.where(code_p == "", also, code_p)
    code_p = _secondary(x, inc, code_p, domain, priority, protection, member, [
        (rank >= 1, prior_public), (rank >= 2, np.vstack([prior_public, prior_wco]))])
    out["public"] = _statistics(x, inc, code_p, rank >= 1)
    fixed_wco = np.vstack([prior_public, prior_wco, inc[code_p == ""]])
    code_w = _primary(x, inc, rank >= 2, domain, rules)
    code_w = _secondary(x, inc, code_w, domain, priority, protection, member,
                        [(rank >= 2, fixed_wco)])
    out["wco"] = _statistics(x, inc, code_w, rank >= 2)
    return out


def _primary(x: np.ndarray, inc: np.ndarray, hidden: np.ndarray, domain: Domain,
             rules: Rules) -> np.ndarray:
    n = inc.sum(axis=1)
    n_hidden = (inc & hidden).sum(axis=1)
    code = np.full(len(inc), "", dtype=object)
    code[n < rules.min_n] = "min_n"
    # one hidden value is the group's sum minus the visible ones; with two, a member that owns
    # one of them learns the other
    code[(code == "") & (n_hidden >= 1) & (n_hidden <= 2)] = "single"
    if not domain.discrete and domain.nonnegative and rules.dominance_p > 0 and len(inc):
        vals = np.where(inc & hidden, x, -np.inf)
        top = -np.sort(-vals, axis=1)
        largest = top[:, 0] if top.shape[1] else np.full(len(inc), -np.inf)
        second = top[:, 1] if top.shape[1] > 1 else np.zeros(len(inc))
        total = (inc & hidden).astype(float) @ np.where(np.isfinite(x), x, 0.0)
        rest = total - largest - np.where(np.isfinite(second), second, 0.0)
        dominated = (n_hidden >= 3) & (largest > 0) & (rest <= rules.dominance_p / 100 * largest)
        code[(code == "") & dominated] = "dominance"
    return code


def _secondary(x: np.ndarray, inc: np.ndarray, code: np.ndarray, domain: Domain,
               priority: np.ndarray, protection: np.ndarray, member: np.ndarray,
               adversaries: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Withhold more groups until every adversary finds every value it does not know safe.

    `adversaries`: (hidden mask, rows it already has from elsewhere); each also receives the
    candidate groups released here."""
    code = code.copy()
    order = np.asarray(priority, float)
    sensitive = np.flatnonzero(np.isin(code, ("min_n", "dominance")))
    # withholding a group only removes an equation: a perturbation that kept every released
    # statistic still does, so what was shown safe stays safe and is not checked again
    suspects = [hidden.copy() for hidden, _fixed in adversaries]
    while True:
        released = np.flatnonzero(code == "")
        hits: set[int] = set()
        for (hidden, fixed), suspect in zip(adversaries, suspects, strict=True):
            rows = np.vstack([fixed, inc[released]])
            bad = unsafe(rows, x, hidden, member, domain, protection, suspect)
            suspect &= bad if not domain.discrete else hidden
            for h in np.flatnonzero(bad):
                g = _culprit(inc, released, h, member, order, rows[len(fixed):], hidden,
                             rows[:len(fixed)])
                if g is not None:
                    hits.add(g)
            if not hits and not domain.discrete and len(sensitive):
                exposed = _exposed(x, hidden, inc, rows, sensitive, domain)
                for s in exposed:
                    members = inc[s] & hidden
                    inside = released[(inc[released] & members).any(axis=1)]
                    if len(inside):
                        hits.add(int(inside[np.lexsort((inside, order[inside]))][0]))
        if not hits:
            return code
        code[sorted(hits)] = "secondary"


def _exposed(x: np.ndarray, hidden: np.ndarray, inc: np.ndarray, rows: np.ndarray,
             sensitive: np.ndarray, domain: Domain) -> list[int]:
    full = np.vstack([inc, rows])
    idx = np.arange(len(inc), len(full))
    return [g for g in _exposed_sums(x, hidden, full, idx, sensitive, domain) if g < len(inc)]


def _culprit(inc: np.ndarray, released: np.ndarray, h: int, member: np.ndarray,
             order: np.ndarray, new_rows: np.ndarray, hidden: np.ndarray,
             fixed: np.ndarray) -> int | None:
    """The released group to withhold for the unsafe value in column `h`."""
    cols = np.flatnonzero(member == member[h])
    containing = released[inc[released][:, cols].any(axis=1)]
    pidx = np.flatnonzero(hidden)
    A = np.vstack([fixed, new_rows])[:, pidx].astype(float)
    target = (pidx == h).astype(float)
    if A.shape[0] and target.any():
        c = np.linalg.lstsq(A.T, target, rcond=None)[0]
        if np.allclose(A.T @ c, target, atol=1e-8):  # determined exactly by a combination
            used = released[np.abs(c[len(fixed):]) > 1e-8]
            if len(used):
                containing = used
    if not len(containing):
        return None  # only earlier releases involve it: nothing left to withhold here
    return int(containing[np.lexsort((containing, order[containing]))][0])


def unsafe(rows: np.ndarray, x: np.ndarray, hidden: np.ndarray, member: np.ndarray,
           domain: Domain, protection: np.ndarray, targets: np.ndarray | None = None
           ) -> np.ndarray:
    """Columns hidden from an adversary that it may derive or narrow below `protection`, when
    it receives `rows` (group sums) and knows the visible values, the domain and possibly all
    values of one member. `targets`: only these columns are checked (default: all)."""
    out = np.zeros(len(x), bool)
    pidx = np.flatnonzero(hidden)
    if not len(pidx) or not len(rows):
        return out
    A = rows[:, pidx].astype(float)
    A = A[A.any(axis=1)]
    if not len(A):
        return out
    owners = member[pidx]
    if domain.discrete:
        out[pidx] = _unsafe_levels(A, x[pidx], owners, domain)
    else:
        check = np.ones(len(pidx), bool) if targets is None else targets[pidx]
        out[pidx] = _unsafe_continuous(A, x[pidx], owners, domain, protection[pidx], check)
    return out


def _unsafe_levels(A: np.ndarray, xp: np.ndarray, owners: np.ndarray,
                   domain: Domain) -> np.ndarray:
    """A value with levels is safe when, among the hidden members in exactly the same released
    groups, at least two others (so one remains whoever the adversary is) have another level."""
    levels = np.asarray(domain.levels, float)
    level = np.argmin(np.abs(xp[:, None] - levels[None, :]), axis=1)
    in_any = A.any(axis=0)
    keys = [A[:, i].tobytes() for i in range(A.shape[1])]
    out = np.zeros(len(xp), bool)
    for i in np.flatnonzero(in_any):
        peers = [j for j in range(len(xp)) if j != i and keys[j] == keys[i]
                 and owners[j] != owners[i] and level[j] != level[i]]
        out[i] = len({owners[j] for j in peers}) < 2
    return out


def _unsafe_continuous(A: np.ndarray, xp: np.ndarray, owners: np.ndarray, domain: Domain,
                       protection: np.ndarray, check: np.ndarray) -> np.ndarray:
    k = len(xp)
    need = np.maximum(protection, 1e-9 * np.maximum(1.0, np.abs(xp)))
    down = (domain.lo - xp) if np.isfinite(domain.lo) else np.full(k, -np.inf)
    up = (domain.hi - xp) if np.isfinite(domain.hi) else np.full(k, np.inf)
    at_lo = down >= -TOL * np.maximum(1.0, np.abs(xp))
    at_hi = up <= TOL * np.maximum(1.0, np.abs(xp))
    # values close to a bound are held in the witnesses too (moved only by their own one-sided
    # direction), so that a witness is not cut short by a neighbour with little room
    margin = 3.0 * float(np.median(need))
    near = np.minimum(-down, up) < margin
    at_lo |= near & ~at_hi & (-down <= up)
    at_hi |= near & ~at_lo
    bound = at_lo | at_hi
    free = np.flatnonzero(~bound)
    fixed_b = np.flatnonzero(bound)
    out = np.zeros(k, bool)
    # directions: columns of D (over all k coordinates), one per target
    AF = A[:, free]
    if len(free):
        pinv = np.linalg.pinv(AF) if AF.any() else np.zeros((len(free), A.shape[0]))
        V = np.eye(len(free)) - pinv @ AF
        V[np.abs(V) < 1e-12] = 0.0
    else:
        pinv = np.zeros((0, A.shape[0]))
        V = np.zeros((0, 0))
    D = np.zeros((k, k))
    D[np.ix_(free, free)] = V
    movable = np.zeros(k, bool)
    movable[free] = True
    for b in fixed_b:
        s = 1.0 if at_lo[b] and not at_hi[b] else -1.0 if at_hi[b] and not at_lo[b] else 0.0
        if s == 0.0:
            continue  # a degenerate domain: known beforehand
        w = -s * (pinv @ A[:, b]) if len(free) else np.zeros(0)
        resid = (AF @ w if len(free) else 0.0) + s * A[:, b]
        if np.allclose(resid, 0.0, atol=1e-8):
            D[free, b] = w
            D[b, b] = s
            movable[b] = True
    # the adversaries: nobody beyond the audience, and each owner of hidden values (an owner
    # of one value that sits at a bound changes no other value's witness: the base case)
    base = _widths(D, movable, None, down, up, free)
    out |= (base < need) & check
    if not check.any():
        return out
    singles, multiple = [], []
    for o in dict.fromkeys(owners.tolist()):
        cols = np.flatnonzero(owners == o)
        if len(cols) > 1:
            multiple.append(cols)
        elif bound[cols[0]]:
            continue
        else:
            singles.append(int(cols[0]))
    if singles:
        out |= _widths_each(D, movable, np.asarray(singles), down, up, need,
                            np.flatnonzero(check))
    for cols in multiple:
        widths = _widths(D, movable, cols, down, up, free)
        bad = np.flatnonzero((widths < need) & check)
        out[bad[~np.isin(bad, cols)]] = True
    return out


def _widths_each(D: np.ndarray, movable: np.ndarray, known: np.ndarray, down: np.ndarray,
                 up: np.ndarray, need: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Values (among `targets`) some single free-valued adversary (one of `known`) narrows
    below `need`: all adversaries at once, each value's witness with the adversary's held."""
    k = len(down)
    out = np.zeros(k, bool)
    if not len(targets):
        return out
    pivot = D[known, known]  # > 0 unless no null direction moves that value
    Rm = D[np.ix_(known, targets)]  # (M, T): the adversary's component in each witness
    safe_pivot = np.where(pivot > 1e-10, pivot, 1.0)
    base = D[:, targets]
    dirs = base[None, :, :] - D[:, known].T[:, :, None] * (Rm / safe_pivot[:, None])[:, None, :]
    ok = np.broadcast_to(movable[targets], (len(known), len(targets))).copy()
    stuck = pivot <= 1e-10
    if stuck.any():  # nothing moves the adversary's value: the witnesses stand, if they hold it
        dirs[stuck] = base[None, :, :]
        ok[stuck] &= np.abs(Rm[stuck]) < 1e-10
    ok &= known[:, None] != targets[None, :]
    dirs[np.abs(dirs) < 1e-12] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        pos, neg = dirs > 0, dirs < 0
        lo_t = np.where(pos, down[None, :, None] / dirs,
                        np.where(neg, up[None, :, None] / dirs, -np.inf)).max(axis=1)
        hi_t = np.where(pos, up[None, :, None] / dirs,
                        np.where(neg, down[None, :, None] / dirs, np.inf)).min(axis=1)
        diag = np.abs(dirs[:, targets, np.arange(len(targets))])
        width = np.where(ok & (diag > 1e-10), diag * np.maximum(hi_t - lo_t, 0.0), 0.0)
    # (a value no witness moves has width 0; an adversary's own value is not a target)
    bad = (width < need[targets][None, :]) & (known[:, None] != targets[None, :])
    out[targets] = bad.any(axis=0)
    return out


def _widths(D: np.ndarray, movable: np.ndarray, known: np.ndarray | None, down: np.ndarray,
            up: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Width of each value's range along its witness direction, with `known` held."""
    k = len(down)
    dirs = D.copy()
    ok = movable.copy()
    if known is not None:
        for m in known:
            if m in free:
                if dirs[m, m] > 1e-10:
                    dirs = dirs - np.outer(dirs[:, m], dirs[m, :]) / dirs[m, m]
                else:
                    ok &= np.abs(dirs[m, :]) < 1e-10
            else:
                ok &= np.abs(dirs[m, :]) < 1e-10
            ok[m] = False
            dirs[m, :] = 0.0
    dirs[np.abs(dirs) < 1e-12] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        lo_t = np.where(dirs > 0, down[:, None] / dirs, np.where(dirs < 0, up[:, None] / dirs,
                                                                 -np.inf))
        hi_t = np.where(dirs > 0, up[:, None] / dirs, np.where(dirs < 0, down[:, None] / dirs,
                                                               np.inf))
    lo_t = np.nan_to_num(lo_t, nan=0.0, neginf=-np.inf, posinf=np.inf).max(axis=0)
    hi_t = np.nan_to_num(hi_t, nan=0.0, neginf=-np.inf, posinf=np.inf).min(axis=0)
    diag = np.abs(dirs[np.arange(k), np.arange(k)])
    with np.errstate(invalid="ignore"):
        width = np.nan_to_num(diag * np.maximum(hi_t - lo_t, 0.0), nan=0.0, posinf=np.inf)
    return np.where(ok & (diag > 1e-10), width, 0.0)


def _statistics(x: np.ndarray, inc: np.ndarray, code: np.ndarray,
                hidden: np.ndarray) -> Decision:
    n = inc.sum(axis=1)
    released = code == ""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(released & (n > 0), (inc * np.nan_to_num(x)).sum(axis=1)
                        / np.maximum(n, 1), np.nan)
    quant = {name: np.full(len(inc), np.nan) for name, _q in QUANTILES}
    withheld: list[list[str]] = [[] for _g in range(len(inc))]
    for g in np.flatnonzero(released):
        cols = np.flatnonzero(inc[g])
        xs = x[cols]
        ordered = np.sort(xs)
        hid = xs[hidden[cols]]
        for name, q in QUANTILES:
            h = (len(xs) - 1) * q
            lo = int(np.floor(h))
            picks = [ordered[lo]] + ([ordered[lo + 1]] if h - lo > TOL else [])
            # a quantile is released only when it rests on visible values that no hidden
            # value equals: then it is a function of visible values and ranks
            if not np.isin(hid, picks).any():
                quant[name][g] = float(np.quantile(xs, q))
            else:
                withheld[g].append(name)
    return Decision(n=n, mean=mean, median=quant["median"], q1=quant["q1"], q3=quant["q3"],
                    code=code, withheld_quantiles=withheld)


def null_movable(A: np.ndarray) -> np.ndarray:
    """Unknowns some perturbation keeping `A δ = 0` moves (no bounds): for reports."""
    if not A.shape[0]:
        return np.ones(A.shape[1], bool)
    basis = linalg.null_space(A)
    return np.linalg.norm(basis, axis=1) > 1e-8 if basis.size else np.zeros(A.shape[1], bool)
