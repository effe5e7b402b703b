"""The index structure: indicators (level 1) and aggregates (levels 2 … top), as data.

A structure is read from metadata CSV files. Two layouts are accepted, named by a column map:

* long: one row per indicator with its `parent` (level 2), and one row per aggregate with its
  `level`, `weight` and `parent` (empty at the top);
* wide (COINr's legacy `IndData`/`AggMeta` layout): each indicator row lists its ancestors in
  several columns (`parents: [Agg1, Agg2, Agg3]`, one per level), and the aggregates file only
  gives `level` and `weight`.

Indicator metadata also carries direction, weight, denominator, target and goalposts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pmm.errors import PmmError
from pmm.i18n import _
from pmm.scoring.spec import AggregateColumns, IndicatorColumns


@dataclass(frozen=True)
class Structure:
    """Codes by level, parent links, weights and indicator attributes."""

    indicators: tuple[str, ...]
    #: aggregate codes per level, starting at level 2
    levels: tuple[tuple[str, ...], ...]
    parent: dict[str, str | None]
    weight: dict[str, float]
    direction: dict[str, int]
    denominator: dict[str, str | None] = field(default_factory=dict)
    target: dict[str, float] = field(default_factory=dict)
    lower: dict[str, float] = field(default_factory=dict)
    upper: dict[str, float] = field(default_factory=dict)
    name: dict[str, str] = field(default_factory=dict)

    @property
    def aggregates(self) -> tuple[str, ...]:
        return tuple(c for lev in self.levels for c in lev)

    @property
    def top(self) -> tuple[str, ...]:
        return self.levels[-1] if self.levels else ()

    @property
    def n_levels(self) -> int:
        return len(self.levels) + 1

    def level_of(self, code: str) -> int:
        if code in self.indicators:
            return 1
        for i, lev in enumerate(self.levels):
            if code in lev:
                return i + 2
        raise KeyError(code)

    def children(self, code: str) -> list[str]:
        level = self.level_of(code)
        pool = self.indicators if level == 2 else self.levels[level - 3]
        return [c for c in pool if self.parent.get(c) == code]

    def codes_at(self, level: int) -> tuple[str, ...]:
        return self.indicators if level == 1 else self.levels[level - 2]

    def ancestors(self, code: str) -> list[str]:
        out = []
        p = self.parent.get(code)
        while p is not None:
            out.append(p)
            p = self.parent.get(p)
        return out

    def without(self, removed: set[str]) -> Structure:
        """The structure with some indicators removed (aggregates left without children stay:
        they aggregate to missing, like COINr's `remove_elements`)."""
        return Structure(
            indicators=tuple(c for c in self.indicators if c not in removed),
            levels=self.levels, parent=self.parent, weight=self.weight,
            direction=self.direction, denominator=self.denominator, target=self.target,
            lower=self.lower, upper=self.upper, name=self.name)

    def effective_weights(self, weights: dict[str, float] | None = None) -> pd.DataFrame:
        """Each node's share of the top aggregate: the product of its weight share among its
        siblings along the path (the nominal weights a reader sees, not the statistical
        importance, which coherence analysis reports)."""
        w = self.weight if weights is None else {**self.weight, **weights}
        share: dict[str, float] = {}
        for level in range(1, self.n_levels + 1):
            codes = self.codes_at(level)
            for c in codes:
                p = self.parent.get(c)
                if p is None:
                    share[c] = 1.0
                    continue
                sib = [s for s in codes if self.parent.get(s) == p]
                total = sum(w[s] for s in sib)
                share[c] = w[c] / total if total else float("nan")
        rows = []
        for level in range(1, self.n_levels + 1):
            for c in self.codes_at(level):
                eff = share[c]
                for a in self.ancestors(c):
                    eff *= share[a]
                rows.append({"code": c, "level": level, "parent": self.parent.get(c) or "",
                             "weight": w[c], "share_of_parent": share[c],
                             "effective_weight": eff})
        return pd.DataFrame(rows)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, comment=None)
    except FileNotFoundError:
        raise PmmError(_("{file}: file not found").format(file=path)) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise PmmError(_("{file}: not a readable CSV file: {error}").format(
            file=path, error=exc)) from None


