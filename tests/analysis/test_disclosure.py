"""The disclosure policy as the analysis uses it: who sees which individual values, and the
disclosure of composite scores."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from pmm.access import ANONYMOUS, Principal, audience, most_restrictive, visible
from pmm.analysis.disclosure import composite_disclosure
from pmm.errors import PmmError
from pmm.framework.loader import load

MEMBERS = ("KEN", "FRA", "BRA")
ROWS = pd.DataFrame(
    [{"cycle": 2024, "member": m, "disclosure": d, "validated": v}
     for m, d, v in itertools.product(MEMBERS, ("public", "wco", "restricted"), (True, False))])


def expected(kind: str, row: pd.Series) -> bool:
    """The policy table of docs/analysis.md, written out row by row."""
    if kind == "secretariat":
        return True
    own = kind in ("ncp", "member_viewer") and row.member == "KEN"
    assigned = kind == "peer_reviewer" and row.member == "BRA"
    if own or assigned:
        return True
    if not row.validated:
        return False
    widest = {"public": "public", "working_body": "public", "member_viewer": "public",
              "wco": "wco", "ncp": "wco", "peer_reviewer": "wco"}[kind]
    return row.disclosure == "public" or (widest == "wco" and row.disclosure == "wco")


KINDS = ("public", "working_body", "wco", "ncp", "member_viewer", "peer_reviewer",
         "secretariat")


def viewer(kind: str) -> Principal:
    if kind == "ncp":
        return Principal("ncp-ken", "ncp", "KEN")
    if kind == "member_viewer":
        return Principal("viewer-ken", "viewer", "KEN")
    if kind == "peer_reviewer":
        return Principal("r1", "peer_reviewer", assigned=frozenset({(2024, "BRA")}))
    if kind == "public":
        return ANONYMOUS
    if kind == "wco":
        return audience("wco")
    return Principal(kind, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_policy_table(kind):
    mask = visible(viewer(kind), ROWS)
    assert mask.tolist() == [expected(kind, r) for r in ROWS.itertuples()]


def test_a_member_always_sees_its_own_data():
    for kind in ("ncp", "member_viewer"):
        mask = visible(viewer(kind), ROWS)
        assert mask[(ROWS["member"] == "KEN").to_numpy()].all()


def test_peer_reviewer_assignment_is_per_cycle():
    rows = ROWS.assign(cycle=2022)
    mask = visible(viewer("peer_reviewer"), rows)
    bra = (rows["member"] == "BRA").to_numpy()
    assert not mask[bra & (rows["disclosure"] == "restricted").to_numpy()].any()
    # without a cycle column the caller names the cycle
    no_cycle = ROWS.drop(columns="cycle")
    assert visible(viewer("peer_reviewer"), no_cycle, cycle=2024)[bra].all()
    with pytest.raises(PmmError, match="need a cycle"):
        visible(viewer("peer_reviewer"), no_cycle)


def test_rows_are_checked():
    with pytest.raises(PmmError, match="lack column"):
        visible(ANONYMOUS, ROWS.drop(columns="disclosure"))
    with pytest.raises(PmmError, match="secret"):
        visible(ANONYMOUS, ROWS.assign(disclosure="secret"))
    assert visible(viewer("secretariat"), ROWS.drop(columns="disclosure")).all()


def test_scores_take_the_most_restrictive_disclosure_of_their_kpis():
    fw = load("wco-pmm-v1")
    kpis = pd.DataFrame([{"member": "KEN", "kpi": k.code, "disclosure": "public"}
                         for k in fw.kpis])
    kpis.loc[kpis["kpi"] == "TF.1.2", "disclosure"] = "restricted"
    kpis.loc[kpis["kpi"] == "RC.1.1", "disclosure"] = "wco"
    out = composite_disclosure(kpis, fw).set_index(["level", "code"])["disclosure"]
    assert out[("outcome", "TF.1")] == "restricted"
    assert out[("outcome", "TF.2")] == "public"
    assert out[("outcome", "RC.1")] == "wco"
    assert out[("dimension", "TF")] == "restricted"
    assert out[("dimension", "RC")] == "wco"
    assert out[("dimension", "OD")] == "public"
    assert most_restrictive([]) == "public"
    assert most_restrictive(["wco", "public"]) == "wco"


def test_visible_is_vectorised_over_many_rows():
    rng = np.random.default_rng(1)
    n = 200_000
    rows = pd.DataFrame({"member": rng.choice(["KEN", "FRA"], n),
                         "disclosure": rng.choice(["public", "wco", "restricted"], n),
                         "validated": rng.random(n) < 0.5})
    mask = visible(audience("wco"), rows)
    assert mask.sum() == (rows["validated"] & rows["disclosure"].isin(["public", "wco"])).sum()
