"""The KPI formula language: parse, print canonically and evaluate formulas over data items.

A formula such as `100 * (aeo_count[T] - aeo_count[T-1]) / aeo_count[T-1]` is parsed by a LALR
grammar (lark) straight into immutable nodes: no `eval`, no Python `ast`, nothing that can reach
a Python object. Length and nesting are bounded before and while parsing, so no walk of a tree
recurses more than `MAX_DEPTH` levels. Evaluation is vectorised over members: each node gives a
column of values and, where a value cannot be computed, the reason why (`Values`).
User reference: docs/formula-language.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, replace
from functools import cache, lru_cache, partial

import numpy as np
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from pmm.errors import PmmError
from pmm.i18n import _

MAX_LENGTH = 2000  # characters
MAX_NESTING = 50  # parentheses and function calls, counted by a linear scan before parsing
MAX_DEPTH = 100  # nodes nested in one another (e.g. a run of unary minus signs)
MAX_YEARS_BACK = 10  # k in [T-k]
FUNCTIONS = {"abs": (1, 1), "if": (3, 3), "max": (1, None), "min": (1, None), "sum": (1, 1)}
KEYWORDS = ("and", "or", "not")
_NAME, _VALUE = re.compile(r"[a-z][a-z0-9_]*\Z"), re.compile(r"[A-Za-z0-9_]+\Z")

_GRAMMAR = r"""
?start: or_
?or_: and_ | or_ OR and_ -> chain
?and_: not_ | and_ AND not_ -> chain
?not_: compare | NOT not_ -> unary
?compare: arith | arith CMP arith -> chain
?arith: term | arith (PLUS | MINUS) term -> chain
?term: factor | term (STAR | SLASH) factor -> chain
?factor: atom | MINUS factor -> unary
?atom: NUMBER -> number
     | NAME (breakdown year? | year breakdown?)? -> ref
     | NAME "(" or_ ("," or_)* ")" -> call
     | "(" or_ ")"