def _number(df: pd.DataFrame, col: str, path: Path, *, required: bool,
            default: float = float("nan")) -> np.ndarray:
    if col not in df.columns:
        if required:
            raise PmmError(_("{file}: column {column!r} is missing (columns: {found})").format(
                file=path, column=col, found=", ".join(df.columns)))
        return np.full(len(df), default)
    raw = df[col].str.strip()
    vals = pd.to_numeric(raw.where(raw != "", None), errors="coerce").to_numpy(float)
    bad = np.isnan(vals) & (raw != "").to_numpy() & ~raw.str.upper().isin(["NA", "NAN"]).to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise PmmError(_("{file}:{line}: column {column!r}: {value!r} is not a number").format(
            file=path, line=_line(df, i), column=col, value=df[col].iloc[i]))
    if required and np.isnan(vals).any():
        i = int(np.argmax(np.isnan(vals)))
        raise PmmError(_("{file}:{line}: column {column!r} is empty; a number is required")
                       .format(file=path, line=_line(df, i), column=col))
    return np.where(np.isnan(vals), default, vals)


def _text(df: pd.DataFrame, col: str | None) -> list[str]:
    if col is None or col not in df.columns:
        return [""] * len(df)
    return [s.strip() for s in df[col]]


def load_structure(indicators_file: Path, aggregates_file: Path | None,
                   icols: IndicatorColumns | None = None,
                   acols: AggregateColumns | None = None) -> Structure:
    """Read and check the indicator and aggregate metadata."""
    icols, acols = icols or IndicatorColumns(), acols or AggregateColumns()
    ind = _read_csv(indicators_file)
    agg = _read_csv(aggregates_file) if aggregates_file is not None else None
    return _build(ind, agg, icols, acols, indicators_file, aggregates_file)


def _no_negative(df: pd.DataFrame, col: str | None, weights: np.ndarray, path: Path) -> None:
    """A weight is a share of importance: below 0 it would turn an indicator against its own
    direction, so it is refused (0 leaves the indicator out of its aggregate)."""
    bad = np.flatnonzero(weights < 0)
    if len(bad):
        i = int(bad[0])
        raise PmmError(_("{file}:{line}: column {column!r}: {value!r} is a negative weight; "
                         "expected a number of 0 or more").format(
            file=path, line=_line(df, i), column=col, value=df[col].iloc[i]))


def _line(df: pd.DataFrame, i: int) -> int:
    """The file line of row i of a table read from CSV (header = line 1), also when the table
    is a selection of the file's rows (COINr's iMeta holds indicators and aggregates)."""
    return int(df.index[i]) + 2


