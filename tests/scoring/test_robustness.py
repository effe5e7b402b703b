"""Monte Carlo uncertainty and Sobol sensitivity: the vectorised evaluator equals the per-run
loop, run for run; seeds make runs repeatable; impossible combinations fail before any run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pmm.errors import PmmError
from pmm.scoring import robustness as ua
from pmm.scoring import run_pipeline
from tests.scoring.conftest import EXAMPLE
from tests.scoring.test_pipeline import write_case

STEPS = [{"impute": {"method": "mean"}}, {"treat": {"winmax": 2}},
         {"normalise": {"method": "minmax", "range": [1, 100]}},
         {"aggregate": {"method": "arithmetic", "coverage": 0.6}}]
EVERY_FACTOR = {
    "runs": 40,
    "factors": [
        {"name": "imputation", "step": "impute",
         "alternatives": [{"method": "mean"}, {"method": "group_median", "group": "region"},
                          "off"]},
        {"name": "treatment", "step": "treat", "alternatives": ["off", {"winmax": 1}]},
        {"name": "normalisation", "step": "normalise",
         "alternatives": [{}, {"method": "rank"}, {"method": "percentile_rank", "scale": 99},
                          {"method": "goalposts"}]},
        {"name": "aggregation", "step": "aggregate",
         "alternatives": [{}, {"method": "geometric", "shift": "auto"}, {"method": "copeland"},
                          {"method": "harmonic", "shift": 1}, {"weights": "equal"}]},
        {"name": "weights", "weight_noise": {1: 0.3, 2: 0.25}},
        {"name": "exclusion", "exclude": "all"},
    ],
}


def test_vectorised_equals_loop_run_for_run_for_every_factor(tmp_path: Path) -> None:
    model = ua.prepare(write_case(tmp_path, STEPS, uncertainty=EVERY_FACTOR, seed=3))
    samples = ua.sample_uncertainty(model, 80, seed=11)
    assert len(set(samples.choice["aggregate"])) == 5 and (samples.excluded > 0).any()
    loop = ua.evaluate_loop(model, samples)
    vec = ua.evaluate_vectorised(model, samples, chunk_elements=500)  # several chunks
    assert np.allclose(vec, loop, rtol=1e-12, atol=1e-12, equal_nan=True)
    assert np.array_equal(ua.ranks_of(vec), ua.ranks_of(loop), equal_nan=True)


def test_asem_vectorised_equals_loop(peer_dir: Path) -> None:
    model = ua.prepare(EXAMPLE, data_dir=peer_dir)
    samples = ua.sample_uncertainty(model, 25, seed=1)
    loop, vec = ua.evaluate_loop(model, samples), ua.evaluate_vectorised(model, samples)
    assert np.allclose(vec, loop, rtol=1e-12, atol=0)
    assert np.array_equal(ua.ranks_of(vec), ua.ranks_of(loop))


def test_nominal_rank_is_the_pipeline_rank(peer_dir: Path, asem_result) -> None:
    table = ua.uncertainty(EXAMPLE, runs=200, seed=4, data_dir=peer_dir)
    ranks = asem_result.ranks().set_index("unit")["rank"]
    assert (table.set_index("unit")["nominal_rank"] == ranks).all()
    assert list(table.columns[:5]) == ["unit", "nominal_rank", "median_rank", "q05", "q95"]
    assert (table["q05"] <= table["median_rank"]).all()
    assert (table["median_rank"] <= table["q95"]).all()
    assert table["q95"].max() <= 51 and table["q05"].min() >= 1


def test_seed_makes_runs_repeatable(tmp_path: Path) -> None:
    model = ua.prepare(write_case(tmp_path, STEPS, uncertainty=EVERY_FACTOR))
    a = ua.uncertainty(model, runs=30, seed=1)
    b = ua.uncertainty(model, runs=30, seed=1)
    c = ua.uncertainty(model, runs=30, seed=2)
    assert a.equals(b) and not a.equals(c)


def test_impossible_combination_fails_before_running(tmp_path: Path) -> None:
    spec = {"factors": [
        {"name": "norm", "step": "normalise", "alternatives": [{}, {"method": "zscore"}]},
        {"name": "agg", "step": "aggregate", "alternatives": [{}, {"method": "geometric"}]}]}
    with pytest.raises(PmmError, match=r"cannot combine norm #2, agg #2") as exc:
        ua.prepare(write_case(tmp_path, STEPS, uncertainty=spec))
    assert any("needs values above 0" in line for line in exc.value.lines)


def test_factor_errors_name_the_factor(tmp_path: Path) -> None:
    spec = {"factors": [{"name": "norm", "step": "normalise",
                         "alternatives": [{"method": "minimax"}]}]}
    with pytest.raises(PmmError, match=r"factor 'norm', alternative 1: field method"):
        ua.prepare(write_case(tmp_path, STEPS, uncertainty=spec))
    spec = {"factors": [{"name": "x", "exclude": ["i9"]}]}
    with pytest.raises(PmmError, match="'i9' is not an indicator"):
        ua.prepare(write_case(tmp_path, STEPS, uncertainty=spec))
    with pytest.raises(PmmError, match="no 'uncertainty' section"):
        ua.prepare(write_case(tmp_path, STEPS))


def test_sobol_indices(tmp_path: Path) -> None:
    spec = {"factors": [
        {"name": "no effect", "step": "treat", "alternatives": [{"winmax": 2}, {"winmax": 3}]},
        {"name": "aggregation", "step": "aggregate",
         "alternatives": [{}, {"method": "copeland"}]},
        {"name": "weights", "weight_noise": {2: 0.5}}]}
    path = write_case(tmp_path, [*STEPS[:3], {"aggregate": {}}], uncertainty=spec)
    base = run_pipeline(path)
    assert base.reports["treatment"]["treatment"].eq("None").all()  # winmax is irrelevant
    table = ua.sensitivity(path, n=32, seed=1, n_boot=50)
    assert list(table["factor"]) == ["no effect", "aggregation", "weights"]
    t = table.set_index("factor")
    assert t.loc["no effect", "ST"] == 0 and t.loc["no effect", "S1"] == 0
    assert t.loc["aggregation", "ST"] > 0.1
    assert (t["ST_low"] <= t["ST"]).all() and (t["ST"] <= t["ST_high"]).all()
    assert table["runs"].iloc[0] == 32 * 5
    with pytest.raises(PmmError, match="power of 2"):
        ua.sensitivity(path, n=30)
