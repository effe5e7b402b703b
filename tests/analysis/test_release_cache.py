"""Release snapshots are kept in memory per release, never mixed between databases: one process
(the tests, an operator's script) may read release 1 of two databases."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from pmm.analysis import release as rel_mod
from pmm.analysis.observations import COLUMNS
from pmm.store.models import Release


def _release(member: str, value: float, made: dt.datetime) -> Release:
    obs = pd.DataFrame([{"cycle": 2024, "member": member, "level": "kpi", "code": "TF.1.1",
                         "variant": "", "breakdown": "", "value": value, "status": "ok",
                         "reason": "", "disclosure": "public", "validated": True}])[COLUMNS]
    groups = pd.DataFrame([{"grouping": "global", "group": "all", "member": member,
                            "cycle": 2024}])
    return Release(id=1, number=1, snapshot=rel_mod._pack(obs, groups), created_at=made,
                   data_digest=f"digest-{member}")


def test_release_1_of_two_databases_are_two_snapshots() -> None:
    first = _release("FRA", 12.5, dt.datetime(2026, 1, 1, 10, 0, 0, 1))
    second = _release("DEU", 99.0, dt.datetime(2026, 1, 1, 10, 0, 0, 2))
    a, _ga = rel_mod.snapshot(first)
    b, _gb = rel_mod.snapshot(second)
    assert list(a["member"]) == ["FRA"] and list(b["member"]) == ["DEU"]
    assert rel_mod.snapshot(first)[0]["value"].tolist() == [12.5]  # and the cache still serves