def _build(ind: pd.DataFrame, agg: pd.DataFrame | None, icols: IndicatorColumns,
           acols: AggregateColumns, indicators_file: Path, aggregates_file: Path | None
           ) -> Structure:
    if icols.code not in ind.columns:
        raise PmmError(_("{file}: column {column!r} is missing (columns: {found})").format(
            file=indicators_file, column=icols.code, found=", ".join(ind.columns)))
    codes = _text(ind, icols.code)
    for i, c in enumerate(codes):
        if not c:
            raise PmmError(_("{file}:{line}: column {column!r} is empty; a code is required")
                           .format(file=indicators_file, line=_line(ind, i), column=icols.code))
    dup = pd.Series(codes)[pd.Series(codes).duplicated()]
    if len(dup):
        i = int(dup.index[0])
        raise PmmError(_("{file}:{line}: code {code!r} appears twice").format(
            file=indicators_file, line=_line(ind, i), code=codes[i]))
    direction = _number(ind, icols.direction, indicators_file, required=True)
    for i, d in enumerate(direction):
        if d not in (1.0, -1.0):
            raise PmmError(_("{file}:{line}: column {column!r}: {value!r} is not a direction "
                             "(expected 1 or -1)").format(file=indicators_file, line=_line(ind, i),
                                                          column=icols.direction,
                                                          value=ind[icols.direction].iloc[i]))
    weight = (_number(ind, icols.weight, indicators_file, required=False, default=1.0)
              if icols.weight else np.ones(len(ind)))
    _no_negative(ind, icols.weight, weight, indicators_file)
    parent: dict[str, str | None] = {}
    wmap: dict[str, float] = dict(zip(codes, map(float, weight), strict=True))
    names: dict[str, str] = dict(zip(codes, _text(ind, icols.name), strict=True))
    agg_level: dict[str, int] = {}

    if icols.parents:
        missing = [c for c in icols.parents if c not in ind.columns]
        if missing:
            raise PmmError(_("{file}: column {column!r} is missing (columns: {found})").format(
                file=indicators_file, column=missing[0], found=", ".join(ind.columns)))
        chains = [_text(ind, c) for c in icols.parents]
        for i, code in enumerate(codes):
            prev = code
            for lev, chain in enumerate(chains, start=2):
                a = chain[i]
                if not a:
                    if lev == 2:
                        raise PmmError(_("{file}:{line}: column {column!r} is empty; every "
                                         "indicator needs a parent").format(
                            file=indicators_file, line=_line(ind, i), column=icols.parents[0]))
                    break
                known = parent.get(prev, a)
                if known != a:
                    raise PmmError(_("{file}:{line}: {code!r} has parent {a!r} here but "
                                     "{b!r} on another row").format(
                        file=indicators_file, line=_line(ind, i), code=prev, a=a, b=known))
                if agg_level.setdefault(a, lev) != lev:
                    raise PmmError(_("{file}:{line}: aggregate {code!r} appears at two levels")
                                   .format(file=indicators_file, line=_line(ind, i), code=a))
                parent[prev] = a
                prev = a
            parent.setdefault(prev, None)
    else:
        if icols.parent is None or icols.parent not in ind.columns:
            raise PmmError(_("{file}: column {column!r} is missing (columns: {found})").format(
                file=indicators_file, column=icols.parent, found=", ".join(ind.columns)))
        for i, (code, p) in enumerate(zip(codes, _text(ind, icols.parent), strict=True)):
            if not p:
                raise PmmError(_("{file}:{line}: column {column!r} is empty; every indicator "
                                 "needs a parent").format(file=indicators_file, line=_line(ind, i),
                                                          column=icols.parent))
            parent[code] = p

    agg_order: list[str] = []
    if agg is not None:
        assert aggregates_file is not None
        if acols.code not in agg.columns:
            raise PmmError(_("{file}: column {column!r} is missing (columns: {found})").format(
                file=aggregates_file, column=acols.code, found=", ".join(agg.columns)))
        acodes = _text(agg, acols.code)
        alevels = _number(agg, acols.level, aggregates_file, required=True)
        aweights = (_number(agg, acols.weight, aggregates_file, required=False, default=1.0)
                    if acols.weight else np.ones(len(agg)))
        _no_negative(agg, acols.weight, aweights, aggregates_file)
        aparents = _text(agg, acols.parent) if (acols.parent and acols.parent in agg.columns) \
            else None
        for i, c in enumerate(acodes):
            if not c:
                raise PmmError(_("{file}:{line}: column {column!r} is empty; a code is required")
                               .format(file=aggregates_file, line=_line(agg, i), column=acols.code))
            if c in wmap:
                raise PmmError(_("{file}:{line}: code {code!r} appears twice").format(
                    file=aggregates_file, line=_line(agg, i), code=c))
            lev = int(alevels[i])
            if lev != alevels[i] or lev < 2:
                raise PmmError(_("{file}:{line}: column {column!r}: {value!r} is not a level "
                                 "(expected an integer of at least 2)").format(
                    file=aggregates_file, line=_line(agg, i), column=acols.level,
                    value=agg[acols.level].iloc[i]))
            if agg_level.setdefault(c, lev) != lev:
                raise PmmError(_("{file}:{line}: aggregate {code!r} is at level {a} here but "
                                 "at level {b} in {other}").format(
                    file=aggregates_file, line=_line(agg, i), code=c, a=lev, b=agg_level[c],
                    other=indicators_file))
            wmap[c] = float(aweights[i])
            names[c] = _text(agg, acols.name)[i]
            agg_order.append(c)
            if aparents is not None:
                p = aparents[i] or None
                if icols.parents and parent.get(c, p) != p:
                    raise PmmError(_("{file}:{line}: {code!r} has parent {a!r} here but "
                                     "{b!r} on another row").format(
                        file=aggregates_file, line=_line(agg, i), code=c, a=p, b=parent.get(c)))
                parent[c] = p
    # aggregates named as parents but absent from the aggregates file
    referenced = {p for c, p in parent.items() if p is not None}
    for a in sorted(referenced):
        if a not in wmap:
            if aggregates_file is not None:
                raise PmmError(_("{file}: aggregate {code!r} is used as a parent but has no row")
                               .format(file=aggregates_file, code=a))
            wmap[a] = 1.0
            names[a] = a
        if a not in agg_order:
            agg_order.append(a)
    for a in agg_order:
        parent.setdefault(a, None)
    # levels from the parent links when the long layout gave none
    def level(code: str, seen: tuple[str, ...] = ()) -> int:
        if code in codes:
            return 1
        if code in seen:
            raise PmmError(_("{file}: the parent links form a cycle through {code!r}").format(
                file=aggregates_file or indicators_file, code=code))
        kids = [c for c, p in parent.items() if p == code]
        if not kids:
            raise PmmError(_("{file}: aggregate {code!r} has no children").format(
                file=aggregates_file or indicators_file, code=code))
        lv = {level(k, (*seen, code)) + 1 for k in kids}
        if len(lv) > 1:
            raise PmmError(_("{file}: aggregate {code!r} has children at different levels")
                           .format(file=aggregates_file or indicators_file, code=code))
        return lv.pop()

    computed = {a: level(a) for a in agg_order}
    for a, lev in computed.items():
        if agg_level.get(a, lev) != lev:
            raise PmmError(_("{file}: aggregate {code!r} is declared at level {a} but its "
                             "children put it at level {b}").format(
                file=aggregates_file or indicators_file, code=a, a=agg_level[a], b=lev))
    top = max(computed.values(), default=1)
    levels = tuple(tuple(a for a in agg_order if computed[a] == lev) for lev in range(2, top + 1))
    for a, lev in computed.items():
        if lev < top and parent.get(a) is None:
            raise PmmError(_("{file}: aggregate {code!r} (level {level}) has no parent; only "
                             "the top level may").format(file=aggregates_file or indicators_file,
                                                          code=a, level=lev))

    def opt(col: str | None) -> dict[str, float]:
        if not col or col not in ind.columns:
            return {}
        vals = _number(ind, col, indicators_file, required=False)
        return {c: float(v) for c, v in zip(codes, vals, strict=True) if not np.isnan(v)}

    denominators = {}
    if icols.denominator and icols.denominator in ind.columns:
        denominators = {c: (d or None) for c, d in
                        zip(codes, _text(ind, icols.denominator), strict=True)}
    return Structure(
        indicators=tuple(codes), levels=levels, parent=parent, weight=wmap,
        direction={c: int(d) for c, d in zip(codes, direction, strict=True)},
        denominator=denominators, target=opt(icols.target), lower=opt(icols.lower),
        upper=opt(icols.upper), name=names)