breakdown: "{" pair (";" pair)* "}"
pair: NAME "=" (VALUE | STAR)
year: "[" (YEAR_T ((PLUS | MINUS) NUMBER)? | NUMBER) "]"
NUMBER: /([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?/
NAME: /[a-z][a-z0-9_]*/
VALUE: /[A-Za-z0-9_]+/
CMP: /<=|>=|==|!=|<|>/
OR: "or"
AND: "and"
NOT: "not"
YEAR_T: "T"
PLUS: "+"
MINUS: "-"
STAR: "*"
SLASH: "/"
%ignore /\s+/
"""


class FormulaError(PmmError):
    """A formula that cannot be used: why (`reason`), where (0-based `position`) and `text`."""

    def __init__(self, text: str, position: int | None, reason: str, expected: str = "") -> None:
        self.text, self.position, self.reason, self.expected = text, position, reason, expected
        shown = re.sub(r"\s", " ", text)
        if len(shown) > 120:  # a window around the fault, never a megabyte in a message
            at = min(position or 0, len(shown))
            shown = "…" + shown[max(at - 40, 0):at + 40] + "…"
        line = (_('formula error at column {column}: {reason} in "{text}"') if position is not None
                else _('formula error: {reason} in "{text}"'))
        line = line.format(column=position, reason=reason, text=shown)
        if expected:
            line += _(" — expected {expected}").format(expected=expected)
        super().__init__(line)


def _short(token: str) -> str:
    return str(token) if len(token) <= 24 else token[:20] + "…"


class _Fail(Exception):
    """Raised while parsing, where the text is not at hand; `parse` makes it a FormulaError."""

    def __init__(self, pos: int | None, reason: str, expected: str = "") -> None:
        self.pos, self.reason, self.expected = pos, reason, expected


class Expr:
    """A parsed formula: an immutable tree, compared and hashed by structure."""

    prec = 9  # binding strength, to print the fewest parentheses that keep the structure
    depth = 1
    args: tuple[Expr, ...] = ()

    def __str__(self) -> str:
        """Canonical text: `parse(str(e)) == e`."""
        return self._text()

    def _text(self) -> str:
        raise NotImplementedError

    @staticmethod
    def _wrap(child: Expr, prec: int) -> str:
        return f"({child._text()})" if child.prec < prec else child._text()

    def walk(self) -> Iterator[Expr]:
        """Every node, depth first, without recursion."""
        stack: list[Expr] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.args))

    def references(self) -> list[Ref]:
        """The distinct data-item references, sorted; a `sum` argument keeps its `*`."""
        return sorted({node for node in self.walk() if isinstance(node, Ref)})

    def functions(self) -> set[str]:
        return {node.name for node in self.walk() if isinstance(node, Call)}

    def years(self) -> set[int]:
        """The year offsets used: 0 for T, -1 for T-1."""
        return {ref.year for ref in self.references()}

    def with_breakdown(self, values: dict[str, str]) -> Expr:
        """A copy where every reference gets each key=value unless it already fixes that key."""
        pairs = tuple((key, str(value)) for key, value in values.items())
        for key, value in pairs:
            if not _NAME.match(key) or not _VALUE.match(value):
                raise FormulaError(str(self), None, _(
                    "bad breakdown {key}={value}: expected a key such as flow and a value such "
                    "as IM").format(key=key, value=value))
        return self._map(lambda ref: replace(ref, breakdown=ref.breakdown + tuple(
            (k, v) for k, v in pairs if k not in dict(ref.breakdown))))

    def _map(self, fn: Callable[[Ref], Ref]) -> Expr:
        return replace(self, args=tuple(a._map(fn) for a in self.args)) if self.args else self

    def _eval(self, env: _Env) -> Values:
        raise NotImplementedError


@dataclass(frozen=True)
class Num(Expr):
    value: float

    def _text(self) -> str:
        v = float(self.value)
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)

    def _eval(self, env: _Env) -> Values:
        return Values.of(np.full(env.size, self.value))


@dataclass(frozen=True, order=True)
class Ref(Expr):
    """One data-item reference: item code, year offset from T, breakdown (value `*`: any)."""

    item: str
    year: int = 0
    breakdown: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "breakdown", tuple(sorted(self.breakdown)))

    def _text(self) -> str:
        pairs = ";".join(f"{k}={v}" for k, v in self.breakdown)
        return self.item + (f"{{{pairs}}}" if pairs else "") + (
            f"[T{self.year}]" if self.year else "")

    @property
    def wildcard_keys(self) -> tuple[str, ...]:
        return tuple(k for k, v in self.breakdown if v == "*")

    def _map(self, fn: Callable[[Ref], Ref]) -> Expr:
        return fn(self)

    def _eval(self, env: _Env) -> Values:
        return env.get(self)


class _Node(Expr):
    def __post_init__(self) -> None:
        object.__setattr__(self, "depth", 1 + max(a.depth for a in self.args))


@dataclass(frozen=True)
class Unary(_Node):
    op: str  # "-" or "not"
    args: tuple[Expr, ...]

    @property
    def prec(self) -> int:  # type: ignore[override]
        return 7 if self.op == "-" else 3

    def _text(self) -> str:
        return ("-" if self.op == "-" else "not ") + self._wrap(self.args[0], self.prec)

    def _eval(self, env: _Env) -> Values:
        v = self.args[0]._eval(env)
        return _result(-v.value if self.op == "-" else (v.value == 0) * 1.0, v.reason, self)


_LEVEL = {"or": 1, "and": 2, **dict.fromkeys(("<", "<=", ">", ">=", "==", "!="), 4),
          "+": 5, "-": 5, "*": 6, "/": 6}
_NUMPY = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "<": np.less,
          "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal,
          "!=": np.not_equal}


@dataclass(frozen=True)
class Chain(_Node):
    """Operands joined left to right by operators of one precedence level: `a - b + c`."""

    ops: tuple[str, ...]
    args: tuple[Expr, ...]

    def __post_init__(self) -> None:
        first = self.args[0]  # (a + b) + c is a + b + c (same order): one canonical tree
        if isinstance(first, Chain) and first.prec == self.prec != 4:
            object.__setattr__(self, "ops", first.ops + self.ops)
            object.__setattr__(self, "args", first.args + self.args[1:])
        super().__post_init__()

    @property
    def prec(self) -> int:  # type: ignore[override]
        return _LEVEL[self.ops[0]]

    def _text(self) -> str:
        p = self.prec  # comparisons do not chain: their left side is bracketed like the right
        return self._wrap(self.args[0], p + (p == 4)) + "".join(
            f" {op} {self._wrap(a, p + 1)}" for op, a in zip(self.ops, self.args[1:], strict=True))

    def _prefix(self, i: int) -> str:
        return str(Chain(self.ops[:i], self.args[:i + 1]))

    def _eval(self, env: _Env) -> Values:
        acc = self.args[0]._eval(env)
        for i, (op, arg) in enumerate(zip(self.ops, self.args[1:], strict=True), 1):
            v = arg._eval(env)
            if op in ("and", "or"):  # where the left side decides, the right one is not asked
                a, b = acc.value != 0, v.value != 0
                decided = acc.computable & (a if op == "or" else ~a)
                reason = np.where(acc.computable, np.where(decided, None, v.reason), acc.reason)
                acc = Values.of(np.where(decided, a, b) * 1.0, reason)
                continue
            raw = np.asarray(_NUMPY[op](acc.value, v.value), dtype=np.float64)
            reason = _first(acc.reason, v.reason)
            zero = (v.value == 0) & np.equal(reason, None) if op == "/" else None
            if zero is not None and zero.any():
                reason = np.where(zero, _("division by zero in {expr}").format(
                    expr=self._prefix(i)), reason)
            acc = _result(raw, reason, partial(self._prefix, i))
        return acc


@dataclass(frozen=True)
class Call(_Node):
    name: str
    args: tuple[Expr, ...]

    def _text(self) -> str:
        return f"{self.name}({', '.join(a._text() for a in self.args)})"

    def _eval(self, env: _Env) -> Values:
        if self.name == "sum":
            ref = self.args[0]
            assert isinstance(ref, Ref)
            parts = [env.get(part) for part in env.parts(ref)]
            if not parts:
                return Values.missing(env.size, _("no breakdown values for {ref}").format(ref=ref))
        else:
            parts = [a._eval(env) for a in self.args]
        reason = _first(*(p.reason for p in parts))
        if self.name == "if":  # reasons come from the condition and the branch it selects
            cond, yes, no = parts
            pick = cond.value != 0
            reason = np.where(cond.computable, np.where(pick, yes.reason, no.reason), cond.reason)
            return Values.of(np.where(pick, yes.value, no.value), reason)
        if self.name == "abs":
            raw = np.abs(parts[0].value)
        elif self.name == "sum":
            raw = parts[0].value
            for p in parts[1:]:  # left to right, as if written out by hand
                raw = raw + p.value
        else:
            raw = (np.minimum if self.name == "min" else np.maximum).reduce(
                [p.value for p in parts])
        return _result(raw, reason, self)


@dataclass(frozen=True, eq=False)
class Values:
    """A column over members: `value`, NaN exactly where `reason` says why it is not computable."""

    value: np.ndarray  # float64, shape (n,)
    reason: np.ndarray  # object, shape (n,): None or a text such as "missing: aeo_count[T-1]"

    @classmethod
    def of(cls, value: object, reason: object = None) -> Values:
        """Build a column; a non-finite value given without a reason counts as missing."""
        v = np.array(value, dtype=np.float64, ndmin=1)
        r = (np.full(v.shape, None, dtype=object) if reason is None
             else np.array(reason, dtype=object, ndmin=1))
        if v.ndim != 1 or r.shape != v.shape:
            raise ValueError(f"values of shape {v.shape} and reasons of shape {r.shape}; "
                             "expected two columns of the same length")
        r = np.where(~np.isfinite(v) & np.equal(r, None), _("missing"), r)
        return cls(np.where(np.equal(r, None), v, np.nan), r)

    @classmethod
    def missing(cls, n: int, reason: str) -> Values:
        return cls(np.full(n, np.nan), np.full(n, reason, dtype=object))

    @property
    def computable(self) -> np.ndarray:
        return np.equal(self.reason, None)


def _first(*reasons: np.ndarray) -> np.ndarray:
    """Per member, the first reason (in evaluation order) that is not None."""
    out = reasons[-1]
    for r in reversed(reasons[:-1]):
        out = np.where(np.equal(r, None), out, r)
    return out


def _result(raw: np.ndarray, reason: np.ndarray, what: object) -> Values:
    """An operation's column: a non-finite result that has no reason yet is an overflow."""
    bad = ~np.isfinite(raw) & np.equal(reason, None)
    if bad.any():
        text = what() if callable(what) else str(what)
        reason = np.where(bad, _("overflow in {expr}").format(expr=text), reason)
    return Values(np.where(np.equal(reason, None), raw, np.nan), reason)


@dataclass
class _Env:
    size: int
    resolve: Callable[[Ref], Values]
    expand: Callable[[Ref], list[Ref]] | None
    cache: dict[Ref, Values]

    def get(self, ref: Ref) -> Values:
        if ref not in self.cache:
            got = self.resolve(ref)
            self.cache[ref] = Values.of(got.value, got.reason)
            if self.cache[ref].value.shape != (self.size,):
                raise ValueError(f"resolve({ref}) gave {got.value.shape} values; "
                                 f"expected {self.size}")
        return self.cache[ref]

    def parts(self, ref: Ref) -> list[Ref]:
        if self.expand is None:
            raise ValueError(f"sum({ref}) needs evaluate(..., expand=) to list breakdown values")
        parts = self.expand(ref)
        for part in parts:
            fixed = dict(part.breakdown)
            if part.wildcard_keys or (part.item, part.year) != (ref.item, ref.year) or any(
                    fixed.get(k) != v for k, v in ref.breakdown if v != "*"):
                raise ValueError(f"expand({ref}) gave {part}, which it does not stand for")
        return parts


def evaluate(expr: Expr, resolve: Callable[[Ref], Values], size: int,
             expand: Callable[[Ref], list[Ref]] | None = None) -> Values:
    """Evaluate `expr` for `size` members at once.

    `resolve(ref)` gives a data item's column (each reference is resolved once); `expand(ref)`
    lists the concrete references a wildcard stands for, as `sum` needs.
    """
    with np.errstate(all="ignore"):
        return expr._eval(_Env(size, resolve, expand, {}))


@dataclass(frozen=True)
class _Wild:
    """A wildcard reference on its way to `sum`, the only place it may appear."""

    ref: Ref
    pos: int


def _plain(*args: object) -> None:
    for a in args:
        if isinstance(a, _Wild):
            raise _Fail(a.pos, _("a wildcard reference such as {ref} is only allowed directly "
                                 "inside sum()").format(ref=a.ref))


def _checked(node: Expr, tok: Token) -> Expr:
    if node.depth > MAX_DEPTH:
        raise _Fail(tok.start_pos, _("operators nested more than {limit} levels deep").format(
            limit=MAX_DEPTH))
    return node


@v_args(inline=True)
class _Build(Transformer):
    """Called by the LALR parser at each reduction, so building the tree never recurses."""

    def number(self, tok: Token) -> Num:
        if not np.isfinite(value := float(tok)):
            raise _Fail(tok.start_pos, _("number {number} is too large").format(
                number=_short(tok)))
        return Num(value)

    def pair(self, key: Token, value: Token) -> tuple[Token, str]:
        return key, str(value)

    def breakdown(self, *pairs: tuple[Token, str]) -> tuple[tuple[str, str], ...]:
        keys = [key for key, _value in pairs]
        for i, key in enumerate(keys):
            if key in keys[:i]:
                raise _Fail(key.start_pos, _("breakdown key '{key}' is given twice").format(
                    key=key))
        return tuple((str(k), v) for k, v in pairs)

    def year(self, *toks: Token) -> int:
        if toks[0].type == "YEAR_T" and len(toks) == 1:
            return 0
        if toks[0].type == "YEAR_T" and toks[1] == "-" and toks[2].isdigit() \
                and int(toks[2]) <= MAX_YEARS_BACK:
            return -int(toks[2])
        raise _Fail(toks[0].start_pos, _("bad year [{year}]: write [T] or [T-k] with k a whole "
                                         "number from 0 to {limit}").format(
            year="".join(toks), limit=MAX_YEARS_BACK))

    def ref(self, name: Token, *parts: object) -> Ref | _Wild:
        if name in FUNCTIONS or name in KEYWORDS:
            raise _Fail(name.start_pos, _("'{name}' is reserved: it is not a data item").format(
                name=name), _("'(' after a function name") if name in FUNCTIONS else "")
        year = next((p for p in parts if isinstance(p, int)), 0)
        breakdown = next((p for p in parts if isinstance(p, tuple)), ())
        ref = Ref(str(name), year, breakdown)
        return _Wild(ref, name.start_pos) if ref.wildcard_keys else ref

    def chain(self, left: Expr, op: Token, right: Expr) -> Expr:
        _plain(left, right)
        return _checked(Chain((str(op),), (left, right)), op)

    def unary(self, op: Token, arg: Expr) -> Expr:
        _plain(arg)
        return _checked(Unary(str(op), (arg,)), op)

    def call(self, name: Token, *args: Expr | _Wild) -> Expr:
        if name not in FUNCTIONS:
            raise _Fail(name.start_pos, _("unknown function '{name}'").format(name=name),
                        _("one of {names}").format(names=", ".join(sorted(FUNCTIONS))))
        low, high = FUNCTIONS[name]
        if not low <= len(args) <= (high or len(args)):
            raise _Fail(name.start_pos, _("{name}() takes {count} argument(s), not {got}").format(
                name=name, count=low if low == high else _("at least {n}").format(n=low),
                got=len(args)))
        if name == "sum":
            if not isinstance(args[0], _Wild):
                raise _Fail(name.start_pos, _("sum() needs a reference with a wildcard"),
                            _("a reference such as trade_value{flow=*}"))
            args = (args[0].ref,)
        _plain(*args)
        return _checked(Call(str(name), args), name)  # type: ignore[arg-type]


@cache
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", lexer="contextual", transformer=_Build())


_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH", "CMP", "AND", "OR"}


def _expected(names: set[str]) -> str:
    """Lark's terminal names, as a reader would say them."""
    words: list[str] = []
    if {"NAME", "NUMBER"} <= names:
        words.append(_("a number, a data item, a function or '('"))
        names = names - {"NAME", "NUMBER", "MINUS", "NOT", "LPAR"}
    if "YEAR_T" in names:
        words.append(_("T, as in [T] or [T-1]"))
        names = names - {"NUMBER"}
    if "VALUE" in names:
        words.append(_("a breakdown value or '*'"))
        names = names - {"STAR"}
    if names & _OPERATORS and "RSQB" not in names:
        words.append(_("an operator"))
        names = names - _OPERATORS
    said = {"NAME": _("a breakdown key"), "NUMBER": _("a whole number"), "EQUAL": "'='",
            "MINUS": "'-'", "LPAR": "'('", "LSQB": _("a year such as [T-1]"),
            "LBRACE": _("a breakdown such as {flow=IM}"), "SEMICOLON": "';'", "RBRACE": "'}'",
            "RSQB": "']'", "COMMA": "','", "RPAR": "')'", "$END": _("end of formula")}
    words += [word for name, word in said.items() if name in names]
    if len(words) < 2:
        return "".join(words)
    return _("{items} or {last}").format(items=", ".join(words[:-1]), last=words[-1])


def _syntax_error(text: str, e: UnexpectedInput) -> FormulaError:
    names = set(getattr(e, "allowed", None) or getattr(e, "expected", None) or ())
    with suppress(AttributeError, _Fail):  # LALR merges states: ask what would really fit
        names = set(e.interactive_parser.accepts())  # type: ignore[attr-defined]
    if isinstance(e, UnexpectedCharacters):
        pos = e.pos_in_stream
        what = _("unexpected {token}").format(token=repr(text[pos]))
    elif isinstance(e, UnexpectedToken) and e.token.type != "$END":
        pos, what = e.token.start_pos, _("unexpected {token}").format(token=repr(_short(e.token)))
    else:
        pos, what = len(text), _("unexpected end of formula")
    return FormulaError(text, pos, what, _expected(names))


@lru_cache(maxsize=4096)  # trees are immutable; errors are not cached (they are raised)
def parse(text: str) -> Expr:
    """Parse a formula into its tree; raise FormulaError, with the column, if it is not valid."""
    if len(text) > MAX_LENGTH:
        raise FormulaError(text, MAX_LENGTH, _(
            "the formula is {length} characters long; at most {limit} are allowed").format(
            length=f"{len(text):,}", limit=f"{MAX_LENGTH:,}"))
    if not text.strip():
        raise FormulaError(text, 0, _("the formula is empty"))
    depth = 0
    for i, ch in enumerate(text):  # refuse deep nesting before the parser sees it
        depth = depth + 1 if ch == "(" else max(depth - (ch == ")"), 0)
        if depth > MAX_NESTING:
            raise FormulaError(text, i, _(
                "more than {limit} nested parentheses or function calls").format(limit=MAX_NESTING))
    try:
        expr = _parser().parse(text)
        _plain(expr)
    except _Fail as f:
        raise FormulaError(text, f.pos, f.reason, f.expected) from None
    except UnexpectedInput as e:
        raise _syntax_error(text, e) from None
    if len(canonical := str(expr)) > MAX_LENGTH:  # so that parse(str(e)) == e always holds
        raise FormulaError(text, None, _(
            "written in canonical form, with spaces around operators, the formula is {length} "
            "characters long; at most {limit} are allowed").format(
            length=f"{len(canonical):,}", limit=f"{MAX_LENGTH:,}"))
    return expr
