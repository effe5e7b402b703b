"""The composite-indicator pipeline: read a spec, run its steps, keep every stage.

`run_pipeline(spec)` returns a `Result` whose `stages` are DataFrames named as COINr names its
data sets (raw, denominated, screened, imputed, treated, normalised, aggregated), each with a
`unit` column (and `year` for panel data) followed by one column per indicator or aggregate.
Panel data are handled year by year (each year is one cycle), except panel imputation, which
uses the other years, and normalisation with `across_years`.

A run records its specification, the library versions, the seed and the SHA-256 of every input
and output file; `run_pipeline` on that record (run.json) checks the inputs and gives the same
stages again.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pmm import __version__
from pmm.errors import PmmError
from pmm.i18n import _
from pmm.scoring import steps as k
from pmm.scoring.spec import (
    STAGE_OF_STEP,
    AggregateStep,
    DenominateStep,
    ImputeStep,
    LevelAggregation,
    LoadedSpec,
    NormaliseStep,
    ScreenStep,
    Spec,
    TreatStep,
    load_spec,
)
from pmm.scoring.structure import Structure, is_coinr_meta, load_coinr_meta, load_structure

NA_TOKENS = {"", "NA", "NAN", "N/A", "NULL"}


@dataclass
class Table:
    """One data set: rows are units (or unit-years), columns are codes."""

    units: np.ndarray
    years: np.ndarray | None
    codes: list[str]
    values: np.ndarray

    def frame(self) -> pd.DataFrame:
        cols: dict[str, Any] = {"unit": self.units}
        if self.years is not None:
            cols["year"] = self.years
        head = pd.DataFrame(cols)
        body = pd.DataFrame(self.values, columns=self.codes)
        return pd.concat([head, body], axis=1)

    def year_rows(self) -> list[tuple[Any, np.ndarray]]:
        if self.years is None:
            return [(None, np.arange(len(self.units)))]
        return [(y, np.flatnonzero(self.years == y)) for y in np.unique(self.years)]

    def take(self, rows: np.ndarray) -> Table:
        return Table(self.units[rows], None if self.years is None else self.years[rows],
                     list(self.codes), self.values[rows])

    def with_values(self, values: np.ndarray, codes: list[str] | None = None) -> Table:
        return Table(self.units, self.years, list(self.codes if codes is None else codes), values)


@dataclass
class Inputs:
    """Everything read from the files of a spec."""

    loaded: LoadedSpec
    structure: Structure
    raw: Table
    groups: dict[str, np.ndarray]
    denominators: dict[str, np.ndarray]
    #: input role → (path, sha256)
    files: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Result:
    """A pipeline run: every stage, the step reports and the run record."""

    spec: Spec
    structure: Structure
    stages: dict[str, pd.DataFrame]
    tables: dict[str, Table]
    reports: dict[str, pd.DataFrame]
    weights: pd.DataFrame
    record: dict[str, Any]
    warnings: list[str]

    @property
    def target(self) -> str:
        return self.structure.top[0] if self.structure.top else self.structure.indicators[-1]

    def ranks(self, code: str | None = None) -> pd.DataFrame:
        """Score and rank (1 = best, ties share the best rank) of an aggregate, per year."""
        code = code or self.target
        df = self.stages["aggregated"]
        keys = ["unit"] + (["year"] if "year" in df.columns else [])
        out = df[keys].copy()
        out["score"] = df[code]
        by = out.groupby("year")["score"] if "year" in out.columns else out["score"]
        out["rank"] = by.rank(ascending=False, method="min")
        return out

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write stage_<name>.csv for every stage, the step reports and run.json."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        hashes = {}
        for name, df in self.stages.items():
            p = out / f"stage_{name}.csv"
            write_csv(df, p)
            hashes[p.name] = _sha256(p)
            written.append(p)
        for name, df in {**self.reports, "weights": self.weights}.items():
            p = out / f"{name}.csv"
            write_csv(df, p)
            hashes[p.name] = _sha256(p)
            written.append(p)
        record = {**self.record, "outputs": hashes}
        p = out / "run.json"
        p.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", "utf-8")
        written.append(p)
        return written


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write a result table; text cells starting with =, +, - or @ get a leading ' so that a
    spreadsheet never runs them as formulas (numbers are never touched)."""
    out = df.copy()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])):
            text = out[col].astype("string")
            risky = text.str.match(r"^[=+\-@]").fillna(False).astype(bool)
            if risky.any():
                out[col] = text.where(~risky, "'" + text)
    out.to_csv(path, index=False, lineterminator="\n")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# Reading inputs
