"""The global report of a 187-member release: how long it takes to build (HTML and PDF).

A synthetic release of every WCO Member (187 with Kosovo's code among them; values drawn per KPI
on its unit, disclosure drawn per value) is audited with the release's own function, then the
global report is built from it as the public reads it. The baseline is the same report over 47
members (the demo's release) in the same run; the budget is one minute.

    .venv/bin/python benchmarks/global_report.py
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd

from pmm.access import ANONYMOUS, visible
from pmm.analysis.groups import memberships
from pmm.analysis.observations import COLUMNS
from pmm.analysis.release import audit_cycle
from pmm.analysis.sdc import Rules
from pmm.framework.loader import load
from pmm.members import load_members
from pmm.publish import reports
from pmm.publish.source import ReleaseView
from pmm.store.models import Release

YEAR = 2024


def synthetic(fw, members: list[str], seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for kpi in fw.kpis:
        if kpi.unit in ("percent", "score"):
            x = rng.uniform(20, 100, len(members))
        elif kpi.unit == "yes_no":
            x = (rng.random(len(members)) < 0.6).astype(float)
        else:
            x = rng.gamma(2.0, 20.0, len(members))
        rows.append(pd.DataFrame({"member": members, "level": "kpi", "code": kpi.code,
                                  "value": np.round(x, 2)}))
    for level, items in (("outcome", fw.outcomes), ("dimension", fw.dimensions)):
        for item in items:
            rows.append(pd.DataFrame({"member": members, "level": level, "code": item.code,
                                      "value": np.round(rng.uniform(0, 100, len(members)), 2)}))
    obs = pd.concat(rows, ignore_index=True)
    obs["cycle"], obs["variant"], obs["breakdown"] = YEAR, "", ""
    obs["status"], obs["reason"], obs["validated"] = "ok", "", True
    obs["disclosure"] = rng.choice(["public", "wco", "restricted"], len(obs), p=[.5, .3, .2])
    return obs[COLUMNS]


def view_of(fw, members: list[str]) -> tuple[ReleaseView, float]:
    obs = synthetic(fw, members)
    groups = memberships(members).assign(cycle=YEAR)
    t = time.perf_counter()
    stats = audit_cycle(obs, groups, fw, Rules())
    audit = time.perf_counter() - t
    rel = Release(number=1, members=len(members), min_n=3, dominance_p=10.0, protection_p=10.0,
                  created_at=dt.datetime.now(dt.UTC), created_by="benchmark")
    public = stats[stats["audience"] == "public"].reset_index(drop=True)
    seen = obs[visible(ANONYMOUS, obs)].reset_index(drop=True)
    return ReleaseView(YEAR, 1, rel, fw, ANONYMOUS, "public", seen, groups, public, Rules(),
                       frozenset(members)), audit


def build(view: ReleaseView) -> tuple[float, int]:
    t = time.perf_counter()
    html = reports.global_html(view, "en")
    pdf = reports.to_pdf(html)
    return time.perf_counter() - t, len(pdf)


def main() -> None:
    fw = load("wco-pmm-v1")
    everyone = [m.iso3 for m in load_members()]
    small, audit_small = view_of(fw, everyone[::4][:47])
    large, audit_large = view_of(fw, everyone[:187])
    build(small)  # warm up fonts and templates
    t_small, _n = build(small)
    t_large, size = build(large)
    print(f"members in the release: {len(large.members)} (baseline {len(small.members)})")
    print(f"release audit (not part of the report): {audit_large:.1f} s "
          f"(baseline {audit_small:.1f} s)")
    print(f"global report, HTML + PDF ({size // 1024} KiB): {t_large:.2f} s; "
          f"baseline {t_small:.2f} s; ratio {t_large / t_small:.2f}; "
          f"share of the one-minute budget {t_large / 60:.1%}")


if __name__ == "__main__":
    main()
