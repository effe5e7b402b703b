"""Validation rules generated from the framework: nothing here names a particular KPI or item.

Three families, each over whole columns of a submission's values (a pandas frame with
`data_item, year, breakdown, value, status, note`):

- `check_values`: what can never be right and is refused on every write — unknown item, year
  outside the cycle, bad breakdown, a value with the wrong type or out of its bounds
  (percentages within 0–100), a part above its whole (electronic declarations ≤ declarations),
  breakdown parts adding up to more than their total.
- `check_required`: what blocks a submission but not saving a draft — every value a reported
  KPI's formula needs (T-1 included where the KPI uses it), a reason for each KPI marked not
  applicable.
- `check_plausibility`: warnings that need an explanation before submitting — a change from T-1
  to T beyond a threshold, and robust z-score outliers against the cycle's other submissions.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from pmm.assessment.common import ITEM_STATUSES, item_key
from pmm.conventions import format_breakdown, parse_breakdown
from pmm.framework.model import KPI, Framework
from pmm.i18n import _

VALUE_COLUMNS = ["data_item", "year", "breakdown", "value", "status", "note"]
ADDITIVE = ("count", "currency")  # types whose breakdown parts add up to the total
SCALE_TYPES = ("count", "currency")  # compared on a log scale across members


@dataclass(frozen=True)
class Thresholds:
    """When a value is implausible enough to need an explanation."""

    relative_change: float = 0.5  # |T / T-1 - 1| above this (counts, amounts, times)
    points_change: float = 20.0  # percentage points between T-1 and T (percentages)
    min_change: float = 10.0  # ignore changes smaller than this in absolute terms
    robust_z: float = 3.5  # |modified z-score| (Iglewicz and Hoaglin) above this
    min_peers: int = 8  # other submissions needed before outliers are looked for


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Issue:
    """One finding. `keys` name the values concerned, the first being the one to fix."""

    severity: str  # error or warning
    rule: str
    message: str
    field: str = "value"
    keys: tuple[tuple[str, int, str], ...] = ()
    kpi: str | None = None

    @property
    def where(self) -> str:
        if self.keys:
            return item_key(*self.keys[0])
        return self.kpi or ""

    @property
    def id(self) -> str:
        """Stable name of a warning, to which an explanation is attached."""
        return f"{self.rule}:{self.where}"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


def empty_values() -> pd.DataFrame:
    return pd.DataFrame({"data_item": pd.Series(dtype=object), "year": pd.Series(dtype="int64"),
                         "breakdown": pd.Series(dtype=object),
                         "value": pd.Series(dtype="float64"), "status": pd.Series(dtype=object),
                         "note": pd.Series(dtype=object)})


@dataclass(frozen=True)
class ItemMeta:
    types: dict[str, str]
    bounds: dict[str, tuple[float | None, float | None]]
    part_of: dict[str, str]
    keys: dict[str, tuple[str, ...]]


_metas: dict[int, tuple[Framework, ItemMeta]] = {}


def _meta(fw: Framework) -> ItemMeta:
    """Lookup tables of a framework (cached per framework object; frameworks are immutable)."""
    cached = _metas.get(id(fw))
    if cached is not None and cached[0] is fw:
        return cached[1]
    if len(_metas) > 32:
        _metas.clear()
    meta = ItemMeta(
        types={d.code: d.type for d in fw.data_items},
        bounds={d.code: d.plausible_bounds() for d in fw.data_items},
        part_of={d.code: d.part_of for d in fw.data_items if d.part_of},
        keys={d.code: tuple(d.breakdowns) for d in fw.data_items})
    _metas[id(fw)] = (fw, meta)
    return meta


def did_you_mean(text: str, choices: Iterable[str]) -> str:
    """' (did you mean ...?)' naming up to three close codes (empty when none is close)."""
    close = difflib.get_close_matches(text.strip(), list(choices), n=3, cutoff=0.6)
    if not close:
        lowered = text.strip().casefold()
        close = [c for c in choices if lowered and lowered in c.casefold()][:3]
    if not close:
        return ""
    named = close[0] if len(close) == 1 else ", ".join(close[:-1]) + _(" or ") + close[-1]
    return " " + _("(did you mean {choices}?)").format(choices=named)


def year_offsets(fw: Framework) -> tuple[int, ...]:
    """Years relative to T that this framework asks for (always T; T-1 when any KPI uses it)."""
    offsets = {0}
    for kpi in fw.kpis:
        if kpi.years == "T,T-1":
            offsets.add(-1)
        offsets.update(r.year for r in required_refs(fw, kpi))
    return tuple(sorted(offsets, reverse=True))


@lru_cache(maxsize=4096)
def _refs(formula: str, data_items: tuple[str, ...], years: str) -> tuple:
    from pmm.framework import formula as formulas

    try:
        return tuple(formulas.parse(formula).references())
    except formulas.FormulaError:
        offsets = (0, -1) if years == "T,T-1" else (0,)
        return tuple(formulas.Ref(item, off) for item in data_items for off in offsets)


def required_refs(fw: Framework, kpi: KPI) -> tuple:
    """The data-item references of the KPI's headline formula (`Ref(item, year, breakdown)`)."""
    return _refs(kpi.formula, tuple(kpi.data_items), kpi.years)


