"""Observations: every member's KPI values and scores of a cycle in one tidy table.

Columns (`COLUMNS`): cycle, member, level (`kpi` for a KPI value, `kpi_score`, `outcome`,
`dimension`, `sdg_target`, `sdg_goal` for scores), code, variant and breakdown ("" for the
headline), value, status (`ok` when the value counts), reason, disclosure (public, wco,
restricted: the member's choice for a KPI, the most restrictive of the inputs for a score) and
validated (the member's submission is validated or published). Everything in `pmm.analysis`
reads member data from this table, through `disclosure.visible`.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from pmm.access import VALIDATED_STATES
from pmm.analysis.disclosure import composite_disclosure
from pmm.framework.model import Framework

COLUMNS = ["cycle", "member", "level", "code", "variant", "breakdown", "value", "status",
           "reason", "disclosure", "validated"]
SCORE_LEVELS = ("kpi_score", "outcome", "dimension", "overall")
BENCHMARK_LEVELS = ("kpi", "outcome", "dimension")


def build(year: int, fw: Framework, values: pd.DataFrame, scores: pd.DataFrame,
          kpis: pd.DataFrame, validated: set[str] | pd.Series | list[str]) -> pd.DataFrame:
    """Observations of one cycle.

    `values`: output of `pmm.scoring.kpi_values.kpi_values`; `scores`: output of
    `pmm.scoring.pmm.score_cycle`; `kpis`: member, kpi, disclosure (the assessment's
    `CycleTables.kpis`); `validated`: members whose submission is validated or published.
    """
    ok_members = set(validated)
    disclosure = kpis[["member", "kpi", "disclosure"]]
    kv = _merge_one(values, disclosure, ["member", "kpi"], "disclosure")
    default = {k.code: k.disclosure for k in fw.kpis}
    kv["disclosure"] = kv["disclosure"].fillna(kv["kpi"].map(default)).fillna("restricted")
    kv = kv.rename(columns={"kpi": "code"})
    kv["level"] = "kpi"
    frames = [kv]
    if len(scores):
        sc = scores.copy()
        sc["level"] = sc["level"].replace({"kpi": "kpi_score"})
        sc["value"] = sc["score"]
        sc["variant"] = ""
        sc["breakdown"] = ""
        kd = disclosure.rename(columns={"kpi": "code"}).assign(level="kpi_score")
        comp = composite_disclosure(disclosure, fw)
        sc = _merge_one(sc, pd.concat([kd, comp], ignore_index=True),
                        ["member", "level", "code"], "disclosure")
        sc["disclosure"] = sc["disclosure"].fillna("restricted")  # e.g. overall: be safe
        frames.append(sc)
    out = pd.concat(frames, ignore_index=True)
    out["cycle"] = int(year)
    out["validated"] = out["member"].isin(ok_members)
    out["value"] = out["value"].astype(float)
    out["reason"] = out["reason"].fillna("").astype(str)
    out.loc[~np.isfinite(out["value"]) & (out["status"] == "ok"), "status"] = "not_computable"
    return out[COLUMNS].reset_index(drop=True)


def _merge_one(left: pd.DataFrame, right: pd.DataFrame, on: list[str], column: str
               ) -> pd.DataFrame:
    """`left.merge(right[on + [column]], on=on, how="left")`, as an index lookup when the right
    keys are unique (the merge's pandas overhead was most of a principal's pool)."""
    key_left, key_right = row_keys([left, right], on)
    index = pd.Index(key_right)
    if not index.is_unique:
        return left.merge(right[[*on, column]], on=on, how="left")
    out = left.reset_index(drop=True)
    out[column] = right[column].reset_index(drop=True).reindex(index.get_indexer(key_left)) \
        .to_numpy()
    return out


def row_keys(frames: list[pd.DataFrame], on: list[str]) -> list[np.ndarray]:
    """One integer per row of each frame for its values of the columns `on`, equal exactly
    where those values are (missing values equal each other, as in a merge)."""
    sizes = np.cumsum([0] + [len(f) for f in frames])
    key = np.zeros(sizes[-1], np.int64)
    for name in on:  # the columns' codes in one factorisation of all the frames
        codes, uniques = pd.factorize(pd.concat([f[name] for f in frames], ignore_index=True),
                                      use_na_sentinel=False)
        key = key * len(uniques) + codes
    return [key[a:b] for a, b in itertools.pairwise(sizes)]


def validated_members(submissions: pd.DataFrame) -> set[str]:
    """Members whose submission is validated or published."""
    return set(submissions.loc[submissions["state"].isin(VALIDATED_STATES), "member"])


def usable(obs: pd.DataFrame) -> pd.Series:
    """Rows that count in group statistics: validated, status ok, a finite value."""
    return obs["validated"].astype(bool) & (obs["status"] == "ok") & np.isfinite(
        obs["value"].astype(float))
