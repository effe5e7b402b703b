"""Benchmark of releases (not a test): creating one, reading from it, against per request.

A cycle in which all 187 WCO Members report every KPI of wco-pmm-v1 (values drawn within each
KPI's domain, disclosure public/WCO level/restricted as 40/35/25 %), scored with the real
scoring, every standard grouping (global, region, income, geography, administration type, size).

It prints:
1. creating the release: the audit of every KPI and outcome score for both audiences
   (`audit_cycle`) plus storing it (snapshot and statistic rows, in a SQLite database);
2. reading one released statistic (one KPI, one audience, every group) from the database:
   the median over many reads;
3. the per-request computation it replaces (`benchmark` for one principal, every KPI, audited
   over every grouping, as `pmm benchmark` did for each command): median over repeats, and the
   ratio to a read;
4. how much is withheld: released means per audience, release against per request.

    .venv/bin/python benchmarks/release.py [--repeats 3] [--reads 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import insert

from pmm.access import ANONYMOUS, audience
from pmm.analysis import release
from pmm.analysis.benchmark import benchmark
from pmm.analysis.domains import kpi_domain
from pmm.analysis.groups import memberships
from pmm.analysis.observations import build
from pmm.analysis.sdc import Rules
from pmm.framework.loader import load
from pmm.members import load_members
from pmm.scoring.pmm import score_cycle
from pmm.store.engine import dispose, transaction
from pmm.store.migrate import upgrade
from pmm.store.models import Cycle, Release, ReleaseStatistic


def cycle_data(seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame, object]:
    fw = load("wco-pmm-v1")
    rng = np.random.default_rng(seed)
    members = sorted(m.iso3 for m in load_members())
    n = len(members)
    rows = []
    for k in fw.kpis:
        d = kpi_domain(k, fw)
        if d.levels:
            x = (rng.random(n) < 0.6).astype(float)
        elif np.isfinite(d.lo) and np.isfinite(d.hi):
            x = np.round(rng.uniform(d.lo + 0.3 * (d.hi - d.lo), d.hi, n), 2)
            x[rng.random(n) < 0.1] = d.hi
        elif np.isfinite(d.lo):
            x = np.round(d.lo + rng.gamma(2.0, 20.0, n), 2)
        else:
            x = np.round(rng.normal(5, 15, n), 2)
        rows.append(pd.DataFrame({"member": members, "kpi": k.code, "variant": "",
                                  "breakdown": "", "value": x, "status": "ok", "reason": ""}))
    values = pd.concat(rows, ignore_index=True)
    scores = score_cycle(fw, values)
    kpis = values[["member", "kpi"]].copy()
    kpis["disclosure"] = rng.choice(["public", "wco", "restricted"], len(kpis),
                                    p=[0.4, 0.35, 0.25])
    obs = build(2024, fw, values, scores, kpis, set(members))
    declarations = dict(zip(members, 10 ** rng.uniform(3.5, 7.5, n), strict=True))
    groups = memberships(members, declarations).assign(cycle=2024)
    return obs, groups, fw


def store(url: str, obs: pd.DataFrame, groups: pd.DataFrame, stats: pd.DataFrame,
          rules: Rules) -> int:
    now = dt.datetime.now(dt.UTC)
    with transaction(url) as session:
        cycle = Cycle(year=2024, framework_id="wco-pmm-v1", framework_json="{}",
                      opens_on=now.date(), closes_on=now.date(), state="closed",
                      created_at=now)
        session.add(cycle)
        session.flush()
        rel = Release(cycle_id=cycle.id, number=1, framework_id="wco-pmm-v1",
                      framework_digest="", data_digest="", min_n=rules.min_n,
                      dominance_p=rules.dominance_p, protection_p=rules.protection_p,
                      members=int(obs["member"].nunique()),
                      snapshot=release._pack(obs, groups), created_at=now,
                      created_by="benchmark", withdraw_reason="")
        session.add(rel)
        session.flush()
        rows = stats.rename(columns={"group": "grp"}).assign(release_id=rel.id)
        rows = rows.astype(object).where(pd.notna(rows), None)
        session.execute(insert(ReleaseStatistic), rows.to_dict("records"))
        return rel.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reads", type=int, default=200)
    args = parser.parse_args()
    obs, groups, fw = cycle_data()
    rules = Rules()
    headline = obs[(obs["variant"] == "") & (obs["breakdown"] == "")]
    print(f"{obs['member'].nunique()} members, {len(fw.kpis)} KPIs, "
          f"{obs[obs['level'] == 'outcome']['code'].nunique()} outcomes, "
          f"{groups[['grouping', 'group']].drop_duplicates().shape[0]} groups")

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        start = time.perf_counter()
        stats = release.audit_cycle(headline, groups, fw, rules)
        audited = time.perf_counter() - start
        rel_id = store(url, headline, groups, stats, rules)
        created = time.perf_counter() - start
        print(f"1. release created in {created:.1f} s (audit {audited:.1f} s, storing "
              f"{created - audited:.1f} s; {len(stats)} statistics)")

        codes = [k.code for k in fw.kpis]
        rng = np.random.default_rng(1)
        reads = []
        with transaction(url) as session:
            rel = session.get(Release, rel_id)
            for _i in range(args.reads):
                code = codes[int(rng.integers(len(codes)))]
                t = time.perf_counter()
                frame = release.statistics(session, rel, "public", code=code)
                reads.append(time.perf_counter() - t)
                assert len(frame)
        read = statistics.median(reads)
        print(f"2. reading one KPI's released statistics (every group): median "
              f"{read * 1000:.2f} ms over {args.reads} reads")
        dispose(url)

    kpis = headline[headline["level"] == "kpi"]
    per_request = []
    old = {}
    for who in (ANONYMOUS, audience("wco")):
        for _r in range(args.repeats if who is ANONYMOUS else 1):
            t = time.perf_counter()
            out = benchmark(kpis, who, groups, fw=fw, levels=("kpi",), rules=rules)
            if who is ANONYMOUS:
                per_request.append(time.perf_counter() - t)
        old[who.role] = out
    request = statistics.median(per_request)
    print(f"3. per request (every KPI for one principal, audited over every grouping): median "
          f"{request:.1f} s; a read from the release is {request / read:,.0f} times faster, "
          f"and creating the release costs {created / request:.1f} per-request computations")

    print("4. released means of KPI statistics (groups with members):")
    for name in ("public", "wco"):
        o = old[name]
        o = o[(o["group"] != "balanced") & (o["n"] > 0)]
        s = stats[(stats["audience"] == name) & (stats["level"] == "kpi")
                  & (stats["basis"] == "members") & (stats["n"] > 0)]
        print(f"   {name}: per request {np.isfinite(o['mean']).sum()} of {len(o)}; release "
              f"{np.isfinite(s['mean']).sum()} of {len(s)} (the release also holds against "
              f"member knowledge, the other audience and earlier releases)")


if __name__ == "__main__":
    main()
