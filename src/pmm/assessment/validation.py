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

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from pmm.assessment.common import (
    ITEM_STATUSES,
    format_breakdown,
    item_key,
    parse_breakdown,
)
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
    values: dict[str, tuple[str, ...]]  # breakdown key → allowed values


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
        bounds={d.code: d.bounds() for d in fw.data_items},
        part_of={d.code: d.part_of for d in fw.data_items if d.part_of},
        keys={d.code: tuple(d.breakdowns) for d in fw.data_items},
        values={b.key: tuple(b.values) for b in fw.breakdowns})
    _metas[id(fw)] = (fw, meta)
    return meta


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
        if value not in meta.values.get(key, ()):
            return _("breakdown {value!r}: {key}={v} is not a value of {key} (expected one of "
                     "{values})").format(value=text, key=key, v=value,
                                         values=", ".join(meta.values.get(key, ())))
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


def check_values(fw: Framework, year: int, values: pd.DataFrame) -> list[Issue]:
    """Errors in the values themselves (refused on every write)."""
    meta = _meta(fw)
    issues: list[Issue] = []
    if values.empty:
        return issues
    v = values.reset_index(drop=True)
    keys = list(zip(v["data_item"], v["year"].astype(int), v["breakdown"], strict=True))

    known = v["data_item"].isin(list(meta.types))
    for i in np.flatnonzero(~known.to_numpy()):
        issues.append(Issue("error", "unknown_item", _(
            "{value!r} is not a data item of framework {fw}").format(
            value=v.at[i, "data_item"], fw=fw.id), "data_item", (keys[i],)))
    years = [year + off for off in year_offsets(fw)]
    bad_year = known & ~v["year"].isin(years)
    for i in np.flatnonzero(bad_year.to_numpy()):
        issues.append(Issue("error", "year", _("year {value}: expected {years}").format(
            value=v.at[i, "year"], years=_(" or ").join(map(str, years))), "year", (keys[i],)))
    ok = known & ~bad_year
    pairs = v.loc[ok, ["data_item", "breakdown"]].drop_duplicates()
    bad_pairs = {(it, bd): why for it, bd in pairs.itertuples(index=False)
                 if (why := check_breakdown(fw, it, bd))}
    if bad_pairs:
        bad_bd = pd.Series([(it, bd) in bad_pairs for it, bd in
                            zip(v["data_item"], v["breakdown"], strict=True)], index=v.index)
        for i in np.flatnonzero((ok & bad_bd).to_numpy()):
            issues.append(Issue("error", "breakdown",
                                bad_pairs[(v.at[i, "data_item"], v.at[i, "breakdown"])],
                                "breakdown", (keys[i],)))
        ok &= ~bad_bd
    bad_status = ok & ~v["status"].isin(ITEM_STATUSES)
    for i in np.flatnonzero(bad_status.to_numpy()):
        issues.append(Issue("error", "status", _("status {value!r}: expected {allowed}").format(
            value=v.at[i, "status"], allowed=_(" or ").join(ITEM_STATUSES)), "status",
            (keys[i],)))
    ok &= ~bad_status
    value = v["value"].astype("float64")
    has = ok & value.notna()
    na_with_value = has & (v["status"] == "not_available")
    for i in np.flatnonzero(na_with_value.to_numpy()):
        issues.append(Issue("error", "status", _(
            "marked not_available but has the value {value}: leave the value empty or mark it "
            "reported").format(value=_fmt(value[i])), "value", (keys[i],)))

    kind = v["data_item"].map(meta.types)
    lo = v["data_item"].map(lambda c: meta.bounds.get(c, (None, None))[0]).astype("float64")
    hi = v["data_item"].map(lambda c: meta.bounds.get(c, (None, None))[1]).astype("float64")
    not_finite = has & ~np.isfinite(value)
    whole = np.isclose(value, np.round(value), rtol=0, atol=1e-9)
    wrong_type = has & ~not_finite & (
        ((kind == "count") & ~whole) | ((kind == "yes_no") & ~value.isin([0.0, 1.0])))
    below = has & ~not_finite & ~wrong_type & lo.notna() & (value < lo)
    above = has & ~not_finite & ~wrong_type & hi.notna() & (value > hi)
    for mask, rule, text in ((not_finite, "type", _("{value} is not a finite number")),
                             (wrong_type, "type", _("{value} is not {expected}")),
                             (below, "range", _("{value} is below the minimum {bound}")),
                             (above, "range", _("{value} is above the maximum {bound}"))):
        for i in np.flatnonzero(mask.to_numpy()):
            item = v.at[i, "data_item"]
            bound = lo[i] if rule == "range" and below[i] else hi[i]
            message = text.format(value=_fmt(value[i]), bound=_fmt(bound) if rule == "range"
                                  else "", expected=describe_expected(fw, item))
            if rule == "range":
                message += " (" + _("expected {expected} for {item}").format(
                    expected=describe_expected(fw, item), item=item) + ")"
            issues.append(Issue("error", rule, message, "value", (keys[i],)))

    good = v[has & ~not_finite & ~wrong_type & ~below & ~above]
    issues += _part_of(fw, good)
    issues += _parts_sum(fw, good)
    return issues


