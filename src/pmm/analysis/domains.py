"""The domain of each measure: what anyone knows of its values before seeing any data.

Disclosure control must assume an attacker knows these bounds (a rate is between 0 and 100 %, a
count is not negative, a yes/no KPI is 0 or 1, a score is between 0 and 100), because a value at
a bound is easier to pin down. KPI bounds come from interval arithmetic over the KPI's formula
with the bounds of its data items; a share `100 * part / whole` where the framework says the part
never exceeds its whole is bounded by 0 and 100.
"""

from __future__ import annotations

import math

from pmm.analysis.sdc import Domain
from pmm.framework.formula import Call, Chain, Expr, Num, Ref, Unary, parse
from pmm.framework.model import KPI, Framework

Interval = tuple[float, float]
INF = math.inf
SCORE = Domain(0.0, 100.0)


def _mul(a: Interval, b: Interval) -> Interval:
    products = [_times(x, y) for x in a for y in b]
    return min(products), max(products)


def _times(x: float, y: float) -> float:
    if x == 0 or y == 0:
        return 0.0  # 0 × ∞ is 0 here: a bound of 0 stays a bound
    return x * y


def _div(a: Interval, b: Interval) -> Interval:
    lo, hi = b
    if lo <= 0 <= hi:
        if lo == 0 and a[0] >= 0 and hi > 0:
            return 0.0, INF  # non-negative over non-negative (0 divisors are not computable)
        return -INF, INF
    return _mul(a, (1 / hi, 1 / lo))


def _interval(expr: Expr, fw: Framework) -> Interval:
    if isinstance(expr, Num):
        return expr.value, expr.value
    if isinstance(expr, Ref):
        lo, hi = fw.data_item(expr.item).bounds()
        return (-INF if lo is None else lo), (INF if hi is None else hi)
    if isinstance(expr, Unary):
        lo, hi = _interval(expr.args[0], fw)
        return (-hi, -lo) if expr.op == "-" else (0.0, 1.0)
    if isinstance(expr, Chain):
        return _chain(expr, fw)
    if isinstance(expr, Call):
        parts = [_interval(a, fw) for a in expr.args]
        if expr.name == "abs":
            lo, hi = parts[0]
            return (0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi))), max(abs(lo), abs(hi))
        if expr.name == "sum":
            lo, hi = parts[0]
            return (0.0 if lo >= 0 else -INF), (0.0 if hi <= 0 else INF)
        if expr.name == "if":
            return min(parts[1][0], parts[2][0]), max(parts[1][1], parts[2][1])
        pick = min if expr.name == "min" else max
        return pick(p[0] for p in parts), pick(p[1] for p in parts)
    return -INF, INF


def _chain(expr: Chain, fw: Framework) -> Interval:
    if expr.ops[0] in ("and", "or", "<", "<=", ">", ">=", "==", "!="):
        return 0.0, 1.0
    if set(expr.ops) <= {"*", "/"}:
        # a part over its whole (framework `part_of`, same year) is a share in [0, 1]
        num = [expr.args[0]] + [a for op, a in zip(expr.ops, expr.args[1:], strict=True)
                                if op == "*"]
        den = [a for op, a in zip(expr.ops, expr.args[1:], strict=True) if op == "/"]
        result: Interval = (1.0, 1.0)
        for change in list(num):
            # a variation (a - b) / b with a, b ≥ 0 is a / b - 1, so at least -1
            if (isinstance(change, Chain) and change.ops == ("-",) and change.args[1] in den
                    and _interval(change.args[0], fw)[0] >= 0
                    and _interval(change.args[1], fw)[0] >= 0):
                num.remove(change)
                den.remove(change.args[1])
                ratio = _div(_interval(change.args[0], fw), _interval(change.args[1], fw))
                result = _mul(result, (ratio[0] - 1, ratio[1] - 1))
        for part in list(num):
            whole = next((d for d in den if _is_part(part, d, fw)), None)
            if whole is not None:
                num.remove(part)
                den.remove(whole)
                result = _mul(result, (0.0, 1.0))
        for a in num:
            result = _mul(result, _interval(a, fw))
        for d in den:
            result = _div(result, _interval(d, fw))
        return result
    acc = _interval(expr.args[0], fw)
    for op, arg in zip(expr.ops, expr.args[1:], strict=True):
        lo, hi = _interval(arg, fw)
        acc = (acc[0] + lo, acc[1] + hi) if op == "+" else (acc[0] - hi, acc[1] - lo)
    return acc


def _is_part(part: Expr, whole: Expr, fw: Framework) -> bool:
    if not (isinstance(part, Ref) and isinstance(whole, Ref)) or part.year != whole.year:
        return False
    try:
        return fw.data_item(part.item).part_of == whole.item
    except KeyError:
        return False


def kpi_domain(kpi: KPI, fw: Framework, variant: str = "") -> Domain:
    """Bounds (and levels, for a yes/no KPI) of a KPI's values."""
    if kpi.unit == "yes_no":
        return Domain(0.0, 1.0, (0.0, 1.0))
    formula = kpi.variants.get(variant, kpi.formula) if variant else kpi.formula
    try:
        lo, hi = _interval(parse(formula), fw)
    except (KeyError, ValueError):
        return Domain()
    return Domain(lo, hi)
