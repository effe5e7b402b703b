"""Releases: frozen, numbered publications of a cycle, audited for every audience.

What anyone but the Secretariat learns about other members comes from a release. `create`
freezes the values as validated (a Parquet snapshot of the observations and peer groups), the
framework, the disclosure-control parameters in force (the Secretariat's configuration,
`set_rules`) and every group statistic released to each audience: `public` (everyone) and `wco`
(NCPs and peer reviewers). The statistics are decided by `audit.decide`, one measure at a time
over every grouping, both audiences and every earlier release of the cycle together. KPI values
and outcome scores are audited; dimension and SDG figures are computed from the released outcome
means of the same group (post-processing, so they reveal nothing more), and the balanced global
mean from the released regional means. Releases are never deleted: `withdraw` marks one, and
readers then get the latest release that is not withdrawn.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Hashable, Iterable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, object_session

from pmm.access import RANK, Principal, require
from pmm.analysis.audit import AUDIENCES, decide
from pmm.analysis.benchmark import measure_domain
from pmm.analysis.groups import GROUPINGS
from pmm.analysis.load import load_cycle
from pmm.analysis.memo import Memo, database_of
from pmm.analysis.observations import usable
from pmm.analysis.sdc import QUANTILES, Rules
from pmm.analysis.sdg import sdg_mapping
from pmm.assessment.cycles import get_cycle
from pmm.errors import NotFound, PmmError
from pmm.framework.model import Framework
from pmm.i18n import _
from pmm.store.audit import entry, record, utcnow
from pmm.store.models import Release, ReleaseConfig, ReleaseStatistic

AUDITED = ("kpi", "outcome")
DERIVED = ("dimension", "sdg_target", "sdg_goal")
KEY = ["level", "code", "variant", "breakdown"]
STAT_COLUMNS = ["audience", "level", "code", "variant", "breakdown", "grouping", "group", "n",
                "mean", "median", "q1", "q3", "reason", "withheld", "basis"]
# A release never changes once made (withdrawal only marks it), so what is read from it is kept
# per release; `latest` is asked of the database on every read, so a withdrawal is seen at once.
_SNAPSHOTS: Memo[tuple[pd.DataFrame, pd.DataFrame]] = Memo(16)
_STATISTICS: Memo[pd.DataFrame] = Memo(16)


# ---------------------------------------------------------------- configuration


def current_rules(session: Session) -> Rules:
    """The disclosure-control parameters in force (the defaults until the Secretariat sets them)."""
    row = session.scalar(select(ReleaseConfig).order_by(ReleaseConfig.id.desc()).limit(1))
    if row is None:
        return Rules()
    return Rules(min_n=int(row.min_n), dominance_p=float(row.dominance_p),
                 protection_p=float(row.protection_p))


def set_rules(session: Session, who: Principal, *, min_n: int | None = None,
              dominance: float | None = None, protection: float | None = None) -> Rules:
    """Change the parameters used by the next releases (recorded in the audit trail)."""
    require(who, "manage_releases")
    old = current_rules(session)
    new = Rules(min_n=old.min_n if min_n is None else min_n,
                dominance_p=old.dominance_p if dominance is None else dominance,
                protection_p=old.protection_p if protection is None else protection)
    now = utcnow()
    session.add(ReleaseConfig(min_n=new.min_n, dominance_p=float(new.dominance_p),
                              protection_p=float(new.protection_p), set_at=now,
                              set_by=who.username))
    record(session, [entry(who.username, "release.config", "release_config", field=f,
                           old=getattr(old, f), new=getattr(new, f), at=now)
                     for f in ("min_n", "dominance_p", "protection_p")
                     if getattr(old, f) != getattr(new, f)])
    return new


# ---------------------------------------------------------------- the audit, on tables


def audit_cycle(obs: pd.DataFrame, groups: pd.DataFrame, fw: Framework | None, rules: Rules,
                priors: Sequence[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]] = ()
                ) -> pd.DataFrame:
    """Every statistic of one cycle for each audience (columns `STAT_COLUMNS`).

    `obs`: observations of the cycle (validated rows count); `groups`: memberships; `priors`:
    (observations, memberships, statistics) of every earlier release of the cycle.
    """
    data = obs[usable(obs) & obs["level"].isin(AUDITED)]
    table = _table(groups)
    labels = _labels(table)
    prior_data = [(p[usable(p) & p["level"].isin(AUDITED)], _table(g), s) for p, g, s in priors]
    frames = []
    for key, rows in data.groupby(KEY, sort=True):
        frames.append(_audit_measure(key, rows.reset_index(drop=True), table, labels, fw, rules,
                                     prior_data))
    stats = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=STAT_COLUMNS)
    if fw is not None and len(stats):
        stats = pd.concat([stats, _derived(stats, fw)], ignore_index=True)
    if len(stats):
        stats = pd.concat([stats, _balanced(stats)], ignore_index=True)
    return stats[STAT_COLUMNS]


def _table(groups: pd.DataFrame) -> pd.DataFrame:
    return groups[groups["grouping"].isin(GROUPINGS)].drop_duplicates(
        ["grouping", "group", "member"])[["grouping", "group", "member"]]


def _labels(table: pd.DataFrame) -> pd.DataFrame:
    labels = table[["grouping", "group"]].drop_duplicates().reset_index(drop=True)
    labels["order"] = labels["grouping"].map({g: i for i, g in enumerate(GROUPINGS)})
    return labels.sort_values(["order", "group"], kind="stable").reset_index(drop=True)


def _members_of(table: pd.DataFrame) -> dict[tuple[str, str], set[str]]:
    return {k: set(g["member"]) for k, g in table.groupby(["grouping", "group"])}


def _audit_measure(key: tuple, rows: pd.DataFrame, table: pd.DataFrame, labels: pd.DataFrame,
                   fw: Framework | None, rules: Rules, priors: list) -> pd.DataFrame:
    level, code, variant, breakdown = key
    members = rows["member"].astype(str).tolist()
    x = rows["value"].astype(float).tolist()
    rank = rows["disclosure"].map(RANK).astype(int).tolist()
    owner = list(members)
    column = {m: i for i, m in enumerate(members)}
    n_current = len(members)
    prior_rows: dict[str, list[list[int]]] = {a: [] for a in AUDIENCES}
    for p_obs, p_table, p_stats in priors:
        p = p_obs[(p_obs["level"] == level) & (p_obs["code"] == code)
                  & (p_obs["variant"] == variant) & (p_obs["breakdown"] == breakdown)]
        cols: dict[str, int] = {}
        for m, v, d in zip(p["member"], p["value"].astype(float), p["disclosure"], strict=True):
            r = RANK[d]
            c = column.get(m)
            if c is not None and c < n_current and np.isclose(x[c], v, rtol=1e-12, atol=0):
                rank[c] = min(rank[c], r)  # seen more widely before: known to that audience
            else:
                c = next((i for i in range(n_current, len(x)) if owner[i] == m
                          and np.isclose(x[i], v, rtol=1e-12, atol=0)), None)
                if c is None:  # a value that changed since: a separate unknown
                    c = len(x)
                    x.append(float(v))
                    rank.append(r)
                    owner.append(m)
                else:
                    rank[c] = min(rank[c], r)
            cols[m] = c
        if not len(p_stats):
            continue
        s = p_stats[(p_stats["level"] == level) & (p_stats["code"] == code)
                    & (p_stats["variant"] == variant) & (p_stats["breakdown"] == breakdown)
                    & (p_stats["basis"] == "members") & np.isfinite(p_stats["mean"].astype(float))]
        who_in = _members_of(p_table)
        for r in s.itertuples(index=False):
            inside = [cols[m] for m in who_in.get((r.grouping, r.group), ()) if m in cols]
            if inside:
                prior_rows[r.audience].append(inside)
    k = len(x)
    inc = np.zeros((len(labels), k), bool)
    index = pd.MultiIndex.from_frame(labels[["grouping", "group"]])
    at = index.get_indexer(pd.MultiIndex.from_frame(table[["grouping", "group"]]))
    cols = pd.Index(members).get_indexer(table["member"])
    keep = (cols >= 0) & (at >= 0)
    inc[at[keep], cols[keep]] = True
    prior = {}
    for audience, lists in prior_rows.items():
        mat = np.zeros((len(lists), k), bool)
        for i, cs in enumerate(lists):
            mat[i, cs] = True
        prior[audience] = mat
    priority = inc.sum(axis=1) + np.where(labels["grouping"] == "global", 1e9, 0)
    owner_ids = pd.factorize(pd.Series(owner))[0]
    domain = measure_domain(fw, level, code, variant)
    decisions = decide(np.asarray(x), np.asarray(rank), owner_ids, inc, domain, rules,
                       priority=priority, prior=prior)
    frames = []
    for audience, d in decisions.items():
        frames.append(pd.DataFrame({
            "audience": audience, "level": level, "code": code, "variant": variant,
            "breakdown": breakdown, "grouping": labels["grouping"], "group": labels["group"],
            "n": d.n, "mean": d.mean, "median": d.median, "q1": d.q1, "q3": d.q3,
            "reason": d.code, "withheld": [",".join(w) for w in d.withheld_quantiles],
            "basis": "members"}))
    return pd.concat(frames, ignore_index=True)


def _derived(stats: pd.DataFrame, fw: Framework) -> pd.DataFrame:
    """Dimension and SDG figures per group: weighted means of the group's released outcome
    means (an index of means), released only when every outcome mean they need is."""
    outcomes = stats[(stats["level"] == "outcome") & (stats["basis"] == "members")]
    if not len(outcomes):
        return pd.DataFrame(columns=STAT_COLUMNS)
    parts = [("dimension", d.code, o.code, o.weight) for d in fw.dimensions
             for o in fw.outcomes_of_dimension(d.code)]
    parts += [(lv, sdg, o, 1.0) for o, lv, sdg in sdg_mapping(fw).itertuples(index=False)]
    comp = pd.DataFrame(parts, columns=["level", "code", "outcome", "weight"])
    joined = comp.merge(outcomes.drop(columns=["level"]).rename(columns={"code": "outcome"}),
                        on="outcome")
    joined = joined[joined["n"] > 0]
    joined["wm"] = joined["weight"] * joined["mean"]
    g = joined.groupby(["audience", "level", "code", "grouping", "group"], as_index=False).agg(
        n=("n", "max"), wm=("wm", "sum"), w=("weight", "sum"),
        missing=("mean", lambda s: int(s.isna().sum())))
    g["mean"] = np.where(g["missing"] == 0, g["wm"] / g["w"], np.nan)
    g["reason"] = np.where(g["missing"] == 0, "", "derived")
    g["variant"], g["breakdown"], g["withheld"], g["basis"] = "", "", "", "outcome means"
    for name, _q in QUANTILES:
        g[name] = np.nan
    return g[STAT_COLUMNS]


def _balanced(stats: pd.DataFrame) -> pd.DataFrame:
    """The balanced global mean of each measure: the mean of its released regional means."""
    regions = stats[(stats["grouping"] == "region") & (stats["n"] > 0)]
    keys = ["audience", *KEY]
    g = regions.groupby(keys, as_index=False).agg(
        n=("n", "sum"), mean=("mean", "mean"), covered=("mean", "count"),
        regions=("group", "size"))
    g["reason"] = np.where(g["covered"] > 0, "", "no_region")
    g["withheld"] = g["covered"].astype(str) + "/" + g["regions"].astype(str)
    g["grouping"], g["group"], g["basis"] = "global", "balanced", "regional means"
    for name, _q in QUANTILES:
        g[name] = np.nan
    return g[STAT_COLUMNS]


# ---------------------------------------------------------------- releases in the database


def create(session: Session, who: Principal, year: int) -> Release:
    """Audit and freeze the next release of cycle `year`."""
    require(who, "manage_releases")
    cycle = get_cycle(session, year)
    data = load_cycle(session, year)
    validated = data.obs[data.obs["validated"].astype(bool)]
    if not len(validated):
        raise PmmError(_("cycle {year} has no validated submission: there is nothing to "
                         "release").format(year=year))
    rules = current_rules(session)
    earlier = list(session.scalars(select(Release).where(Release.cycle_id == cycle.id)
                                   .order_by(Release.number)))
    priors = [(*snapshot(r), statistics(session, r)) for r in earlier]
    stats = audit_cycle(validated, data.groups, data.fw, rules, priors)
    number = (earlier[-1].number + 1) if earlier else 1
    now = utcnow()
    rel = Release(cycle_id=cycle.id, number=number, framework_id=data.fw.id,
                  framework_digest=hashlib.sha256(cycle.framework_json.encode()).hexdigest(),
                  data_digest=data.digest, min_n=rules.min_n,
                  dominance_p=float(rules.dominance_p), protection_p=float(rules.protection_p),
                  members=int(validated["member"].nunique()),
                  snapshot=_pack(validated, data.groups), created_at=now,
                  created_by=who.username, withdraw_reason="")
    session.add(rel)
    session.flush()
    rows = stats.rename(columns={"group": "grp"}).assign(release_id=rel.id)
    rows = rows.astype(object).where(pd.notna(rows), None)
    session.execute(insert(ReleaseStatistic), rows.to_dict("records"))
    record(session, [entry(who.username, "release.create", "release", key=f"{year}#{number}",
                           new=json.dumps({"members": rel.members, "statistics": len(rows),
                                           "min_n": rules.min_n,
                                           "dominance_p": rules.dominance_p,
                                           "protection_p": rules.protection_p}),
                           cycle=year, at=now)])
    return rel


def withdraw(session: Session, who: Principal, year: int, number: int, reason: str) -> Release:
    """Mark a release withdrawn (it is kept, and still counts in later audits)."""
    require(who, "manage_releases")
    if not reason.strip():
        raise PmmError(_("withdrawing a release needs a reason"))
    rel = get(session, year, number)
    if rel.withdrawn_at is not None:
        raise PmmError(_("release {number} of cycle {year} is already withdrawn").format(
            number=number, year=year))
    rel.withdrawn_at, rel.withdrawn_by, rel.withdraw_reason = utcnow(), who.username, reason
    record(session, [entry(who.username, "release.withdraw", "release", key=f"{year}#{number}",
                           field="state", old="active", new="withdrawn", reason=reason,
                           cycle=year, at=rel.withdrawn_at)])
    return rel


def releases(session: Session, year: int | None = None) -> list[tuple[int, Release]]:
    """(cycle year, release) pairs, oldest first."""
    from pmm.store.models import Cycle

    query = select(Cycle.year, Release).join(Cycle, Cycle.id == Release.cycle_id)
    if year is not None:
        get_cycle(session, year)
        query = query.where(Cycle.year == year)
    return [(int(y), r) for y, r in session.execute(query.order_by(Cycle.year, Release.number))]


def get(session: Session, year: int, number: int) -> Release:
    cycle = get_cycle(session, year)
    rel = session.scalar(select(Release).where(Release.cycle_id == cycle.id,
                                               Release.number == number))
    if rel is None:
        raise NotFound(_("cycle {year} has no release {number}").format(year=year,
                                                                         number=number))
    return rel


def latest(session: Session, year: int) -> Release | None:
    """The newest release of cycle `year` that is not withdrawn."""
    cycle = get_cycle(session, year)
    return session.scalar(select(Release).where(Release.cycle_id == cycle.id,
                                                Release.withdrawn_at.is_(None))
                          .order_by(Release.number.desc()).limit(1))


def require_latest(session: Session, year: int) -> Release:
    rel = latest(session, year)
    if rel is None:
        raise NotFound(_("cycle {year} has no release yet: statistics about other members are "
                         "published only through a release, which the Secretariat creates "
                         "(pmm release create)").format(year=year))
    return rel


def identity(rel: Release) -> Hashable:
    """What names one release of one database for the caches (ids repeat across databases)."""
    session = object_session(rel)
    return (database_of(session) if session is not None else "", rel.id, rel.number,
            rel.created_at, rel.data_digest)


def statistics(session: Session, rel: Release, audience: str | None = None, *,
               levels: Iterable[str] | None = None, code: str | None = None) -> pd.DataFrame:
    """The release's statistics (columns `STAT_COLUMNS`), optionally of one audience."""
    frame = _STATISTICS.get(identity(rel), lambda: _read_statistics(session, rel))
    keep = np.ones(len(frame), dtype=bool)
    if audience is not None:
        keep &= (frame["audience"] == audience).to_numpy()
    if levels is not None:
        keep &= frame["level"].isin(list(levels)).to_numpy()
    if code is not None:
        keep &= (frame["code"] == code).to_numpy()
    return frame[keep].reset_index(drop=True)