def _restrict(breakdown: str, keys: tuple[str, ...]) -> str:
    if not breakdown:
        return ""
    pairs = parse_breakdown(breakdown)
    return format_breakdown({k: val for k, val in pairs.items() if k in keys})


def _part_of(fw: Framework, good: pd.DataFrame) -> list[Issue]:
    meta = _meta(fw)
    parts = good[good["data_item"].isin(list(meta.part_of))].copy()
    if parts.empty:
        return []
    parts["whole"] = parts["data_item"].map(meta.part_of)
    parts["whole_breakdown"] = [_restrict(bd, meta.keys.get(w, ())) for bd, w in
                                zip(parts["breakdown"], parts["whole"], strict=True)]
    wholes = good[["data_item", "year", "breakdown", "value"]].rename(columns={
        "data_item": "whole", "breakdown": "whole_breakdown", "value": "whole_value"})
    joined = parts.merge(wholes, on=["whole", "year", "whole_breakdown"], how="inner")
    over = joined[joined["value"] > joined["whole_value"]]
    return [Issue("error", "part_of", _(
        "{part} = {value} is above its whole {whole} = {total} (a part never exceeds its whole)")
        .format(part=item_key(r.data_item, r.year, r.breakdown), value=_fmt(r.value),
                whole=item_key(r.whole, r.year, r.whole_breakdown), total=_fmt(r.whole_value)),
        "value", ((r.data_item, int(r.year), r.breakdown),
                  (r.whole, int(r.year), r.whole_breakdown)))
        for r in over.itertuples(index=False)]


def _parts_sum(fw: Framework, good: pd.DataFrame) -> list[Issue]:
    meta = _meta(fw)
    additive = good[good["data_item"].map(meta.types).isin(ADDITIVE)
                    & good["breakdown"].str.fullmatch(r"[^;=]+=[^;]+")]
    if additive.empty:
        return []
    additive = additive.assign(key=additive["breakdown"].str.split("=").str[0])
    sums = additive.groupby(["data_item", "year", "key"], as_index=False).agg(
        total_parts=("value", "sum"), n=("value", "size"),
        first=("breakdown", "first"))
    totals = good[good["breakdown"] == ""][["data_item", "year", "value"]]
    joined = sums.merge(totals, on=["data_item", "year"], how="inner")
    over = joined[joined["total_parts"] > joined["value"] * (1 + 1e-9) + 1e-9]
    return [Issue("error", "parts_sum", _(
        "the {key} breakdown of {item}[{year}] adds up to {parts}, above the total {total}")
        .format(key=r.key, item=r.data_item, year=r.year, parts=_fmt(r.total_parts),
                total=_fmt(r.value)), "value",
        ((r.data_item, int(r.year), ""), (r.data_item, int(r.year), r.first)))
        for r in over.itertuples(index=False)]


def check_required(fw: Framework, year: int, values: pd.DataFrame,
                   kpis: dict[str, tuple[str, str, str]]) -> list[Issue]:
    """Errors that block a submission: values a reported KPI needs, reasons for N/A."""
    issues: list[Issue] = []
    reported = values[values["value"].notna() & (values["status"] == "reported")]
    present = set(zip(reported["data_item"], reported["year"].astype(int),
                      reported["breakdown"], strict=True))
    marked_na = set(zip(values.loc[values["status"] == "not_available", "data_item"],
                        values.loc[values["status"] == "not_available", "year"].astype(int),
                        values.loc[values["status"] == "not_available", "breakdown"],
                        strict=True))
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


def _scaled(kind: pd.Series, value: pd.Series) -> pd.Series:
    return pd.Series(np.where(kind.isin(SCALE_TYPES), np.log10(1.0 + value.clip(lower=0)),
                              value), index=value.index)


