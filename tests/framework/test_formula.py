"""The KPI formula language: parser, canonical text, refused inputs and the evaluator.

The property tests build formulas from a small tree of their own (tuples below), write them out
fully bracketed and compare the module against an independent evaluation, member by member,
with plain Python floats.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmm.errors import PmmError
from pmm.framework import formula
from pmm.framework.formula import FormulaError, Ref, Values, evaluate, parse
from pmm.i18n import set_language

KPIS = [
    "100 * declarations_electronic / declarations",
    "100 * (aeo_count[T] - aeo_count[T-1]) / aeo_count[T-1]",
    "100 * sum(trade_value_aeo{flow=*}) / sum(trade_value{flow=*})",
]

# ---------------------------------------------------------------- generated formulas

ITEMS, YEARS, FLOWS = ("a", "b", "c"), (0, -1), ("IM", "EX")
NUMBERS = (0.0, 1.0, 2.0, 3.5, 0.5, 1e3, 1e308, 1e-300)
ARITH, COMPARE, LOGIC = ("+", "-", "*", "/"), ("<", "<=", ">", ">=", "==", "!="), ("and", "or")

leaves = st.one_of(
    st.tuples(st.just("num"), st.sampled_from(NUMBERS)),
    st.tuples(st.just("ref"), st.sampled_from(ITEMS), st.sampled_from(YEARS),
              st.sampled_from(((), (("flow", "IM"),), (("flow", "EX"),))),
              st.booleans(), st.booleans()),
    st.tuples(st.just("sum"), st.sampled_from(ITEMS), st.sampled_from(YEARS)),
)


def _extend(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.tuples(st.sampled_from(("neg", "not")), children),
        st.tuples(st.just("bin"), st.sampled_from(ARITH + COMPARE + LOGIC), children, children),
        st.tuples(st.just("call"), st.sampled_from(("min", "max")),
                  st.lists(children, min_size=1, max_size=3).map(tuple)),
        st.tuples(st.just("call"), st.just("abs"), st.tuples(children)),
        st.tuples(st.just("call"), st.just("if"), st.tuples(children, children, children)),
    )


trees = st.recursive(leaves, _extend, max_leaves=12)


def render(t: tuple) -> str:
    """Fully bracketed text, written independently of the module's printer."""
    kind = t[0]
    if kind == "num":
        return repr(t[1])
    if kind == "ref":
        _, item, year, breakdown, year_first, explicit_t = t
        pairs = "{" + ";".join(f"{k}={v}" for k, v in breakdown) + "}" if breakdown else ""
        when = f"[T-{-year}]" if year else ("[T]" if explicit_t else "")
        return item + (when + pairs if year_first else pairs + when)
    if kind == "sum":
        return f"sum({t[1]}{{flow=*}}{f'[T-{-t[2]}]' if t[2] else ''})"
    if kind == "neg":
        return f"(-{render(t[1])})"
    if kind == "not":
        return f"(not {render(t[1])})"
    if kind == "bin":
        return f"({render(t[2])} {t[1]} {render(t[3])})"
    return f"{t[1]}({', '.join(render(a) for a in t[2])})"


def canonical(t: tuple) -> str:
    return str(parse(render(t)))


def refs_of(t: tuple) -> set[Ref]:
    if t[0] == "ref":
        return {Ref(t[1], t[2], t[3])}
    if t[0] == "sum":
        return {Ref(t[1], t[2], (("flow", "*"),))}
    if t[0] == "num":
        return set()
    children = t[2:] if t[0] == "bin" else t[1:] if t[0] in ("neg", "not") else t[2]
    return set().union(*(refs_of(c) for c in children))


Columns = dict[tuple[str, int, tuple], list[float | None]]


