"""Benchmarks: per KPI and per score, per peer group, what a who may receive.

For each cycle and measure, the statistics of every group of every standard grouping are decided
together by `sdc.release` (so that no two groupings can be differenced), then the requested
grouping is returned with the global figures beside it: the plain one (all members) and the
"balanced" one, the mean of the regional means that are released (each region counts once,
whatever its number of members), saying how many regions it covers.

User-defined groups may be chosen to isolate one member, so their statistics use only the values
the who may see (`basis` = `visible`); standard groups use every validated value (`basis` =
`all validated`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from pmm.access import Principal, visible
from pmm.analysis.domains import SCORE, kpi_domain
from pmm.analysis.groups import GROUPINGS, STANDARD, custom_memberships
from pmm.analysis.observations import BENCHMARK_LEVELS, usable
from pmm.analysis.sdc import Domain, Rules, release
from pmm.errors import PmmError
from pmm.framework.model import Framework
from pmm.i18n import _

COLUMNS = ["cycle", "level", "kpi", "variant", "breakdown", "grouping", "group", "n", "mean",
           "median", "q1", "q3", "position", "suppressed", "reason", "basis"]
KEY = ["cycle", "level", "code", "variant", "breakdown"]


def measure_domain(fw: Framework | None, level: str, code: str, variant: str = "") -> Domain:
    """Bounds of a measure: a KPI's from its formula, a score's 0–100."""
    if level == "kpi":
        if fw is None:
            return Domain()
        try:
            return kpi_domain(fw.kpi(code), fw, variant)
        except KeyError:
            return Domain()
    return SCORE


def measure_direction(fw: Framework | None, level: str, code: str) -> int:
    """1 when a higher value is better (always for scores), -1 otherwise."""
    if level == "kpi" and fw is not None:
        try:
            return 1 if fw.kpi(code).direction == "higher" else -1
        except KeyError:
            return 1
    return 1


def benchmark(obs: pd.DataFrame, who: Principal, groups: pd.DataFrame, *,
              fw: Framework | None = None, by: Iterable[str] | None = None,
              levels: Iterable[str] = BENCHMARK_LEVELS, rules: Rules | None = None,
              custom: Mapping[str, list[str]] | None = None,
              domain: Callable[[str, str, str], Domain] | None = None) -> pd.DataFrame:
    """Group statistics of every measure in `obs` that `who` may receive.

    `obs`: observations (see `pmm.analysis.observations`), one or more cycles; `groups`:
    memberships (grouping, group, member; with `cycle` when it differs by cycle, as size bands
    do); `by`: the groupings to return (default all standard ones); the global figures are always
    returned. `custom`: user-defined groups, returned as grouping `custom` (visible basis).
    """
    rules = rules or Rules()
    wanted = list(by) if by is not None else list(STANDARD)
    for b in wanted:
        if b not in (*STANDARD, "custom"):
            raise PmmError(_("--by {value!r}: expected one of {expected}").format(
                value=b, expected=", ".join((*STANDARD, "custom"))))
    if "custom" in wanted and not custom:
        raise PmmError(_("--by custom needs user-defined groups (--groups FILE)"))
    domain = domain or (lambda level, code, variant: measure_domain(fw, level, code, variant))
    in_levels = obs["level"].isin(list(levels))
    data = obs[in_levels & usable(obs)]
    own_values: dict[tuple, float] = {}
    if who.member is not None:
        # the member's own value, validated or not (the policy shows a member its own data)
        mine = obs[in_levels & (obs["member"] == who.member) & (obs["status"] == "ok")]
        mine = mine[visible(who, mine) & np.isfinite(mine["value"].astype(float))]
        own_values = dict(zip(mine[KEY].itertuples(index=False, name=None),
                              mine["value"].astype(float), strict=True))
    out = []
    for key, rows in data.groupby(KEY, sort=True):
        cycle, level, code, variant, breakdown = key
        rows = rows.reset_index(drop=True)
        cycle_groups = groups[groups["cycle"] == cycle] if "cycle" in groups.columns else groups
        frame = _release_measure(rows, who, cycle_groups, domain(level, code, variant), rules,
                                 measure_direction(fw, level, code), own_values.get(key))
        frame = frame[frame["grouping"].isin(["global", *wanted])]
        if custom:
            frame = pd.concat([frame, _custom(rows, who, custom, rules,
                                              measure_direction(fw, level, code))])
            if "custom" not in wanted:
                frame = frame[frame["grouping"] != "custom"]
        frame.insert(0, "breakdown", breakdown)
        frame.insert(0, "variant", variant)
        frame.insert(0, "kpi", code)
        frame.insert(0, "level", level)
        frame.insert(0, "cycle", int(cycle))
        out.append(frame)
    if not out:
        return pd.DataFrame(columns=COLUMNS)
    result = pd.concat(out, ignore_index=True)[COLUMNS]
    return result.astype({"n": int, "suppressed": bool})


def _release_measure(rows: pd.DataFrame, who: Principal, groups: pd.DataFrame, domain: Domain,
                     rules: Rules, direction: int, own_value: float | None = None
                     ) -> pd.DataFrame:
    """Release one measure of one cycle to `who` for every standard group at once."""
    members = rows["member"].astype(str).to_numpy()
    table = groups[groups["grouping"].isin(GROUPINGS)].drop_duplicates(["grouping", "group",
                                                                          "member"])
    labels = table[["grouping", "group"]].drop_duplicates().reset_index(drop=True)
    labels["order"] = labels["grouping"].map({g: i for i, g in enumerate(GROUPINGS)})
    labels = labels.sort_values("order", kind="stable").reset_index(drop=True)
    incidence = _incidence(labels, table, members)
    own, own_groups = None, None
    if who.member is not None and who.member in set(members):
        own = int(np.flatnonzero(members == who.member)[0])
    elif who.member is not None and own_value is not None:
        mine = set(table.loc[table["member"] == who.member, "grouping"] + "\0"
                   + table.loc[table["member"] == who.member, "group"])
        own_groups = (labels["grouping"] + "\0" + labels["group"]).isin(mine).to_numpy()
    # the audit withholds small groups first, and the global group last
    priority = incidence.sum(axis=1) + np.where(labels["grouping"] == "global", 1e9, 0)
    rel = release(rows["value"].to_numpy(float), visible(who, rows), incidence, domain, rules,
                  own=own, direction=direction, priority=priority,
                  own_value=own_value if own_groups is not None else None,
                  own_groups=own_groups)
    frame = pd.DataFrame({
        "grouping": labels["grouping"], "group": labels["group"], "n": rel.n,
        "mean": rel.mean, "median": rel.median, "q1": rel.q1, "q3": rel.q3,
        "position": rel.position, "suppressed": rel.suppressed, "reason": rel.reasons(rules),
        "basis": "all validated"})
    return pd.concat([frame, _balanced(frame)], ignore_index=True)


def _incidence(labels: pd.DataFrame, table: pd.DataFrame, members: np.ndarray) -> np.ndarray:
    index = pd.MultiIndex.from_frame(labels[["grouping", "group"]])
    rows = index.get_indexer(pd.MultiIndex.from_frame(table[["grouping", "group"]]))
    cols = pd.Index(members).get_indexer(table["member"])
    keep = cols >= 0
    inc = np.zeros((len(labels), len(members)), dtype=bool)
    inc[rows[keep], cols[keep]] = True
    return inc


def _balanced(frame: pd.DataFrame) -> pd.DataFrame:
    """The balanced global mean: mean of the released regional means (post-processing only)."""
    regions = frame[(frame["grouping"] == "region") & (frame["n"] > 0)]
    shown = regions[np.isfinite(regions["mean"].astype(float))]
    withheld = sorted(set(regions["group"]) - set(shown["group"]))
    covered = len(shown)
    if covered:
        value = float(shown["mean"].mean())
        reason = _("mean of {k} of {r} regional means; each region counts once").format(
            k=covered, r=len(regions))
        if withheld:
            reason += "; " + _("withheld regions left out: {regions}").format(
                regions=", ".join(withheld))
    else:
        value = np.nan
        reason = _("no regional mean is released")
    return pd.DataFrame([{
        "grouping": "global", "group": "balanced", "n": int(shown["n"].sum()),
        "mean": value, "median": np.nan, "q1": np.nan, "q3": np.nan, "position": np.nan,
        "suppressed": covered == 0, "reason": reason, "basis": "regional means"}])


def _custom(rows: pd.DataFrame, who: Principal, custom: Mapping[str, list[str]], rules: Rules,
            direction: int) -> pd.DataFrame:
    """User-defined groups over the values the who may see only (they could isolate one)."""
    mine = rows[visible(who, rows)].reset_index(drop=True)
    table = custom_memberships(custom)
    labels = table[["grouping", "group"]].drop_duplicates().reset_index(drop=True)
    members = mine["member"].astype(str).to_numpy()
    incidence = _incidence(labels, table, members)
    own = None
    if who.member is not None and who.member in set(members):
        own = int(np.flatnonzero(members == who.member)[0])
    rel = release(mine["value"].to_numpy(float), np.ones(len(mine), bool), incidence, Domain(),
                  rules, own=own, direction=direction)
    note = _("user-defined group: computed from the values you may see only")
    return pd.DataFrame({
        "grouping": labels["grouping"], "group": labels["group"], "n": rel.n,
        "mean": rel.mean, "median": rel.median, "q1": rel.q1, "q3": rel.q3,
        "position": rel.position, "suppressed": rel.suppressed,
        "reason": [f"{note}; {r}" if r else note for r in rel.reasons(rules)],
        "basis": "visible"})