def check_plausibility(fw: Framework, year: int, values: pd.DataFrame,
                       peers: pd.DataFrame | None = None,
                       thresholds: Thresholds | None = None) -> list[Issue]:
    """Warnings: big changes from T-1 to T, and outliers among the cycle's other submissions.

    `peers` holds the other submissions' values (`member, data_item, year, breakdown, value`).
    """
    thresholds = thresholds or DEFAULT_THRESHOLDS
    meta = _meta(fw)
    issues: list[Issue] = []
    v = values[values["value"].notna() & (values["status"] == "reported")
               & values["data_item"].isin(list(meta.types))]
    v = v.assign(kind=v["data_item"].map(meta.types))
    now = v[v["year"] == year]
    before = v[v["year"] == year - 1][["data_item", "breakdown", "value"]]
    pair = now.merge(before, on=["data_item", "breakdown"], suffixes=("", "_prev"))
    pair = pair[pair["kind"] != "yes_no"]
    delta = (pair["value"] - pair["value_prev"]).abs()
    pct = pair["kind"] == "percentage"
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = delta / pair["value_prev"].abs()
    flagged = np.where(pct, delta > thresholds.points_change,
                       (delta >= thresholds.min_change) & (pair["value_prev"] > 0)
                       & (rel > thresholds.relative_change))
    for r in pair[flagged].itertuples(index=False):
        change = (_("{d} points").format(d=_fmt(round(r.value - r.value_prev, 2)))
                  if r.kind == "percentage" else
                  f"{(r.value / r.value_prev - 1) * 100:+.0f}%")
        issues.append(Issue("warning", "year_on_year", _(
            "{value} in {year} against {prev} in {prev_year} ({change}): explain the change")
            .format(value=_fmt(r.value), year=year, prev=_fmt(r.value_prev),
                    prev_year=year - 1, change=change), "value",
            ((r.data_item, year, r.breakdown),)))

    if peers is not None and not peers.empty and not now.empty:
        p = peers[(peers["year"] == year) & peers["value"].notna()
                  & peers["data_item"].isin(list(meta.types))]
        p = p.assign(kind=p["data_item"].map(meta.types))
        p = p[p["kind"] != "yes_no"]
        p = p.assign(x=_scaled(p["kind"], p["value"]))
        stats = p.groupby(["data_item", "breakdown"])["x"].agg(
            median="median", n="size").reset_index()
        p = p.merge(stats[["data_item", "breakdown", "median"]], on=["data_item", "breakdown"])
        mad = (p["x"] - p["median"]).abs().groupby([p["data_item"], p["breakdown"]]).median()
        stats = stats.merge(mad.rename("mad").reset_index(), on=["data_item", "breakdown"])
        own = now[now["kind"] != "yes_no"]
        own = own.assign(x=_scaled(own["kind"], own["value"]))
        own = own.merge(stats, on=["data_item", "breakdown"])
        own = own[(own["n"] >= thresholds.min_peers) & (own["mad"] > 0)]
        z = 0.6745 * (own["x"] - own["median"]) / own["mad"]
        for r, score in zip(own[z.abs() > thresholds.robust_z].itertuples(index=False),
                            z[z.abs() > thresholds.robust_z], strict=True):
            typical = 10 ** r.median - 1 if r.kind in SCALE_TYPES else r.median
            issues.append(Issue("warning", "outlier", _(
                "{value} is far from the other members' values (median {median} among {n}, "
                "robust z-score {z:+.1f}): check it or explain it").format(
                value=_fmt(r.value), median=_fmt(round(typical, 2)), n=int(r.n), z=score),
                "value", ((r.data_item, year, r.breakdown),)))
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
    """Per outcome and per dimension: KPIs complete, N/A, not available, incomplete; share done.

    A KPI counts as answered when it is complete or marked not applicable or not available.
    """
    states = kpi_state(fw, year, values, kpis)
    frame = pd.DataFrame({
        "kpi": [k.code for k in fw.kpis],
        "outcome": [k.outcome for k in fw.kpis],
        "dimension": [fw.outcome(k.outcome).dimension for k in fw.kpis],
        "state": [states[k.code] for k in fw.kpis]})
    rows = []
    for level in ("dimension", "outcome"):
        counts = pd.crosstab(frame[level], frame["state"])
        for state in ("complete", "incomplete", "not_applicable", "not_available"):
            if state not in counts:
                counts[state] = 0
        order = list(dict.fromkeys(frame[level]))
        counts = counts.loc[order]
        total = counts.sum(axis=1)
        share = (total - counts["incomplete"]) / total
        rows.append(pd.DataFrame({"level": level, "code": order, "kpis": total.to_numpy(),
                                  "complete": counts["complete"].to_numpy(),
                                  "not_applicable": counts["not_applicable"].to_numpy(),
                                  "not_available": counts["not_available"].to_numpy(),
                                  "incomplete": counts["incomplete"].to_numpy(),
                                  "share": share.to_numpy()}))
    return pd.concat(rows, ignore_index=True)