# --------------------------------------------------------------------------------------------

def _read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise PmmError(_("{file}: file not found").format(file=path)) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise PmmError(_("{file}: not a readable CSV file: {error}").format(
            file=path, error=exc)) from None


def _need(df: pd.DataFrame, cols: list[str], path: Path, what: str) -> None:
    for c in cols:
        if c not in df.columns:
            raise PmmError(_("{file}: column {column!r} ({what}) is missing (columns: {found})")
                           .format(file=path, column=c, what=what, found=", ".join(df.columns)))


def _numbers(df: pd.DataFrame, cols: list[str], path: Path) -> np.ndarray:
    """Parse numeric columns strictly: empty/NA is missing, anything else must be a number."""
    out = np.empty((len(df), len(cols)))
    for j, c in enumerate(cols):
        raw = df[c].str.strip()
        na = raw.str.upper().isin(NA_TOKENS)
        vals = pd.to_numeric(raw.where(~na, None), errors="coerce").to_numpy(float)
        bad = np.isnan(vals) & ~na.to_numpy()
        if bad.any():
            i = int(np.argmax(bad))
            raise PmmError(_("{file}:{line}: column {column!r}: {value!r} is not a number "
                             "(expected a number with a decimal point, or empty for missing)")
                           .format(file=path, line=i + 2, column=c, value=df[c].iloc[i]))
        if np.isinf(vals).any():
            i = int(np.argmax(np.isinf(vals)))
            raise PmmError(_("{file}:{line}: column {column!r}: {value!r} is not a finite number")
                           .format(file=path, line=i + 2, column=c, value=df[c].iloc[i]))
        out[:, j] = vals
    return out


def _keys(df: pd.DataFrame, unit: str, year: str | None, path: Path) -> tuple[np.ndarray,
                                                                              np.ndarray | None]:
    units = df[unit].str.strip().to_numpy(dtype=object)
    for i, u in enumerate(units):
        if not u:
            raise PmmError(_("{file}:{line}: column {column!r} is empty; a unit code is required")
                           .format(file=path, line=i + 2, column=unit))
    years = None
    if year is not None:
        y = _numbers(df, [year], path)[:, 0]
        if np.isnan(y).any() or np.any(y != np.round(y)):
            i = int(np.argmax(np.isnan(y) | (y != np.round(y))))
            raise PmmError(_("{file}:{line}: column {column!r}: {value!r} is not a year").format(
                file=path, line=i + 2, column=year, value=df[year].iloc[i]))
        years = y.astype(int)
    key = pd.Series(list(zip(units, years if years is not None else [None] * len(units),
                             strict=True)))
    dup = key.duplicated()
    if dup.any():
        i = int(np.argmax(dup.to_numpy()))
        what = units[i] if years is None else f"{units[i]} {years[i]}"
        raise PmmError(_("{file}:{line}: {key!r} appears twice").format(file=path, line=i + 2,
                                                                       key=what))
    return units, years