def reference(t: tuple, data: Columns, j: int) -> tuple[float, str | None]:
    """Member j's value and reason, with plain Python floats and the documented rules."""
    kind = t[0]
    if kind == "num":
        return t[1], None
    if kind == "ref":
        return cell(data, Ref(t[1], t[2], t[3]), j)
    if kind == "sum":
        parts = [cell(data, Ref(t[1], t[2], (("flow", f),)), j) for f in FLOWS]
        reason = next((r for _, r in parts if r is not None), None)
        if reason is not None:
            return math.nan, reason
        total = parts[0][0] + parts[1][0]
        return (total, None) if math.isfinite(total) else (math.nan, f"overflow in {canonical(t)}")
    if kind in ("neg", "not"):
        x, r = reference(t[1], data, j)
        return (math.nan, r) if r else (-x if kind == "neg" else float(x == 0), None)
    if kind == "call" and t[1] == "if":
        c, rc = reference(t[2][0], data, j)
        if rc:
            return math.nan, rc
        return reference(t[2][1] if c != 0 else t[2][2], data, j)
    if kind == "bin" and t[1] in LOGIC:
        a, ra = reference(t[2], data, j)
        if ra:
            return math.nan, ra
        if (a != 0) == (t[1] == "or"):
            return float(a != 0), None
        b, rb = reference(t[3], data, j)
        return (math.nan, rb) if rb else (float(b != 0), None)
    args = [reference(a, data, j) for a in (t[2:] if kind == "bin" else t[2])]
    reason = next((r for _, r in args if r is not None), None)
    if reason is not None:
        return math.nan, reason
    x = [v for v, _ in args]
    if kind == "call":
        return (abs(x[0]) if t[1] == "abs" else min(x) if t[1] == "min" else max(x)), None
    op = t[1]
    if op == "/" and x[1] == 0:
        return math.nan, f"division by zero in {canonical(t)}"
    value = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
             "/": lambda a, b: a / b, "<": lambda a, b: float(a < b),
             "<=": lambda a, b: float(a <= b), ">": lambda a, b: float(a > b),
             ">=": lambda a, b: float(a >= b), "==": lambda a, b: float(a == b),
             "!=": lambda a, b: float(a != b)}[op](*x)
    return (value, None) if math.isfinite(value) else (math.nan, f"overflow in {canonical(t)}")


def cell(data: Columns, ref: Ref, j: int) -> tuple[float, str | None]:
    v = data[(ref.item, ref.year, ref.breakdown)][j]
    return (math.nan, f"missing: {ref}") if v is None else (v, None)


@st.composite
def columns(draw: st.DrawFn) -> tuple[int, Columns]:
    n = draw(st.integers(1, 5))
    cells = st.sampled_from([0.0, 1.0, -2.0, 3.5, 1e308, -1e308, 1e-300, None])
    data = {(item, year, bd): draw(st.lists(cells, min_size=n, max_size=n))
            for item in ITEMS for year in YEARS
            for bd in ((), (("flow", "IM"),), (("flow", "EX"),))}
    return n, data


def resolver(data: Columns):
    def resolve(ref: Ref) -> Values:
        column = data[(ref.item, ref.year, ref.breakdown)]
        return Values.of([math.nan if v is None else v for v in column],
                         [None if v is not None else f"missing: {ref}" for v in column])
    return resolve


def expand(ref: Ref) -> list[Ref]:
    return [Ref(ref.item, ref.year, (("flow", f),)) for f in FLOWS]


# ---------------------------------------------------------------- properties

@settings(max_examples=300, deadline=None)
@given(trees)
def test_round_trip_and_canonical_text_is_stable(t: tuple) -> None:
    e = parse(render(t))
    text = str(e)
    again = parse(text)
    assert again == e and hash(again) == hash(e)
    assert str(again) == text
    assert len(text) <= len(render(t))  # the canonical form drops only redundant brackets
    assert set(e.references()) == refs_of(t)
    assert e.references() == sorted(e.references())
    assert e.years() == {r.year for r in refs_of(t)}


