"""Uncertainty and sensitivity analysis of a composite indicator.

The uncertain assumptions (factors) are listed in the spec's `uncertainty` section: alternative
parameters of the impute, treat, normalise and aggregate steps, noise on the weights (±share of
each nominal weight, uniform, by level), and the exclusion of one indicator. Each Monte Carlo run
draws one value of every factor and recomputes the index; the output per unit is its nominal
rank, and the median and 5th–95th percentiles of its rank over the runs (rank 1 = best).
Variance-based sensitivity (Sobol first-order and total indices with bootstrap intervals) uses
SALib on the mean absolute rank shift, COINr's target.

Two evaluators give the same results run for run for the same sampled parameters:

* `loop`: the straightforward way (COINr's `get_sensitivity`): every run re-runs the varying
  steps and re-aggregates, removing an excluded indicator from the structure;
* `vectorised`: the data variants (imputation × treatment × normalisation alternatives) are
  computed once each, and all runs are aggregated together as a 3-D array (runs × units ×
  indicators) with per-run weights, an excluded indicator getting weight 0.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from pmm.errors import PmmError
from pmm.i18n import _
from pmm.scoring import pipeline as pl
from pmm.scoring import steps as k
from pmm.scoring.spec import (
    AggregateStep,
    FactorSpec,
    ImputeStep,
    LevelAggregation,
    LoadedSpec,
    NormaliseStep,
    TreatStep,
    UncertaintySpec,
    load_spec,
)
from pmm.scoring.stats import rank_desc_rows
from pmm.scoring.structure import Structure

STEP_MODELS = {"impute": ImputeStep, "treat": TreatStep, "normalise": NormaliseStep,
               "aggregate": AggregateStep}
DATA_STEPS = ("impute", "treat", "normalise")


@dataclass
class Model:
    """A spec prepared for repeated evaluation."""

    inputs: pl.Inputs
    structure: Structure
    tree: k.Tree
    target: str
    year: Any
    #: the table entering the varying steps (after denominate and screen), all years
    base: pl.Table
    #: alternatives per step; None = step off; index 0..n-1; the nominal step is used when the
    #: step is not a factor
    alternatives: dict[str, list[Any]]
    nominal: dict[str, Any]
    factors: list[FactorSpec]
    noise: np.ndarray  # per node: ± share
    exclusions: list[str | None]
    nominal_scores: np.ndarray
    units: np.ndarray
    #: the steps run per variant, in the spec's order (the aggregation excluded)
    steps: list[Any]

    @property
    def n_nodes(self) -> int:
        return len(self.tree.nodes)


@dataclass
class Samples:
    """The sampled parameters of every run (shared by both evaluators)."""

    choice: dict[str, np.ndarray]
    multipliers: np.ndarray  # (runs, nodes)
    excluded: np.ndarray  # (runs,) index into Model.exclusions

    @property
    def runs(self) -> int:
        return len(self.excluded)


def _merge(step: str, nominal: Any, alt: dict[str, Any] | str, factor: str, i: int,
           source: str) -> Any:
    if alt == "off":
        return None
    model = STEP_MODELS[step]
    base = nominal.model_dump() if nominal is not None else {}
    try:
        return model.model_validate({**base, **alt})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise PmmError(_("{file}: uncertainty factor {factor!r}, alternative {n}: field {field}: "
                         "{message}").format(file=source, factor=factor, n=i + 1,
                                             field=loc or "(top)", message=err["msg"])) from None


def prepare(spec: str | Path | LoadedSpec, data_dir: str | Path | None = None,
            uncertainty: UncertaintySpec | None = None) -> Model:
    """Load a spec, run its fixed steps and check every combination of alternatives."""
    loaded = spec if isinstance(spec, LoadedSpec) else load_spec(spec, data_dir)
    sp = loaded.spec
    ua = uncertainty or sp.uncertainty
    source = str(loaded.source)
    if ua is None:
        raise PmmError(_("{file}: the spec has no 'uncertainty' section listing the uncertain "
                         "assumptions").format(file=source))
    if sp.step("aggregate") is None or sp.step("normalise") is None:
        raise PmmError(_("{file}: the uncertainty analysis needs normalise and aggregate steps")
                       .format(file=source))
    inputs = pl.load_inputs(loaded)
    s = inputs.structure
    target = ua.target or s.top[0]
    if target not in s.aggregates:
        raise PmmError(_("{file}: field uncertainty.target: {code!r} is not an aggregate").format(
            file=source, code=target))
    # The steps before the first data step (impute, treat, normalise) are the same in every
    # run: they are run once; the others run per variant, in the spec's order.
    base = inputs.raw
    first = next(i for i, e in enumerate(sp.steps) if e.kind in (*DATA_STEPS, "aggregate"))
    for entry in sp.steps[:first]:
        base = _fixed_step(base, inputs, entry)
    later = [e for e in sp.steps[first:] if e.kind != "aggregate"]
    years = None if base.years is None else np.unique(base.years)
    year = None
    if years is not None:
        year = ua.year if ua.year is not None else int(years[-1])
        if year not in years:
            raise PmmError(_("{file}: field uncertainty.year: {year} is not in the data").format(
                file=source, year=ua.year))
    nominal = {st: sp.step(st) for st in STEP_MODELS}
    alternatives: dict[str, list[Any]] = {}
    noise = np.zeros(len(s.indicators) + len(s.aggregates))
    tree = k.Tree.of(s)
    exclusions: list[str | None] = [None]
    for f in ua.factors:
        if f.step is not None:
            if f.step in alternatives:
                raise PmmError(_("{file}: two uncertainty factors vary the {step} step; list its "
                                 "alternatives in one factor").format(file=source, step=f.step))
            assert f.alternatives is not None
            alternatives[f.step] = [_merge(f.step, nominal[f.step], a, f.name, i, source)
                                    for i, a in enumerate(f.alternatives)]
        elif f.weight_noise is not None:
            for level, share in f.weight_noise.items():
                if level > s.n_levels:
                    raise PmmError(_("{file}: uncertainty factor {factor!r}: level {level} does "
                                     "not exist (the index has {n} levels)").format(
                        file=source, factor=f.name, level=level, n=s.n_levels))
                for c in s.codes_at(level):
                    noise[tree.nodes.index(c)] = share
        else:
            codes = list(s.indicators) if f.exclude == "all" else list(f.exclude or [])
            bad = [c for c in codes if c not in s.indicators]
            if bad:
                raise PmmError(_("{file}: uncertainty factor {factor!r}: {code!r} is not an "
                                 "indicator").format(file=source, factor=f.name, code=bad[0]))
            exclusions = [None, *codes]
    model = Model(inputs=inputs, structure=s, tree=tree, target=target, year=year, base=base,
                  alternatives=alternatives, nominal=nominal, factors=list(ua.factors),
                  noise=noise, exclusions=exclusions, nominal_scores=np.empty(0),
                  units=np.array([], dtype=object), steps=later)
    nominal_table = _variant_table(model, nominal["impute"], nominal["treat"],
                                   nominal["normalise"])
    model.units = nominal_table.units[_year_rows(nominal_table, year)]
    model.nominal_scores = _nominal_scores(model)
    _check_combinations(model)
    return model


def _year_rows(t: pl.Table, year: Any) -> np.ndarray:
    if year is None or t.years is None:
        return np.arange(len(t.units))
    return np.flatnonzero(t.years == year)


def _fixed_step(t: pl.Table, inputs: pl.Inputs, entry: Any) -> pl.Table:
    """A step that no factor varies (denominate, screen)."""
    if entry.kind == "denominate":
        return pl.denominate(t, inputs, entry.params)
    return pl.screen(t, entry.params)[0]


def _variant_table(model: Model, imp: Any, tr: Any, norm: Any,
                   cache: dict[tuple, pl.Table] | None = None,
                   key: tuple[int, ...] | None = None) -> pl.Table:
    """The normalised table (all years) of one variant, its steps in the spec's order.

    With a cache and the variant's key (alternative indices of impute, treat, normalise), the
    tables after each step are shared between the variants that start alike."""
    chosen = {"impute": imp, "treat": tr, "normalise": norm}
    index = dict(zip(DATA_STEPS, key, strict=True)) if key else {}
    t = model.base
    prefix: tuple = ()
    for j, entry in enumerate(model.steps):
        kind = entry.kind
        if kind in DATA_STEPS:
            prefix = (*prefix, index.get(kind))
        cached = (j, prefix) if cache is not None and key is not None else None
        if cached is not None and cached in cache:
            t = cache[cached]
            continue
        if kind == "impute":
            t = t if imp is None else pl.impute(t, model.inputs, imp, reports=False)[0]
        elif kind == "treat":
            t = t if tr is None or not tr.enabled else pl.treat(t, tr, reports=False)[0]
        elif kind == "normalise":
            t = pl.normalise(t, model.inputs, chosen["normalise"])
        else:
            t = _fixed_step(t, model.inputs, entry)
        if cached is not None:
            cache[cached] = t
    return t


def _data_variant(model: Model, imp: Any, tr: Any, norm: Any,
                  cache: dict[tuple, pl.Table] | None = None,
                  key: tuple[int, ...] | None = None) -> np.ndarray:
    """Normalised indicator values (units of the analysed year × indicators) of one variant."""
    t = _variant_table(model, imp, tr, norm, cache, key)
    rows = _year_rows(t, model.year)
    if len(rows) != len(model.units) or (t.units[rows] != model.units).any():
        raise PmmError(_("The uncertainty analysis needs the same units in every run, but the "
                         "screen step, after a step that a factor varies, keeps {n} units in "
                         "one run and {m} in the nominal one; put screen before the steps the "
                         "factors vary").format(n=len(rows), m=len(model.units)))
    return t.values[rows]


def _base_weights(model: Model, x: np.ndarray, agg: AggregateStep) -> np.ndarray:
    w = pl.resolve_weights(model.inputs.loaded.spec, model.structure, agg, model.inputs.loaded)
    vec = np.array([w[c] for c in model.tree.nodes])
    if agg.weights == "pca":
        _vals, vec = k.aggregate_tree(x, model.tree, _level_specs(model, agg), vec, pca=True)
    return vec


def _level_specs(model: Model, agg: AggregateStep) -> dict[int, LevelAggregation]:
    return {lev: agg.for_level(lev) for lev in range(2, model.structure.n_levels + 1)}


def _options(model: Model, step: str) -> list[Any]:
    return model.alternatives.get(step, [model.nominal[step]])


def _nominal_scores(model: Model) -> np.ndarray:
    x = _data_variant(model, model.nominal["impute"], model.nominal["treat"],
                      model.nominal["normalise"])
    agg = model.nominal["aggregate"]
    w = _base_weights(model, x, agg)
    vals, _w = k.aggregate_tree(x, model.tree, _level_specs(model, agg), w,
                                units=list(model.units))
    return vals[:, model.tree.nodes.index(model.target)]


def _check_combinations(model: Model) -> None:
    """Fail before any run when a combination of alternatives cannot be computed (for example a
    geometric mean over z-scores), naming the alternatives."""
    names = {f.step: f.name for f in model.factors if f.step}
    for combo in itertools.product(*(range(len(_options(model, st))) for st in DATA_STEPS)):
        x = _data_variant(model, *(_options(model, st)[i] for st, i in zip(DATA_STEPS, combo,
                                                                            strict=True)))
        for a, agg in enumerate(_options(model, "aggregate")):
            w = _base_weights(model, x, agg)
            try:
                k.aggregate_tree(x, model.tree, _level_specs(model, agg), w,
                                 units=list(model.units))
            except PmmError as exc:
                which = [f"{names[st]} #{i + 1}" for st, i in zip(DATA_STEPS, combo, strict=True)
                         if st in names]
                if "aggregate" in names:
                    which.append(f"{names['aggregate']} #{a + 1}")
                raise PmmError(_("The uncertainty analysis cannot combine {which}:").format(
                    which=", ".join(which) or _("the nominal assumptions")), *exc.lines) from None


# --------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------

def _choices_from_unit(model: Model, u: np.ndarray) -> Samples:
    """Map a (runs × factors) design on [0, 1) to parameters, COINr-style: a discrete factor
    with n alternatives takes alternative floor(u·n)."""
    runs = len(u)
    choice: dict[str, np.ndarray] = {}
    multipliers = np.ones((runs, model.n_nodes))
    excluded = np.zeros(runs, dtype=int)
    for j, f in enumerate(model.factors):
        if f.step is not None:
            n = len(model.alternatives[f.step])
            choice[f.step] = np.minimum((u[:, j] * n).astype(int), n - 1)
        elif f.weight_noise is not None:
            continue
        else:
            n = len(model.exclusions)
            excluded = np.minimum((u[:, j] * n).astype(int), n - 1)
    return Samples(choice=choice, multipliers=multipliers, excluded=excluded)


def sample_uncertainty(model: Model, runs: int, seed: int) -> Samples:
    """Independent uniform draws of every factor (weight noise: one draw per weight and run)."""
    rng = np.random.default_rng(seed)
    u = rng.random((runs, len(model.factors)))
    samples = _choices_from_unit(model, u)
    noisy = model.noise > 0
    draws = rng.uniform(-1.0, 1.0, size=(runs, int(noisy.sum())))
    samples.multipliers[:, noisy] = 1.0 + draws * model.noise[noisy]
    return samples


def sample_sensitivity(model: Model, n: int, seed: int, bank: int = 100
                       ) -> tuple[Samples, dict[str, Any]]:
    """Saltelli/Sobol' design of SALib (N·(d + 2) runs). The weight-noise factor selects one of
    `bank` noisy weight sets drawn beforehand, as COINr does."""
    from SALib.sample import sobol as sobol_sample

    problem = {"num_vars": len(model.factors), "names": [f.name for f in model.factors],
               "bounds": [[0.0, 1.0]] * len(model.factors)}
    design = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)
    samples = _choices_from_unit(model, np.clip(design, 0.0, np.nextafter(1.0, 0.0)))
    rng = np.random.default_rng(seed)
    noisy = model.noise > 0
    sets = 1.0 + rng.uniform(-1.0, 1.0, size=(bank, int(noisy.sum()))) * model.noise[noisy]
    for j, f in enumerate(model.factors):
        if f.weight_noise is not None:
            pick = np.minimum((design[:, j] * bank).astype(int), bank - 1)
            samples.multipliers[:, noisy] = sets[pick]
    return samples, problem


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------

def _pick(model: Model, samples: Samples, step: str, r: int) -> Any:
    if step in samples.choice:
        return model.alternatives[step][int(samples.choice[step][r])]
    return model.nominal[step]


def evaluate_loop(model: Model, samples: Samples) -> np.ndarray:
    """Scores of the target (runs × units), one complete re-computation per run."""
    out = np.empty((samples.runs, len(model.units)))
    target_col = None
    for r in range(samples.runs):
        x = _data_variant(model, _pick(model, samples, "impute", r),
                          _pick(model, samples, "treat", r), _pick(model, samples, "normalise", r))
        agg = _pick(model, samples, "aggregate", r)
        w_full = _base_weights(model, x, agg) * samples.multipliers[r]
        weights = dict(zip(model.tree.nodes, w_full, strict=True))
        structure = model.structure
        drop = model.exclusions[int(samples.excluded[r])]
        if drop is not None:
            keep = [j for j, c in enumerate(model.structure.indicators) if c != drop]
            x = x[:, keep]
            structure = structure.without({drop})
        tree = k.Tree.of(structure)
        w = np.array([weights[c] for c in tree.nodes])
        vals, _w = k.aggregate_tree(x, tree, _level_specs(model, agg), w)
        target_col = tree.nodes.index(model.target)
        out[r] = vals[:, target_col]
    return out


def evaluate_vectorised(model: Model, samples: Samples, chunk_elements: int = 4_000_000
                        ) -> np.ndarray:
    """Scores of the target (runs × units): data variants once each, runs aggregated in bulk."""
    runs = samples.runs
    n_units = len(model.units)
    out = np.empty((runs, n_units))
    keys = np.zeros((runs, 4), dtype=int)
    for j, st in enumerate((*DATA_STEPS, "aggregate")):
        if st in samples.choice:
            keys[:, j] = samples.choice[st]
    target = model.tree.nodes.index(model.target) - model.tree.n_indicators
    ind_pos = np.arange(model.tree.n_indicators)
    variants: dict[tuple[int, ...], np.ndarray] = {}
    prefixes: dict[tuple, pl.Table] = {}
    for key in np.unique(keys, axis=0):
        key_t = tuple(int(v) for v in key)
        runs_k = np.flatnonzero((keys == key).all(axis=1))
        dkey = key_t[:3]
        if dkey not in variants:
            variants[dkey] = _data_variant(model, *(_options(model, st)[i] for st, i in
                                                    zip(DATA_STEPS, dkey, strict=True)),
                                           cache=prefixes, key=dkey)
        x = variants[dkey]
        agg = _options(model, "aggregate")[key_t[3]]
        specs = _level_specs(model, agg)
        w = _base_weights(model, x, agg)[np.newaxis, :] * samples.multipliers[runs_k]
        drop = np.array([model.exclusions[i] is not None for i in samples.excluded[runs_k]])
        if drop.any():
            codes = [model.exclusions[i] for i in samples.excluded[runs_k][drop]]
            cols = np.array([model.structure.indicators.index(c) for c in codes])
            w[np.flatnonzero(drop), ind_pos[cols]] = 0.0
        per_run = n_units * model.n_nodes
        if any(specs[lev].method in ("copeland", "outranking_sum") for lev in specs):
            per_run = max(per_run, n_units * n_units * max(
                (len(kids) for g in model.tree.groups for _a, kids in g), default=1))
        step = max(1, chunk_elements // per_run)
        for start in range(0, len(runs_k), step):
            idx = runs_k[start:start + step]
            vals, _w = k.aggregate_tree(x, model.tree, specs, w[start:start + step],
                                        keep_indicators=False)
            out[idx] = vals[..., target]
    return out


def ranks_of(scores: np.ndarray) -> np.ndarray:
    """Ranks (1 = best) per run, after rounding scores to 12 significant digits so that the
    order of floating-point additions can never split two exactly tied units."""
    s = np.asarray(scores, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        top = np.fmax.reduce(np.abs(s), axis=-1, keepdims=True)
        digits = 11 - np.floor(np.log10(np.where(top > 0, top, 1.0)))
    factor = 10.0 ** digits
    return rank_desc_rows(np.rint(s * factor) / factor)


def rank_summary(model: Model, scores: np.ndarray) -> pd.DataFrame:
    """unit, nominal_rank, median_rank, q05, q95 (and the mean rank and nominal score)."""
    ranks = ranks_of(scores)
    nominal = ranks_of(model.nominal_scores[np.newaxis, :])[0]
    with np.errstate(invalid="ignore"):
        q = np.nanquantile(ranks, [0.5, 0.05, 0.95], axis=0)
    return pd.DataFrame({"unit": model.units, "nominal_rank": nominal.astype(int),
                         "median_rank": q[0], "q05": q[1], "q95": q[2],
                         "mean_rank": np.nanmean(ranks, axis=0),
                         "nominal_score": model.nominal_scores})


def uncertainty(spec: str | Path | LoadedSpec | Model, runs: int | None = None,
                seed: int | None = None, method: str = "vectorised",
                data_dir: str | Path | None = None) -> pd.DataFrame:
    """Monte Carlo uncertainty analysis: each unit's nominal rank, median rank and 5–95% range."""
    model = spec if isinstance(spec, Model) else prepare(spec, data_dir)
    sp = model.inputs.loaded.spec
    assert sp.uncertainty is not None
    n = runs or sp.uncertainty.runs
    samples = sample_uncertainty(model, n, sp.seed if seed is None else seed)
    evaluate = evaluate_vectorised if method == "vectorised" else evaluate_loop
    return rank_summary(model, evaluate(model, samples))