def load_inputs(loaded: LoadedSpec) -> Inputs:
    """Read and check the data and metadata files of a spec; nothing is computed yet."""
    spec = loaded.spec
    files: dict[str, Path] = {}
    m = spec.metadata
    ind_path = loaded.path(m.indicators)
    agg_path = loaded.path(m.aggregates) if m.aggregates else None
    files["metadata.indicators"] = ind_path
    if agg_path:
        files["metadata.aggregates"] = agg_path
    coinr = m.layout == "coinr" or (m.layout is None and agg_path is None
                                    and is_coinr_meta(ind_path))
    group_cols = list(spec.data.groups)
    if coinr:
        if agg_path is not None:
            raise PmmError(_("{file}: field metadata.aggregates: COINr's iMeta layout holds the "
                             "aggregates in the indicators file; leave 'aggregates' out").format(
                file=loaded.source))
        meta = load_coinr_meta(ind_path)
        structure = meta.structure
        group_cols += [g for g in meta.groups if g not in group_cols]
    else:
        structure = load_structure(ind_path, agg_path, m.columns, m.aggregate_columns)
    d = spec.data
    data_path = loaded.path(d.file)
    files["data"] = data_path
    df = _read_table(data_path)
    _need(df, [d.unit], data_path, _("unit"))
    if d.year:
        _need(df, [d.year], data_path, _("year"))
    _need(df, group_cols, data_path, _("group"))
    missing = [c for c in structure.indicators if c not in df.columns]
    if missing:
        raise PmmError(_("{file}: indicator {code!r} of the metadata has no column in the data "
                         "(columns: {found})").format(file=data_path, code=missing[0],
                                                      found=", ".join(df.columns)))
    units, years = _keys(df, d.unit, d.year, data_path)
    raw = Table(units, years, list(structure.indicators),
                _numbers(df, list(structure.indicators), data_path))
    groups = {g: df[g].str.strip().to_numpy(dtype=object) for g in group_cols}
    denominators: dict[str, np.ndarray] = {}
    wanted = sorted({v for v in structure.denominator.values() if v})
    step = spec.step("denominate")
    if step is not None and step.by:
        unknown = [c for c in step.by if c not in structure.indicators]
        if unknown:
            raise PmmError(_("{file}: field steps.denominate.by: {code!r} is not an indicator")
                           .format(file=loaded.source, code=unknown[0]))
        wanted = sorted(set(wanted) | set(step.by.values()))
    if step is not None and wanted:
        den_df, den_path = df, data_path
        if d.denominators:
            den_path = loaded.path(d.denominators)
            files["data.denominators"] = den_path
            den_df = _read_table(den_path)
            _need(den_df, [d.unit] + ([d.year] if d.year else []), den_path, _("unit"))
        _need(den_df, wanted, den_path, _("denominator"))
        if den_df is not df:
            dunits, dyears = _keys(den_df, d.unit, d.year, den_path)
            index = pd.Series(np.arange(len(dunits)),
                              index=pd.MultiIndex.from_arrays(
                                  [dunits, dyears if dyears is not None else [0] * len(dunits)]))
            want = pd.MultiIndex.from_arrays([units, years if years is not None
                                              else [0] * len(units)])
            pos = index.reindex(want).to_numpy()
            if np.isnan(pos.astype(float)).any():
                i = int(np.argmax(np.isnan(pos.astype(float))))
                raise PmmError(_("{file}: unit {unit!r} has no row (it is in {data})").format(
                    file=den_path, unit=units[i], data=data_path))
            den_vals = _numbers(den_df, wanted, den_path)[pos.astype(int)]
        else:
            den_vals = _numbers(den_df, wanted, den_path)
        denominators = {c: den_vals[:, j] for j, c in enumerate(wanted)}
    hashes = {}
    for key, p in files.items():
        hashes[key] = _sha256(p)
    if loaded.expected_inputs is not None:
        for key, digest in loaded.expected_inputs.items():
            if key in hashes and hashes[key] != digest:
                raise PmmError(_("{file}: the file changed since the run was recorded "
                                 "(SHA-256 {now} instead of {then})").format(
                    file=files[key], now=hashes[key][:12], then=digest[:12]))
    return Inputs(loaded=loaded, structure=structure, raw=raw, groups=groups,
                  denominators=denominators,
                  files={key: (str(files[key]), hashes[key]) for key in files})


# --------------------------------------------------------------------------------------------
# Steps on tables
# --------------------------------------------------------------------------------------------