# --- COINr's iMeta layout ----------------------------------------------------------------------

#: COINr's `iMeta` columns (`new_coin(iData, iMeta)`): one table for indicators, aggregates,
#: group columns and denominators, told apart by `Type`.
COINR_TYPES = ("Indicator", "Aggregate", "Group", "Denominator", "Other")
COINR_INDICATOR_COLUMNS = IndicatorColumns(
    code="iCode", name="iName", direction="Direction", weight="Weight",
    denominator="Denominator", target="Target", lower=None, upper=None, parent="Parent")
COINR_AGGREGATE_COLUMNS = AggregateColumns(code="iCode", name="iName", level="Level",
                                           weight="Weight", parent="Parent")


@dataclass(frozen=True)
class CoinrMeta:
    """What an `iMeta` file says: the structure, and which data columns are groups and
    denominators."""

    structure: Structure
    groups: list[str]
    denominators: list[str]


def is_coinr_meta(path: Path) -> bool:
    """Whether a metadata file is in COINr's `iMeta` layout (columns iCode and Type)."""
    try:
        with path.open(encoding="utf-8") as fh:
            header = fh.readline()
    except (OSError, UnicodeDecodeError):
        return False
    names = {c.strip().strip('"') for c in header.strip().split(",")}
    return {"iCode", "Type"} <= names


def load_coinr_meta(path: Path) -> CoinrMeta:
    """Read COINr's `iMeta`: rows of Type Indicator (Level 1) and Aggregate (Level 2 up, with
    Parent and Weight), Group and Denominator (columns of `iData`); Other rows are ignored."""
    meta = _read_csv(path)
    for col in ("iCode", "Type", "Level", "Parent", "Direction"):
        if col not in meta.columns:
            raise PmmError(_("{file}: column {column!r} is missing (columns: {found})").format(
                file=path, column=col, found=", ".join(meta.columns)))
    types = [t.strip() for t in meta["Type"]]
    for i, t in enumerate(types):
        if t not in COINR_TYPES:
            raise PmmError(_("{file}:{line}: column 'Type': {value!r} is not a COINr type "
                             "(expected one of {expected})").format(
                file=path, line=i + 2, value=t, expected=", ".join(COINR_TYPES)))
    kind = np.array(types)
    ind = meta[kind == "Indicator"]
    agg = meta[kind == "Aggregate"]
    levels = _number(ind, "Level", path, required=True)
    if (levels != 1).any():
        i = int(np.argmax(levels != 1))
        raise PmmError(_("{file}:{line}: column 'Level': an indicator is at level 1, not "
                         "{value!r}").format(file=path, line=_line(ind, i),
                                             value=ind["Level"].iloc[i]))
    structure = _build(ind, agg if len(agg) else None, COINR_INDICATOR_COLUMNS,
                       COINR_AGGREGATE_COLUMNS, path, path if len(agg) else None)
    codes = [c.strip() for c in meta["iCode"]]
    return CoinrMeta(structure=structure,
                     groups=[c for c, t in zip(codes, types, strict=True) if t == "Group"],
                     denominators=[c for c, t in zip(codes, types, strict=True)
                                   if t == "Denominator"])