def sensitivity(spec: str | Path | LoadedSpec | Model, n: int = 256, seed: int | None = None,
                n_boot: int = 500, data_dir: str | Path | None = None) -> pd.DataFrame:
    """Sobol first-order (S1) and total (ST) indices of each factor on the mean absolute rank
    shift, with 95% bootstrap intervals (SALib; N·(d + 2) runs, N a power of 2)."""
    from SALib.analyze import sobol as sobol_analyze

    model = spec if isinstance(spec, Model) else prepare(spec, data_dir)
    if len(model.factors) < 2:
        raise PmmError(_("A sensitivity analysis needs at least two uncertain factors; with one, "
                         "run the uncertainty analysis"))
    if n < 2 or n & (n - 1):
        raise PmmError(_("The number of base samples N must be a power of 2 (got {n})").format(n=n))
    s0 = model.inputs.loaded.spec.seed if seed is None else seed
    samples, problem = sample_sensitivity(model, n, s0)
    ranks = ranks_of(evaluate_vectorised(model, samples))
    nominal = ranks_of(model.nominal_scores[np.newaxis, :])[0]
    y = np.nanmean(np.abs(ranks - nominal), axis=1)
    res = sobol_analyze.analyze(problem, y, calc_second_order=False, num_resamples=n_boot,
                                conf_level=0.95, seed=s0)
    return pd.DataFrame({
        "factor": problem["names"],
        "S1": res["S1"], "S1_low": res["S1"] - res["S1_conf"],
        "S1_high": res["S1"] + res["S1_conf"],
        "ST": res["ST"], "ST_low": res["ST"] - res["ST_conf"],
        "ST_high": res["ST"] + res["ST_conf"],
        "runs": len(y), "output_variance": float(np.var(y)),
    })
