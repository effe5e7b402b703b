"""Benchmark of the composite-indicator uncertainty analysis (not a test).

Cases:
1. COINr's ASEM example (51 units × 49 indicators) with the shipped spec's uncertain
   winsorisation limit, normalisation, aggregation and weights (as in COINr's sensitivity
   vignette): 1,000 and 10,000 Monte Carlo runs;
2. a synthetic 190-unit × 100-indicator index (10 pillars, 3 sub-indices) with uncertain
   imputation, winsorisation, normalisation, aggregation, weights and indicator exclusion.

For each case it prints the vectorised evaluator's runs per second (median over repeats), the
straightforward per-run loop's (measured on a smaller number of runs, same sampled parameters),
their ratio, checks that both give the same ranks run for run, and compares with COINr 1.1.14's
`get_sensitivity`, which manages about 10 runs per second on the ASEM example on this kind of
machine (a figure stated in the issue, not measured here: R is not installed).

    .venv/bin/python benchmarks/composite_uncertainty.py [--data-dir DIR] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pmm.scoring import robustness as ua

ROOT = Path(__file__).resolve().parents[1]
ASEM_SPEC = ROOT / "examples" / "coinr-asem" / "spec.yaml"
COINR_RUNS_PER_SECOND = 10.0


def find_asem_data() -> Path | None:
    for base in (ROOT, *ROOT.parents):
        candidate = base / "shared" / "peers" / "coinr-asem"
        if (candidate / "stage_raw.csv").is_file():
            return candidate
    return None


def synthetic_case(folder: Path, n_units: int = 190, n_ind: int = 100, seed: int = 7) -> Path:
    """Write a synthetic index: skewed, correlated indicators with 4% missing values."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_units, 1))
    pillars = 10
    per = n_ind // pillars
    codes = [f"x{j:03d}" for j in range(n_ind)]
    x = latent + rng.normal(scale=1.2, size=(n_units, n_ind))
    skewed = rng.random(n_ind) < 0.3
    x[:, skewed] = np.exp(x[:, skewed])  # log-normal: some need winsorising or a log
    x[rng.random(x.shape) < 0.04] = np.nan
    units = [f"U{i:03d}" for i in range(n_units)]
    regions = rng.choice(["A", "B", "C", "D"], size=n_units)
    lines = ["unit,region," + ",".join(codes)]
    for i in range(n_units):
        vals = ",".join("" if np.isnan(v) else f"{v:.10g}" for v in x[i])
        lines.append(f"{units[i]},{regions[i]},{vals}")
    (folder / "data.csv").write_text("\n".join(lines) + "\n", "utf-8")
    ind = ["code,direction,weight,parent"]
    for j, c in enumerate(codes):
        ind.append(f"{c},{1 if rng.random() < 0.8 else -1},1,P{j // per}")
    (folder / "indicators.csv").write_text("\n".join(ind) + "\n", "utf-8")
    agg = ["code,level,weight,parent"]
    agg += [f"P{p},2,1,S{p % 3}" for p in range(pillars)]
    agg += [f"S{s},3,1,Index" for s in range(3)] + ["Index,4,1,"]
    (folder / "aggregates.csv").write_text("\n".join(agg) + "\n", "utf-8")
    spec = """
version: 1
name: synthetic 190 x 100
data: {file: data.csv, unit: unit, groups: [region]}
metadata: {indicators: indicators.csv, aggregates: aggregates.csv}
steps:
  - impute: {method: group_mean, group: region}
  - treat: {winmax: 5}
  - normalise: {method: minmax, range: [1, 100]}
  - aggregate: {method: arithmetic}
seed: 1
uncertainty:
  runs: 1000
  factors:
    - {name: imputation, step: impute,
       alternatives: [{method: group_mean}, {method: mean}, {method: median}]}
    - {name: winsorisation, step: treat, alternatives: [{winmax: 3}, {winmax: 5}, {winmax: 8}]}
    - name: normalisation
      step: normalise
      alternatives: [{}, {method: zscore, mean: 10, sd: 2}, {method: rank}]
    - {name: aggregation, step: aggregate, alternatives: [{}, {method: geometric, shift: auto}]}
    - {name: weights, weight_noise: {1: 0.25, 2: 0.25, 3: 0.25}}
    - {name: exclusion, exclude: all}
"""
    path = folder / "spec.yaml"
    path.write_text(spec, "utf-8")
    return path


def timed(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def bench(label: str, model: ua.Model, run_counts: list[int], loop_runs: int, repeats: int,
          seed: int = 1) -> None:
    print(f"\n== {label}: {len(model.units)} units × {model.tree.n_indicators} indicators, "
          f"{len(model.factors)} uncertain factors ==")
    loop_samples = ua.sample_uncertainty(model, loop_runs, seed)
    t_loop, loop_scores = timed(lambda: ua.evaluate_loop(model, loop_samples), 1)
    vec_scores = ua.evaluate_vectorised(model, loop_samples)
    same = np.array_equal(ua.ranks_of(vec_scores), ua.ranks_of(loop_scores), equal_nan=True)
    max_diff = float(np.nanmax(np.abs(vec_scores - loop_scores)))
    loop_rate = loop_runs / t_loop
    print(f"per-run loop: {loop_runs} runs in {t_loop:.2f} s = {loop_rate:,.1f} runs/s; "
          f"vectorised gives the same ranks run for run: {same} (max score difference "
          f"{max_diff:.1e})")
    for runs in run_counts:
        samples = ua.sample_uncertainty(model, runs, seed)
        t_vec, scores = timed(lambda s=samples: ua.evaluate_vectorised(model, s), repeats)
        rate = runs / t_vec
        summary = ua.rank_summary(model, scores)
        width = float((summary["q95"] - summary["q05"]).median())
        print(f"vectorised: {runs:>6,} runs in {t_vec:6.2f} s (median of {repeats}) = "
              f"{rate:>9,.0f} runs/s; ratio vs loop {rate / loop_rate:7.1f}×; "
              f"vs COINr ~{COINR_RUNS_PER_SECOND:.0f} runs/s: "
              f"{rate / COINR_RUNS_PER_SECOND:7.0f}×; median 5–95% rank width {width:.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loop-runs", type=int, default=200)
    args = parser.parse_args(argv)
    data_dir = args.data_dir or find_asem_data()
    if data_dir is None:
        print("ASEM data not found (shared/peers/coinr-asem); pass --data-dir", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    asem = ua.prepare(ASEM_SPEC, data_dir)
    print(f"ASEM model prepared in {time.perf_counter() - t0:.2f} s")
    bench("ASEM (COINr example)", asem, [1_000, 10_000], args.loop_runs, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        synth = ua.prepare(synthetic_case(Path(tmp)))
        print(f"\nsynthetic model prepared in {time.perf_counter() - t0:.2f} s")
        bench("synthetic", synth, [1_000, 10_000], max(20, args.loop_runs // 4), args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