@settings(max_examples=300, deadline=None)
@given(trees, columns())
def test_evaluator_agrees_with_a_reference_evaluation(t: tuple, cols: tuple[int, Columns]) -> None:
    n, data = cols
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy must not warn about overflow or 0/0
        got = evaluate(parse(render(t)), resolver(data), n, expand)
    assert got.value.dtype == np.float64 and got.value.shape == (n,)
    for j in range(n):
        value, reason = reference(t, data, j)
        assert got.reason[j] == reason, (render(t), j)
        if reason is None:
            assert got.value[j] == value, (render(t), j)
        else:
            assert math.isnan(got.value[j])
    assert np.array_equal(np.isnan(got.value), ~got.computable)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab1.0e(){}[]=*;,+-/<>!T_ x\nandornotifsummaxabs'\"", max_size=40))
def test_any_text_parses_or_gives_a_formula_error(text: str) -> None:
    try:
        e = parse(text)
    except FormulaError as exc:
        assert exc.text == text
        assert exc.position is None or 0 <= exc.position <= len(text)
        assert str(exc).startswith("formula error")
    else:
        assert parse(str(e)) == e and str(parse(str(e))) == str(e)


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=0, max_value=1e300, allow_nan=False))
def test_numbers_print_exactly(x: float) -> None:
    e = parse(repr(x))
    assert e == formula.Num(x) and parse(str(e)) == e


# ---------------------------------------------------------------- parsing by example

@pytest.mark.parametrize(("text", "canonical_text"), [
    (KPIS[0], KPIS[0]),
    (KPIS[1], "100 * (aeo_count - aeo_count[T-1]) / aeo_count[T-1]"),
    (KPIS[2], KPIS[2]),
    ("declarations[T-1]{transport_mode=1;flow=IM}", "declarations{flow=IM;transport_mode=1}[T-1]"),
    ("declarations{ flow = IM }[ T - 0 ]", "declarations{flow=IM}"),
    ("(a + b) + c", "a + b + c"),
    ("a - (b - c)", "a - (b - c)"),
    ("a * (b / c)", "a * (b / c)"),
    ("-(a * b)", "-(a * b)"),
    ("(-a) * b", "-a * b"),
    ("(a < b) == 1", "(a < b) == 1"),
    ("not (a < b)", "not a < b"),
    ("(not a) + 1", "(not a) + 1"),
    ("a and (b or c)", "a and (b or c)"),
    ("(a and b) or c", "a and b or c"),
    ("if(x>=1,min(a,b,2),max(c))", "if(x >= 1, min(a, b, 2), max(c))"),
    ("1e3 + .5 + 2. + 0.25e-2", "1000 + 0.5 + 2 + 0.0025"),
    ("x\n  + y", "x + y"),
    ("abs(--x)", "abs(--x)"),
])
def test_canonical_text(text: str, canonical_text: str) -> None:
    e = parse(text)
    assert str(e) == canonical_text
    assert parse(canonical_text) == e


def test_references_functions_and_years() -> None:
    e = parse(KPIS[1])
    assert e.references() == [Ref("aeo_count", -1), Ref("aeo_count", 0)]
    assert e.years() == {0, -1}
    assert e.functions() == set()
    e = parse(KPIS[2])
    assert [str(r) for r in e.references()] == ["trade_value{flow=*}", "trade_value_aeo{flow=*}"]
    assert e.references()[0].wildcard_keys == ("flow",)
    assert e.functions() == {"sum"}
    assert parse("if(a > 0, abs(a), min(b, c))").functions() == {"if", "abs", "min"}


def test_ref_text_and_order() -> None:
    r = Ref("declarations", -1, (("transport_mode", "1"), ("flow", "IM")))
    assert r.breakdown == (("flow", "IM"), ("transport_mode", "1"))
    assert str(r) == "declarations{flow=IM;transport_mode=1}[T-1]"
    assert str(Ref("aeo_count")) == "aeo_count"
    assert parse(str(r)) == r and r.wildcard_keys == ()
    assert sorted([Ref("b"), Ref("a", -1), Ref("a")]) == [Ref("a", -1), Ref("a"), Ref("b")]