def denominate(t: Table, inputs: Inputs, step: DenominateStep) -> Table:
    s = inputs.structure
    mapping = {c: s.denominator.get(c) for c in t.codes}
    if step.by:
        mapping.update(step.by)
    out = t.values.copy()
    for j, c in enumerate(t.codes):
        den = mapping.get(c)
        if not den:
            continue
        dv = _on_rows(inputs, t, inputs.denominators[den])
        zero = (dv == 0) & ~np.isnan(out[:, j])
        if zero.any():
            i = int(np.argmax(zero))
            raise PmmError(_("Denominator {den!r} is 0 for unit {unit!r}, so indicator {code!r} "
                             "cannot be divided by it").format(den=den, unit=t.units[i], code=c))
        out[:, j] = out[:, j] / dv
    return t.with_values(out)


def _on_rows(inputs: Inputs, t: Table, column: np.ndarray) -> np.ndarray:
    """A column given for the rows of the raw data, on the rows of `t` (fewer after screening,
    which may come before denominate)."""
    raw = inputs.raw
    if len(t.units) == len(raw.units) and (t.units == raw.units).all():
        return column
    pos = pd.Series(np.arange(len(raw.units)), index=_row_keys(raw.units, raw.years)).reindex(
        _row_keys(t.units, t.years)).to_numpy()
    return column[pos.astype(int)]


def screen(t: Table, step: ScreenStep) -> tuple[Table, pd.DataFrame]:
    x = t.values
    present = ~np.isnan(x)
    if step.zeros_as_missing:
        present &= x != 0
    share = present.sum(axis=1) / x.shape[1]
    keep = share >= step.min_availability - 1e-12
    report = pd.DataFrame({"unit": t.units, **({"year": t.years} if t.years is not None else {}),
                           "availability": share, "kept": keep})
    return t.take(np.flatnonzero(keep)), report


def impute(t: Table, inputs: Inputs, step: ImputeStep, reports: bool = True
           ) -> tuple[Table, pd.DataFrame | None]:
    methods = step.method if isinstance(step.method, list) else [step.method]
    x = t.values.copy()
    before = np.isnan(x)
    group = None
    if step.group:
        if step.group not in inputs.groups:
            raise PmmError(_("Imputation by group needs the column {column!r} listed in "
                             "data.groups").format(column=step.group))
        full = pd.Series(inputs.groups[step.group],
                         index=_row_keys(inputs.raw.units, inputs.raw.years))
        group = full.reindex(_row_keys(t.units, t.years)).fillna("").to_numpy(dtype=object)
    counts: dict[str, np.ndarray] = {}
    for method in methods:
        was = np.isnan(x)
        if method.startswith("panel_"):
            x = _impute_panel(t, x, method, step.max_years)
        else:
            for _y, rows in t.year_rows():
                x[rows] = k.impute_columns(x[rows], method,
                                           None if group is None else group[rows])
        counts[method] = (was & ~np.isnan(x)).sum(axis=0)
    if not np.array_equal(x[~before], t.values[~before]):
        raise AssertionError("imputation changed an observed value")
    if not reports:
        return t.with_values(x), None
    report = pd.DataFrame({"indicator": t.codes, "missing_before": before.sum(axis=0),
                           **{f"imputed_{m}": c for m, c in counts.items()},
                           "missing_after": np.isnan(x).sum(axis=0)})
    return t.with_values(x), report


def _row_keys(units: np.ndarray, years: np.ndarray | None) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([units, years if years is not None else [0] * len(units)])


def _impute_panel(t: Table, x: np.ndarray, method: str, max_years: int | None) -> np.ndarray:
    if t.years is None:
        raise PmmError(_("Panel imputation ({method}) needs panel data: set data.year in the "
                         "spec").format(method=method))
    df = pd.DataFrame(x, columns=t.codes)
    df["_unit"], df["_year"] = t.units, t.years
    df = df.sort_values(["_unit", "_year"])
    order = df.index.to_numpy()
    vals = df[t.codes]
    if method == "panel_carry_forward":
        filled = vals.groupby(df["_unit"].to_numpy()).ffill(limit=max_years)
    else:
        filled = vals.set_index(df["_year"].to_numpy()).groupby(df["_unit"].to_numpy()).transform(
            lambda s: s.interpolate(method="index", limit_area="inside"))
        filled.index = vals.index
    out = np.empty_like(x)
    out[order] = filled.to_numpy(float)
    return out