def check_breakdown(fw: Framework, item: str, text: str) -> str | None:
    """Why `text` is not a breakdown of `item` (None: it is)."""
    meta = _meta(fw)
    try:
        pairs = parse_breakdown(text)
    except ValueError as exc:
        return _("breakdown {value!r}: {reason}").format(value=text, reason=exc)
    allowed = meta.keys.get(item, ())
    for key, value in pairs.items():
        if key not in allowed:
            return _("breakdown {value!r}: {item} is not broken down by {key} (expected {keys})")\
                .format(value=text, item=item, key=key,
                        keys=", ".join(allowed) if allowed else _("an empty breakdown: the total"))
        allowed_values = fw.breakdown_values(item, key)
        if value not in allowed_values:
            return _("breakdown {value!r}: {key}={v} is not a value of {key} (expected one of "
                     "{values})").format(value=text, key=key, v=value,
                                         values=", ".join(allowed_values))
    if format_breakdown(pairs) != text:
        return _("breakdown {value!r}: write it as {canonical!r}").format(
            value=text, canonical=format_breakdown(pairs))
    return None


def _fmt(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def describe_expected(fw: Framework, item: str) -> str:
    """What a value of `item` must be, in words."""
    meta = _meta(fw)
    kind = meta.types[item]
    lo, hi = meta.bounds[item]
    names = {"count": _("a whole number"), "currency": _("an amount"),
             "percentage": _("a percentage"), "hours": _("a number of hours"),
             "days": _("a number of days"), "yes_no": _("true or false"),
             "number": _("a number")}
    text = names[kind]
    if kind == "yes_no":
        return text
    if lo is not None and hi is not None:
        return text + " " + _("from {lo} to {hi}").format(lo=_fmt(lo), hi=_fmt(hi))
    if lo is not None:
        return text + " ≥ " + _fmt(lo)
    if hi is not None:
        return text + " ≤ " + _fmt(hi)
    return text


def _columns(values: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                              np.ndarray]:
    """The frame as plain numpy columns (much cheaper than pandas on a few hundred rows)."""
    return (np.asarray(values["data_item"], dtype=object),
            np.asarray(values["year"], dtype=np.int64),
            np.asarray(values["breakdown"], dtype=object),
            np.asarray(values["value"], dtype=np.float64),
            np.asarray(values["status"], dtype=object))


def check_values(fw: Framework, year: int, values: pd.DataFrame) -> list[Issue]:
    """Errors in the values themselves (refused on every write)."""
    meta = _meta(fw)
    issues: list[Issue] = []
    if values.empty:
        return issues
    item, yr, bd, value, status = _columns(values)
    keys = list(zip(item.tolist(), yr.tolist(), bd.tolist(), strict=True))

    known = np.fromiter((i in meta.types for i in item), bool, len(item))
    for i in np.flatnonzero(~known):
        issues.append(Issue("error", "unknown_item", _(
            "{value!r} is not a data item of framework {fw}").format(
            value=item[i], fw=fw.id) + did_you_mean(str(item[i]), meta.types), "data_item",
            (keys[i],)))
    years = [year + off for off in year_offsets(fw)]
    bad_year = known & ~np.isin(yr, years)
    for i in np.flatnonzero(bad_year):
        issues.append(Issue("error", "year", _("year {value}: expected {years}").format(
            value=yr[i], years=_(" or ").join(map(str, years))), "year", (keys[i],)))
    ok = known & ~bad_year
    why = {}
    for pair in {(item[i], bd[i]) for i in np.flatnonzero(ok)}:
        reason = check_breakdown(fw, *pair)
        if reason:
            why[pair] = reason
    if why:
        bad_bd = ok & np.fromiter(((i, b) in why for i, b in zip(item, bd, strict=True)), bool,
                                  len(item))
        for i in np.flatnonzero(bad_bd):
            issues.append(Issue("error", "breakdown", why[(item[i], bd[i])], "breakdown",
                                (keys[i],)))
        ok &= ~bad_bd
    bad_status = ok & ~np.isin(status, list(ITEM_STATUSES))
    for i in np.flatnonzero(bad_status):
        issues.append(Issue("error", "status", _("status {value!r}: expected {allowed}").format(
            value=status[i], allowed=_(" or ").join(ITEM_STATUSES)), "status", (keys[i],)))
    ok &= ~bad_status
    has = ok & ~np.isnan(value)
    for i in np.flatnonzero(has & (status == "not_available")):
        issues.append(Issue("error", "status", _(
            "marked not_available but has the value {value}: leave the value empty or mark it "
            "reported").format(value=_fmt(value[i])), "value", (keys[i],)))

    kind = np.array([meta.types.get(i, "") for i in item], dtype=object)
    lo = np.array([meta.bounds.get(i, (None, None))[0] for i in item], dtype=np.float64)
    hi = np.array([meta.bounds.get(i, (None, None))[1] for i in item], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        not_finite = has & ~np.isfinite(value)
        whole = np.isclose(value, np.round(value), rtol=0, atol=1e-9)
        wrong_type = has & ~not_finite & (((kind == "count") & ~whole)
                                          | ((kind == "yes_no") & ~np.isin(value, [0.0, 1.0])))
        fine = has & ~not_finite & ~wrong_type
        below = fine & ~np.isnan(lo) & (value < lo)
        above = fine & ~np.isnan(hi) & (value > hi)
    for i in np.flatnonzero(not_finite):
        issues.append(Issue("error", "type", _("{value} is not a finite number").format(
            value=_fmt(value[i])), "value", (keys[i],)))
    for i in np.flatnonzero(wrong_type):
        issues.append(Issue("error", "type", _("{value} is not {expected}").format(
            value=_fmt(value[i]), expected=describe_expected(fw, item[i])), "value",
            (keys[i],)))
    for mask, bound, text in ((below, lo, _("{value} is below the minimum {bound}")),
                              (above, hi, _("{value} is above the maximum {bound}"))):
        for i in np.flatnonzero(mask):
            issues.append(Issue("error", "range", text.format(
                value=_fmt(value[i]), bound=_fmt(bound[i])) + " (" + _(
                "expected {expected} for {item}").format(
                expected=describe_expected(fw, item[i]), item=item[i]) + ")", "value",
                (keys[i],)))
    good = fine & ~below & ~above
    index = {keys[i]: value[i] for i in np.flatnonzero(good)}
    issues += _part_of(fw, index)
    issues += _parts_sum(fw, index)
    return issues


def _restrict(breakdown: str, keys: tuple[str, ...]) -> str:
    if not breakdown:
        return ""
    pairs = parse_breakdown(breakdown)
    return format_breakdown({k: val for k, val in pairs.items() if k in keys})


def _part_of(fw: Framework, good: dict[tuple[str, int, str], float]) -> list[Issue]:
    """Parts above their whole, matched on year and on the breakdown keys the whole has."""
    meta = _meta(fw)
    issues = []
    for (item, y, bd), value in good.items():
        whole = meta.part_of.get(item)
        if whole is None:
            continue
        whole_key = (whole, y, _restrict(bd, meta.keys.get(whole, ())))
        total = good.get(whole_key)
        if total is not None and value > total:
            issues.append(Issue("error", "part_of", _(
                "{part} = {value} is above its whole {whole} = {total} (a part never exceeds "
                "its whole)").format(part=item_key(item, y, bd), value=_fmt(value),
                                     whole=item_key(*whole_key), total=_fmt(total)),
                "value", ((item, y, bd), whole_key)))
    return issues


def _parts_sum(fw: Framework, good: dict[tuple[str, int, str], float]) -> list[Issue]:
    """Single-key breakdowns of additive items adding up to more than their total."""
    meta = _meta(fw)
    sums: dict[tuple[str, int, str], float] = {}
    part_keys: dict[tuple[str, int, str], list[tuple[str, int, str]]] = {}
    for (item, y, bd), value in good.items():
        if bd and ";" not in bd and meta.types.get(item) in ADDITIVE:
            group = (item, y, bd.split("=", 1)[0])
            sums[group] = sums.get(group, 0.0) + value
            part_keys.setdefault(group, []).append((item, y, bd))
    issues = []
    for (item, y, key), parts in sums.items():
        total = good.get((item, y, ""))
        if total is not None and parts > total * (1 + 1e-9) + 1e-9:
            issues.append(Issue("error", "parts_sum", _(
                "the {key} breakdown of {item}[{year}] adds up to {parts}, above the total "
                "{total}").format(key=key, item=item, year=y, parts=_fmt(parts),
                                  total=_fmt(total)), "value",
                # every part is named, so a change to any of them is refused (see plan_changes)
                ((item, y, ""), *part_keys[(item, y, key)])))
    return issues


def check_required(fw: Framework, year: int, values: pd.DataFrame,
                   kpis: dict[str, tuple[str, str, str]]) -> list[Issue]:
    """Errors that block a submission: values a reported KPI needs, reasons for N/A."""
    issues: list[Issue] = []
    item, yr, bd_col, value, status = _columns(values)
    keys = list(zip(item.tolist(), yr.tolist(), bd_col.tolist(), strict=True))
    is_reported = ~np.isnan(value) & (status == "reported")
    present = {keys[i] for i in np.flatnonzero(is_reported)}
    marked_na = {keys[i] for i in np.flatnonzero(status == "not_available")}
    by_item_year: dict[tuple[str, int], list[str]] = {}
    for item, y, bd in present:
        by_item_year.setdefault((item, y), []).append(bd)
    for kpi in fw.kpis:
        status, _disclosure, note = kpis.get(kpi.code, ("reported", kpi.disclosure, ""))
        if status == "not_applicable" and not note.strip():
            issues.append(Issue("error", "reason", _(
                "{kpi} is marked not applicable without a reason: say why in the note")
                .format(kpi=kpi.code), "note", kpi=kpi.code))
        if status != "reported":
            continue
        for ref in required_refs(fw, kpi):
            y = year + ref.year
            label = "T" if ref.year == 0 else f"T{ref.year}"
            if ref.wildcard_keys:
                fixed = {k: val for k, val in ref.breakdown if val != "*"}
                found = [bd for bd in by_item_year.get((ref.item, y), [])
                         if set(ref.wildcard_keys) <= set(parse_breakdown(bd))
                         and all(parse_breakdown(bd).get(k) == val for k, val in fixed.items())]
                if not found:
                    shown = format_breakdown(dict(ref.breakdown))
                    issues.append(Issue("error", "missing_prior_year" if ref.year < 0
                                        else "missing", _(
                        "{kpi} needs {item} ({label}) for at least one {keys}, and none is "
                        "reported: report them, or mark the KPI not available or not applicable")
                        .format(kpi=kpi.code, item=item_key(ref.item, y, shown), label=label,
                                keys=", ".join(ref.wildcard_keys)), "value",
                        ((ref.item, y, shown),), kpi.code))
                continue
            bd = format_breakdown(dict(ref.breakdown))
            key = (ref.item, y, bd)
            if key in present:
                continue
            if key in marked_na:
                message = _("{kpi} is reported but needs {item} ({label}), which is marked not "
                            "available: report the value, or mark the KPI not available")
            elif ref.year < 0:
                message = _("{kpi} needs {item} for T-1 ({label} = {year}), which is missing: "
                            "report it, or mark the KPI not available or not applicable")
            else:
                message = _("{kpi} needs {item} ({label}), which is missing: report it, or mark "
                            "the KPI not available or not applicable")
            issues.append(Issue("error", "missing_prior_year" if ref.year < 0 else "missing",
                                message.format(kpi=kpi.code, item=item_key(*key), label=label,
                                               year=y), "value", (key,), kpi.code))
    return issues


_stats_cache: dict[int, tuple[object, dict]] = {}


def peer_stats(fw: Framework, year: int, peers: pd.DataFrame) -> dict[tuple[str, str], tuple]:
    """Per (data item, breakdown) in year T: (median, MAD, n) of the members' values, on a log
    scale for counts and amounts. Cached per peers frame, which is reused across members."""
    import weakref

    cached = _stats_cache.get(id(peers))
    if cached is not None and cached[0]() is peers:
        return cached[1]  # type: ignore[return-value]
    meta = _meta(fw)
    p = peers[(peers["year"] == year) & peers["value"].notna()
              & peers["data_item"].isin(list(meta.types))]
    kind = p["data_item"].map(meta.types)
    p = p[kind != "yes_no"]
    kind = kind[kind != "yes_no"]
    x = np.where(kind.isin(SCALE_TYPES), np.log10(1.0 + p["value"].clip(lower=0)), p["value"])
    frame = pd.DataFrame({"data_item": p["data_item"].to_numpy(),
                          "breakdown": p["breakdown"].to_numpy(), "x": x})
    grouped = frame.groupby(["data_item", "breakdown"])["x"]
    median = grouped.transform("median")
    stats = pd.DataFrame({"median": grouped.median(), "n": grouped.size(),
                          "mad": (frame["x"] - median).abs().groupby(
                              [frame["data_item"], frame["breakdown"]]).median()})
    out = {key: (r.median, r.mad, int(r.n)) for key, r in zip(stats.index,
                                                               stats.itertuples(), strict=True)}
    if len(_stats_cache) > 16:
        _stats_cache.clear()
    _stats_cache[id(peers)] = (weakref.ref(peers), out)
    return out


def check_plausibility(fw: Framework, year: int, values: pd.DataFrame,
                       peers: pd.DataFrame | None = None,
                       thresholds: Thresholds | None = None) -> list[Issue]:
    """Warnings: big changes from T-1 to T, and outliers among the cycle's submissions.

    `peers` holds the cycle's values (`member, data_item, year, breakdown, value`); the robust
    z-score (Iglewicz and Hoaglin) of each value of T is taken against their median and MAD.
    """
    thresholds = thresholds or DEFAULT_THRESHOLDS
    meta = _meta(fw)
    issues: list[Issue] = []
    item, yr, bd, value, status = _columns(values)
    use = ~np.isnan(value) & (status == "reported")
    now = {(item[i], bd[i]): value[i] for i in np.flatnonzero(use & (yr == year))
           if item[i] in meta.types}
    before = {(item[i], bd[i]): value[i] for i in np.flatnonzero(use & (yr == year - 1))}
    for (code, b), v in now.items():
        prev = before.get((code, b))
        kind = meta.types[code]
        if prev is None or kind == "yes_no":
            continue
        delta = abs(v - prev)
        if kind == "percentage":
            if delta <= thresholds.points_change:
                continue
            change = _("{d} points").format(d=_fmt(round(v - prev, 2)))
        else:
            if prev <= 0 or delta < thresholds.min_change or \
                    delta / prev <= thresholds.relative_change:
                continue
            change = f"{(v / prev - 1) * 100:+.0f}%"
        issues.append(Issue("warning", "year_on_year", _(
            "{value} in {year} against {prev} in {prev_year} ({change}): explain the change")
            .format(value=_fmt(v), year=year, prev=_fmt(prev), prev_year=year - 1,
                    change=change), "value", ((code, year, b),)))

    if peers is not None and not peers.empty and now:
        stats = peer_stats(fw, year, peers)
        for (code, b), v in now.items():
            found = stats.get((code, b))
            kind = meta.types[code]
            if found is None or kind == "yes_no":
                continue
            median, mad, n = found
            if n < thresholds.min_peers or mad <= 0:
                continue
            x = np.log10(1.0 + max(v, 0.0)) if kind in SCALE_TYPES else v
            z = 0.6745 * (x - median) / mad
            if abs(z) <= thresholds.robust_z:
                continue
            typical = 10 ** median - 1 if kind in SCALE_TYPES else median
            issues.append(Issue("warning", "outlier", _(
                "{value} is far from the other members' values (median {median} among {n}, "
                "robust z-score {z:+.1f}): check it or explain it").format(
                value=_fmt(v), median=_fmt(round(typical, 2)), n=n, z=z),
                "value", ((code, year, b),)))
    return issues


def kpi_state(fw: Framework, year: int, values: pd.DataFrame,
              kpis: dict[str, tuple[str, str, str]]) -> dict[str, str]:
    """Per KPI: complete, incomplete, not_applicable or not_available."""
    missing = {i.kpi for i in check_required(fw, year, values, kpis)
               if i.rule in ("missing", "missing_prior_year") and i.kpi}
    out = {}
    for kpi in fw.kpis:
        status = kpis.get(kpi.code, ("reported", "", ""))[0]
        out[kpi.code] = status if status != "reported" else (
            "incomplete" if kpi.code in missing else "complete")
    return out


def completeness(fw: Framework, year: int, values: pd.DataFrame,
                 kpis: dict[str, tuple[str, str, str]]) -> pd.DataFrame:
    """Per dimension and per outcome: KPIs complete, N/A, not available, incomplete, and the
    share answered (complete, or marked not applicable or not available)."""
    states = kpi_state(fw, year, values, kpis)
    outcome_dim = {o.code: o.dimension for o in fw.outcomes}
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for kpi in fw.kpis:
        for level, code in (("dimension", outcome_dim.get(kpi.outcome, "")),
                            ("outcome", kpi.outcome)):
            row = counts.setdefault((level, code), dict.fromkeys(
                ("complete", "not_applicable", "not_available", "incomplete"), 0))
            row[states[kpi.code]] += 1
    rows = []
    for (level, code), c in sorted(counts.items(), key=lambda kv: kv[0][0] != "dimension"):
        total = sum(c.values())
        rows.append({"level": level, "code": code, "kpis": total, **c,
                     "share": (total - c["incomplete"]) / total})
    return pd.DataFrame(rows, columns=["level", "code", "kpis", "complete", "not_applicable",
                                       "not_available", "incomplete", "share"])