def _read_statistics(session: Session, rel: Release) -> pd.DataFrame:
    cols = [getattr(ReleaseStatistic, c if c != "group" else "grp") for c in STAT_COLUMNS]
    # in key order, the same on every backend
    order = [ReleaseStatistic.audience, *cols[1:5], ReleaseStatistic.grouping,
             ReleaseStatistic.grp]
    rows = session.execute(select(*cols).where(ReleaseStatistic.release_id == rel.id)
                           .order_by(*order)).all()
    frame = pd.DataFrame(rows, columns=STAT_COLUMNS)
    for c in ("mean", "median", "q1", "q3"):
        frame[c] = frame[c].astype(float)
    frame["n"] = frame["n"].astype(int)
    return frame


def snapshot(rel: Release) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The observations and peer groups frozen in a release (shared: do not modify them)."""
    return _SNAPSHOTS.get(identity(rel), lambda: _unpack(rel.snapshot))


def _unpack(blob: bytes) -> tuple[pd.DataFrame, pd.DataFrame]:
    both = pd.read_parquet(io.BytesIO(blob))
    obs = both[both["part"] == "obs"].drop(columns=["part", "grouping", "group"])
    groups = both[both["part"] == "groups"][["grouping", "group", "member", "cycle"]]
    obs = obs.astype({"cycle": int, "value": float, "validated": bool}).reset_index(drop=True)
    groups = groups.astype({"cycle": int}).reset_index(drop=True)
    return obs, groups


def _pack(obs: pd.DataFrame, groups: pd.DataFrame) -> bytes:
    both = pd.concat([obs.assign(part="obs"), groups.assign(part="groups")], ignore_index=True)
    for c in ("grouping", "group", "level", "code", "variant", "breakdown", "status", "reason",
              "disclosure", "member"):
        both[c] = both[c].fillna("").astype(str)
    both["validated"] = both["validated"].fillna(False).astype(bool)
    both["cycle"] = both["cycle"].astype(int)
    buffer = io.BytesIO()
    both.to_parquet(buffer, compression="zstd", index=False)
    return buffer.getvalue()


def counts(session: Session, rel: Release) -> dict[str, int]:
    """Statistics released (a mean shown) and withheld, per audience."""
    rows = session.execute(
        select(ReleaseStatistic.audience, ReleaseStatistic.mean.is_(None), func.count())
        .where(ReleaseStatistic.release_id == rel.id, ReleaseStatistic.n > 0)
        .group_by(ReleaseStatistic.audience, ReleaseStatistic.mean.is_(None))).all()
    out: dict[str, int] = {}
    for audience, missing, n in rows:
        out[f"{audience}_{'withheld' if missing else 'released'}"] = int(n)
    return out


def diff(session: Session, year: int, a: int, b: int) -> pd.DataFrame:
    """Statistics that differ between releases `a` and `b` of a cycle (mean or n)."""
    ra, rb = get(session, year, a), get(session, year, b)
    sa, sb = statistics(session, ra), statistics(session, rb)
    key = ["audience", *KEY, "grouping", "group"]
    both = sa.merge(sb, on=key, how="outer", suffixes=("_a", "_b"))
    same = (both["n_a"] == both["n_b"]) & (
        np.isclose(both["mean_a"], both["mean_b"], equal_nan=True))
    out = both[~same].copy()
    out["change"] = np.where(out["n_a"].isna(), "new", np.where(
        out["n_b"].isna(), "gone", np.where(out["mean_a"].isna() & out["mean_b"].notna(),
                                            "released", np.where(out["mean_b"].isna() &
                                                                 out["mean_a"].notna(),
                                                                 "withheld", "changed"))))
    return out[[*key, "n_a", "mean_a", "n_b", "mean_b", "change"]].reset_index(drop=True)


def reason_text(code: str, withheld: str, rules: Rules) -> str:
    """A released statistic's reason code in words (current language)."""
    texts = {
        "min_n": _("fewer than {k} members reported").format(k=rules.min_n),
        "single": _("one or two values in the group are not released to this audience: with "
                    "the others (or one of them, known to its owner) they could be derived"),
        "dominance": _("one member's value dominates the group (p% rule, p = {p:g})").format(
            p=rules.dominance_p),
        "secondary": _("withheld so that no value you may not see can be derived from this and "
                       "the other statistics released, now or before (secondary suppression)"),
        "derived": _("computed from outcome means, one of which is withheld"),
        "no_region": _("no regional mean is released"),
    }
    parts = [texts[code]] if code else []
    if withheld and "/" in withheld:
        k, r = withheld.split("/")
        parts.append(_("mean of {k} of {r} regional means; each region counts once").format(
            k=k, r=r))
    elif withheld:
        parts.append(_("{stats} withheld: each would be, or be computed from, a value you may "
                       "not see").format(stats=withheld.replace(",", ", ")))
    return "; ".join(parts)