def test_with_breakdown() -> None:
    e = parse("100 * x{transport_mode=1} / y + sum(z{flow=*}) + w{flow=EX}")
    got = e.with_breakdown({"flow": "IM"})
    assert str(got) == ("100 * x{flow=IM;transport_mode=1} / y{flow=IM} + sum(z{flow=*}) "
                        "+ w{flow=EX}")
    assert parse(str(got)) == got
    assert str(parse("sum(z{flow=*})").with_breakdown({"transport_mode": "4"})) == \
        "sum(z{flow=*;transport_mode=4})"
    assert e.with_breakdown({}) == e
    with pytest.raises(FormulaError, match=r"bad breakdown Flow=IM"):
        e.with_breakdown({"Flow": "IM"})
    with pytest.raises(FormulaError, match=r"bad breakdown flow=\*"):
        e.with_breakdown({"flow": "*"})


def test_nesting_within_the_limits_is_accepted() -> None:
    deep = "abs(" * formula.MAX_NESTING + "x" + ")" * formula.MAX_NESTING
    e = parse(deep)
    assert parse(str(e)) == e
    got = evaluate(e, lambda ref: Values.of([-2.0, 3.0]), 2)
    assert list(got.value) == [2.0, 3.0]
    long_sum = " + ".join(["1"] * 500)  # a long chain is one node, not 500 levels
    e = parse(long_sum)
    assert evaluate(e, lambda ref: Values.of([]), 1).value[0] == 500
    assert parse(str(e)) == e
    with pytest.raises(FormulaError, match=r"written in canonical form.* 3,997 characters long"):
        parse("+".join(["1"] * 1000))  # its canonical text would be refused by parse


# ---------------------------------------------------------------- refused inputs

@pytest.mark.parametrize(("text", "column", "message"), [
    ("__import__('os').system('id')", 0, "unexpected '__import__'"),
    ("x.__class__", 1, "unexpected '.' in \"x.__class__\" — expected an operator"),
    ("1e999999", 0, "number 1e999999 is too large"),
    ("9" * 400, 0, "is too large"),
    ("(" * 10_000 + "1" + ")" * 10_000, 2000, "characters long; at most 2,000"),
    ("abs(" * 10_000 + "1" + ")" * 10_000, 2000, "characters long; at most 2,000"),
    ("x" * 1_000_000, 2000, "the formula is 1,000,000 characters long"),
    ("(" * 51 + "1" + ")" * 51, 50, "more than 50 nested parentheses or function calls"),
    ("min(" * 51 + "1" + ")" * 51, 203, "more than 50 nested"),
    ("-" * 500 + "1", 400, "operators nested more than 100 levels deep"),
    ("not " * 200 + "x", 400, "operators nested more than 100"),
    ("'abc'", 0, "unexpected \"'\""),
    ('x + "abc"', 4, "unexpected '\"'"),
    ("foo(1)", 0, "unknown function 'foo' in \"foo(1)\" — expected one of abs, if, max, min, sum"),
    ("x(1)", 0, "unknown function 'x'"),
    ("min(a=1, b)", 5, "unexpected '='"),
    ("sum(x)", 0, "sum() needs a reference with a wildcard"),
    ("sum(x{flow=IM})", 0, "sum() needs a reference with a wildcard"),
    ("sum(x{flow=*} + 1)", 4, "only allowed directly inside sum()"),
    ("x{flow=*}", 0, "a wildcard reference such as x{flow=*} is only allowed"),
    ("1 + max(x{flow=*})", 8, "only allowed directly inside sum()"),
    ("sum(x{flow=*}, y{flow=*})", 0, "sum() takes 1 argument(s), not 2"),
    ("if(a, b)", 0, "if() takes 3 argument(s), not 2"),
    ("min()", 4, "unexpected ')'"),
    ("x[T+1]", 2, "bad year [T+1]: write [T] or [T-k]"),
    ("x[2022]", 2, "bad year [2022]"),
    ("x[T-1.5]", 2, "bad year [T-1.5]"),
    ("x[T-11]", 2, "bad year [T-11]"),
    ("x[t]", 2, "unexpected 't'"),
    ("x[T][T]", 4, "unexpected '['"),
    ("x{flow=IM;flow=EX}", 10, "breakdown key 'flow' is given twice"),
    ("x{}", 2, "unexpected '}'"),
    ("x{flow=I-M}", 8, "unexpected '-'"),
    ("", 0, "the formula is empty"),
    ("  \n ", 0, "the formula is empty"),
    ("a + b )", 6, "unexpected ')'"),
    ("a + b c", 6, "unexpected 'c' in \"a + b c\" — expected an operator"),
    ("a +", 3, "unexpected end of formula"),
    ("(a + b", 6, "unexpected end of formula in \"(a + b\" — expected an operator or ')'"),
    ("a < b < c", 6, "unexpected '<'"),
    ("T + 1", 0, "unexpected 'T'"),
    ("Declarations", 0, "unexpected 'Declarations'"),
    ("sum + 1", 0, "'sum' is reserved"),
    ("x + and", 4, "'and' is reserved: it is not a data item"),
    ("(or)", 1, "'or' is reserved"),
    ("x ** 2", 3, "unexpected '*'"),
    ("x[0]", 2, "bad year [0]"),
    ("lambda: 1", 6, "unexpected ':'"),
    ("a; b", 1, "unexpected ';'"),
])
def test_refused(text: str, column: int, message: str) -> None:
    with pytest.raises(FormulaError) as info:
        parse(text)
    err = info.value
    assert isinstance(err, PmmError)
    assert (err.text, err.position) == (text, column), str(err)
    assert str(err).startswith(f"formula error at column {column}: ")
    assert message in str(err)
    assert len(str(err)) < 400  # a megabyte of input never ends up in the message