def treat(t: Table, step: TreatStep, reports: bool = True
          ) -> tuple[Table, pd.DataFrame | None, pd.DataFrame | None]:
    x = t.values.copy()
    flags = np.full(x.shape, "", dtype=object)
    active = np.array([c not in step.exclude for c in t.codes])
    rows_out = []
    for year, rows in t.year_rows():
        tr = k.treat_columns(x[rows], step, active)
        x[rows] = tr.values
        if not reports:
            continue
        flags[rows] = tr.flags
        for j, c in enumerate(t.codes):
            rows_out.append({**({"year": year} if year is not None else {}), "indicator": c,
                             "low": int(tr.low[j]), "high": int(tr.high[j]),
                             "treatment": tr.label[j] if active[j] else "None (excluded)",
                             "skew_before": tr.skew_before[j], "kurtosis_before": tr.kurt_before[j],
                             "skew_after": tr.skew_after[j], "kurtosis_after": tr.kurt_after[j]})
    if not reports:
        return t.with_values(x), None, None
    flag_df = Table(t.units, t.years, t.codes, flags).frame()
    return t.with_values(x), pd.DataFrame(rows_out), flag_df


def normalise(t: Table, inputs: Inputs, step: NormaliseStep) -> Table:
    s = inputs.structure
    x = t.values
    out = np.full_like(x, np.nan)
    # columns grouped by their parameters (global, or individual overrides)
    plans: dict[str, tuple[Any, list[int]]] = {}
    for j, c in enumerate(t.codes):
        p = step.individual.get(c, step)
        key = p.model_dump_json(exclude={"individual", "across_years"})
        plans.setdefault(key, (p, []))[1].append(j)
    unknown = [c for c in step.individual if c not in t.codes]
    if unknown:
        raise PmmError(_("Normalisation: 'individual' names {code!r}, which is not an indicator")
                       .format(code=unknown[0]))
    blocks = [(None, np.arange(len(t.units)))] if step.across_years else t.year_rows()
    for p, cols in plans.values():
        codes = [t.codes[j] for j in cols]
        direction = np.array([s.direction[c] for c in codes], dtype=float)
        for year, rows in blocks:
            ref = None
            if p.method == "distance_to_reference":
                hits = np.flatnonzero(t.units[rows] == p.reference)
                if len(hits) == 0:
                    raise PmmError(_("Normalisation: the reference unit {unit!r} is not in the "
                                     "data{year}").format(unit=p.reference,
                                                          year="" if year is None
                                                          else f" ({year})"))
                ref = int(hits[0])
            out[np.ix_(rows, cols)] = k.normalise_columns(x[np.ix_(rows, cols)], p, direction,
                                                           codes, s, ref)
    return t.with_values(out)


def resolve_weights(spec: Spec, structure: Structure, step: AggregateStep,
                    base_dir: LoadedSpec | None) -> dict[str, float]:
    """The weight of every node for the named weight choice (PCA weights are data-driven and
    resolved during aggregation; here they start equal)."""
    name = step.weights
    if name in ("metadata", "pca"):
        return dict(structure.weight)
    if name == "equal":
        return dict.fromkeys(structure.weight, 1.0)
    if name not in spec.weight_sets:
        raise PmmError(_("Aggregation: weight set {name!r} is not defined (weight_sets has: "
                         "{known})").format(name=name,
                                            known=", ".join(spec.weight_sets) or _("none")))
    ws = spec.weight_sets[name]
    if isinstance(ws, str):
        assert base_dir is not None
        path = base_dir.path(ws)
        df = _read_table(path)
        _need(df, ["code", "weight"], path, _("weight set"))
        vals = _numbers(df, ["weight"], path)[:, 0]
        ws = {c.strip(): float(v) for c, v in zip(df["code"], vals, strict=True)}
        where = str(path)
    else:
        where = f"weight_sets.{name}"
    unknown = [c for c in ws if c not in structure.weight]
    if unknown:
        raise PmmError(_("{where}: {code!r} is not an indicator or aggregate code").format(
            where=where, code=unknown[0]))
    bad = [c for c, v in ws.items() if not np.isfinite(v) or v < 0]
    if bad:
        raise PmmError(_("{where}: the weight of {code!r} must be a number of 0 or more").format(
            where=where, code=bad[0]))
    return {**structure.weight, **ws}


