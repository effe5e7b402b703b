"""Shared fixtures: where COINr's ASEM reference run lives, and the shipped example spec."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "coinr-asem" / "spec.yaml"
PEER = Path("shared") / "peers" / "coinr-asem"


def find_peer_dir() -> Path | None:
    """Walk up from the repository root looking for shared/peers/coinr-asem."""
    for base in (REPO, *REPO.parents):
        candidate = base / PEER
        if (candidate / "stage_raw.csv").is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def peer_dir() -> Path:
    found = find_peer_dir()
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"COINr reference data not found: no {PEER} above {REPO} (required in CI)")
        pytest.skip(f"COINr reference data not found: no {PEER} above {REPO}")
    return found


@pytest.fixture(scope="session")
def asem_result(peer_dir: Path):
    from pmm.scoring import run_pipeline

    return run_pipeline(EXAMPLE, data_dir=peer_dir)


PEER_11 = Path("shared") / "peers" / "coinr-1.1-asem"


@pytest.fixture(scope="session")
def peer11_dir() -> Path:
    """COINr 1.1's current ASEM example (iData/iMeta and every stage), read where it lies."""
    for base in (REPO, *REPO.parents):
        candidate = base / PEER_11
        if (candidate / "iMeta.csv").is_file():
            return candidate
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"COINr 1.1 reference data not found: no {PEER_11} above {REPO}")
    pytest.skip(f"COINr 1.1 reference data not found: no {PEER_11} above {REPO}")


RTOL = 1e-6


def column_mismatch(ours: pd.DataFrame, theirs: pd.DataFrame, stage: str) -> str | None:
    """The first value of `ours` (indexed by unit, like `theirs`) that differs from COINr's:
    missing equals missing; values are equal within RTOL relative, or when both are within 1e-9
    of the column's scale of 0 (COINr's exact zeros may come out as 1e-15 here)."""
    for code in ours.columns:
        a = ours[code].astype(float)
        b = theirs.loc[ours.index, code].astype(float)
        scale = (np.nanmax(np.abs(b.to_numpy())) if b.notna().any() else 1.0) or 1.0
        same = (a.isna() & b.isna()) | (np.abs(a - b) <= RTOL * np.maximum(np.abs(a), np.abs(b))) \
            | ((np.abs(a) <= 1e-9 * scale) & (np.abs(b) <= 1e-9 * scale))
        if not same.all():
            unit = same.index[~same.to_numpy()][0]
            return (f"{stage}: first mismatch at unit {unit!r}, column {code!r}: ours "
                    f"{a[unit]!r}, COINr {b[unit]!r} ({int((~same).sum())} values differ in "
                    "this column)")
    return None
