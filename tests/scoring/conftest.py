"""Shared fixtures: where COINr's ASEM reference run lives, and the shipped example spec."""

from __future__ import annotations

import os
from pathlib import Path

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