def aggregate_table(t: Table, structure: Structure, step: AggregateStep,
                    weights: dict[str, float]) -> tuple[Table, dict[str, float]]:
    tree = k.Tree.of(structure)
    w = np.array([weights[c] for c in tree.nodes])
    specs: dict[int, LevelAggregation] = {lev: step.for_level(lev)
                                          for lev in range(2, structure.n_levels + 1)}
    out = np.empty((len(t.units), len(tree.nodes)))
    used = dict(weights)
    for _year, rows in t.year_rows():
        vals, w_used = k.aggregate_tree(t.values[rows], tree, specs, w,
                                        pca=step.weights == "pca", units=list(t.units[rows]))
        out[rows] = vals
        used = dict(zip(tree.nodes, map(float, w_used), strict=True))
    return t.with_values(out, list(tree.nodes)), used


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------

def run_pipeline(spec: str | Path | LoadedSpec | Inputs, data_dir: str | Path | None = None
                 ) -> Result:
    """Run every step of a spec (a path to SPEC.yaml or run.json, or a loaded spec)."""
    if isinstance(spec, Inputs):
        inputs = spec
    else:
        loaded = spec if isinstance(spec, LoadedSpec) else load_spec(spec, data_dir)
        inputs = load_inputs(loaded)
    sp = inputs.loaded.spec
    s = inputs.structure
    tables: dict[str, Table] = {"raw": inputs.raw}
    reports: dict[str, pd.DataFrame] = {}
    warnings: list[str] = []
    current = inputs.raw
    weights_used = dict(s.weight)
    for entry in sp.steps:
        kind, p = entry.kind, entry.params
        if kind == "denominate":
            current = denominate(current, inputs, p)
        elif kind == "screen":
            current, reports["screening"] = screen(current, p)
            if len(current.units) == 0:
                raise PmmError(_("Screening removed every unit: no unit has at least {share:.0%} "
                                 "of its indicators").format(share=p.min_availability))
        elif kind == "impute":
            current, reports["imputation"] = impute(current, inputs, p)
        elif kind == "treat":
            if p.enabled:
                current, reports["treatment"], reports["treatment_flags"] = treat(current, p)
        elif kind == "normalise":
            current = normalise(current, inputs, p)
            flat = [c for j, c in enumerate(current.codes)
                    if np.isnan(current.values[:, j]).all() and
                    not np.isnan(tables[list(tables)[-1]].values[:, j]).all()]
            for c in flat:
                warnings.append(_("Indicator {code!r} could not be normalised (it has the same "
                                  "value for every unit) and is missing from the aggregates")
                                .format(code=c))
        elif kind == "aggregate":
            w = resolve_weights(sp, s, p, inputs.loaded)
            current, weights_used = aggregate_table(current, s, p, w)
        tables[STAGE_OF_STEP[kind]] = current
    stages = {name: t.frame() for name, t in tables.items()}
    record = {
        "tool": "customs-pmm composite",
        "pmm_version": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": sp.seed,
        "spec_file": str(inputs.loaded.source) if inputs.loaded.source else None,
        "data_dir": str(inputs.loaded.data_dir),
        "spec": sp.model_dump(mode="json", exclude_none=True),
        "inputs": {key: digest for key, (_path, digest) in inputs.files.items()},
        "input_files": {key: path for key, (path, _digest) in inputs.files.items()},
        "warnings": warnings,
        "note": "Scores computed by the documented method of customs-pmm; not official WCO "
                "ratings.",
    }
    return Result(spec=sp, structure=s, stages=stages, tables=tables, reports=reports,
                  weights=s.effective_weights(weights_used), record=record, warnings=warnings)