def test_nesting_is_refused_by_a_linear_scan_whatever_the_length(monkeypatch) -> None:
    monkeypatch.setattr(formula, "MAX_LENGTH", 10**7)
    for text in ("(" * 10_000 + "1" + ")" * 10_000, "abs(" * 10_000 + "1" + ")" * 10_000):
        with pytest.raises(FormulaError, match="more than 50 nested") as info:
            parse(text)
        assert info.value.position == text.index("(" * 51) + 50 if text[0] == "(" else 203
    with pytest.raises(FormulaError, match="nested more than 100 levels"):
        parse("-" * 100_000 + "1")  # no parentheses: the tree's depth is bounded while parsing


def test_error_attributes_and_french() -> None:
    with pytest.raises(FormulaError) as info:
        parse("x.__class__")
    assert info.value.reason == "unexpected '.'"
    assert "end of formula" in info.value.expected
    set_language("fr")
    try:
        with pytest.raises(FormulaError) as info:
            parse("x.__class__")
        assert str(info.value).startswith("erreur de formule à la colonne 1 : '.' inattendu")
        got = evaluate(parse("1 / x"), lambda ref: Values.of([0.0]), 1)
        assert got.reason[0] == "division par zéro dans 1 / x"
    finally:
        set_language(None)


# ---------------------------------------------------------------- evaluation by example

def columns_of(table: dict[str, list[float | None]]):
    def resolve(ref: Ref) -> Values:
        column = table[str(ref)]
        return Values.of([math.nan if v is None else v for v in column],
                         [None if v is not None else f"missing: {ref}" for v in column])
    return resolve


@pytest.mark.filterwarnings("error")
def test_kpi_examples() -> None:
    resolve = columns_of({
        "declarations_electronic": [90, 5, None, 0], "declarations": [100, 0, 10, 0],
        "aeo_count": [12, 10, 4, 1], "aeo_count[T-1]": [10, 0, None, 1],
        "trade_value{flow=IM}": [100, 50, 1, 0], "trade_value{flow=EX}": [100, 50, None, 0],
        "trade_value_aeo{flow=IM}": [50, 0, 1, 0], "trade_value_aeo{flow=EX}": [30, 0, 1, 0],
    })
    share = evaluate(parse(KPIS[0]), resolve, 4)
    assert share.value[0] == 90 and share.value[3] != share.value[3]
    assert list(share.reason) == [
        None, "division by zero in 100 * declarations_electronic / declarations",
        "missing: declarations_electronic",
        "division by zero in 100 * declarations_electronic / declarations"]
    growth = evaluate(parse(KPIS[1]), resolve, 4)
    assert growth.value[0] == pytest.approx(20) and growth.value[3] == 0
    assert list(growth.reason[1:3]) == [
        "division by zero in 100 * (aeo_count - aeo_count[T-1]) / aeo_count[T-1]",
        "missing: aeo_count[T-1]"]
    aeo = evaluate(parse(KPIS[2]), resolve, 4, lambda r: [
        Ref(r.item, r.year, (("flow", f),)) for f in ("IM", "EX")])
    assert aeo.value[0] == 40 and aeo.value[1] == 0
    assert list(aeo.reason[2:]) == [
        "missing: trade_value{flow=EX}",
        "division by zero in 100 * sum(trade_value_aeo{flow=*}) / sum(trade_value{flow=*})"]


@pytest.mark.filterwarnings("error")
def test_if_takes_reasons_from_the_selected_branch_only() -> None:
    resolve = columns_of({"x": [0, 2, None, -1], "y": [None, 4, 1, 1]})
    got = evaluate(parse("if(x > 0, y / x, 0)"), resolve, 4)
    assert list(got.value[:2]) == [0, 2] and got.value[3] == 0
    assert list(got.reason) == [None, None, "missing: x", None]
    got = evaluate(parse("if(x <= 0, y, 1 / (x - 2))"), resolve, 4)
    assert list(got.reason) == ["missing: y", "division by zero in 1 / (x - 2)", "missing: x",
                                None]


@pytest.mark.filterwarnings("error")
def test_overflow_and_logic() -> None:
    resolve = columns_of({"x": [1e308, 1, 0, None], "y": [10, 0, 1, 1]})
    got = evaluate(parse("x * y + 1"), resolve, 4)
    assert got.reason[0] == "overflow in x * y" and got.value[1] == 1
    got = evaluate(parse("y == 0 or 1 / y > x"), resolve, 4)
    assert list(got.value[:3]) == [0, 1, 1] and got.reason[3] == "missing: x"
    got = evaluate(parse("x and 1 / y"), resolve, 4)  # x = 0 decides: 1 / y is not asked
    assert list(got.reason) == [None, "division by zero in 1 / y", None, "missing: x"]
    assert list(evaluate(parse("not x"), resolve, 4).value[:3]) == [0, 0, 1]


def test_values() -> None:
    v = Values.of([1, np.nan, np.inf, 4], [None, None, None, "not applicable: small"])
    assert list(v.reason) == [None, "missing", "missing", "not applicable: small"]
    assert list(v.computable) == [True, False, False, False]
    assert v.value[0] == 1 and np.isnan(v.value[1:]).all()
    m = Values.missing(3, "missing: x")
    assert list(m.reason) == ["missing: x"] * 3 and np.isnan(m.value).all()
    with pytest.raises(ValueError, match="same length"):
        Values.of([1, 2], [None])


def test_evaluate_resolves_each_reference_once_and_checks_its_helpers() -> None:
    calls: list[Ref] = []

    def resolve(ref: Ref) -> Values:
        calls.append(ref)
        return Values(np.array([1.0, np.nan]), np.array([None, None], dtype=object))

    got = evaluate(parse("x + x * x[T-1] + x"), resolve, 2)
    assert calls == [Ref("x"), Ref("x", -1)]
    assert list(got.reason) == [None, "missing"]  # a bare NaN is still never passed on silently
    e = parse("sum(x{flow=*})")
    with pytest.raises(ValueError, match="expand="):
        evaluate(e, resolve, 2)
    with pytest.raises(ValueError, match="does not stand for"):
        evaluate(e, resolve, 2, lambda r: [Ref("y", 0, (("flow", "IM"),))])
    empty = evaluate(e, resolve, 2, lambda r: [])
    assert list(empty.reason) == ["no breakdown values for x{flow=*}"] * 2
    with pytest.raises(ValueError, match="expected 3"):
        evaluate(parse("x"), resolve, 3)
