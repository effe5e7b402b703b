"""`pmm composite ...`: run a composite-indicator spec, its uncertainty and sensitivity analysis,
and its statistical audit."""

from __future__ import annotations

import json
import platform
import time
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pmm import __version__
from pmm.errors import PmmError
from pmm.i18n import _, format_number, ngettext
from pmm.terminal import console

app = typer.Typer(
    help=_("General composite-indicator engine (COINr-compatible): run a SPEC.yaml stage by stage, "
           "then test its robustness.\n\nScores are computed by the documented method of "
           "customs-pmm (docs/methodology-scoring.md); they are not official WCO ratings."),
    no_args_is_help=True,
)
out = console()

SpecArg = Annotated[Path, typer.Argument(help=_("SPEC.yaml, or the run.json of an earlier run."))]
OutOpt = Annotated[Path, typer.Option("--out", help=_("Folder receiving the results."))]
DataDirOpt = Annotated[Path | None, typer.Option(
    "--data-dir", envvar="PMM_COMPOSITE_DATA_DIR",
    help=_("Folder of the data and metadata files (default: the spec's data_dir)."))]


class Evaluator(StrEnum):
    vectorised = "vectorised"
    loop = "loop"


def _record(spec_file: Path, **extra: object) -> dict[str, object]:
    import numpy as np

    return {"tool": "customs-pmm composite", "pmm_version": __version__,
            "python": platform.python_version(), "numpy": np.__version__,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "spec_file": str(spec_file), **extra}


def _output_folder(path: Path) -> Path:
    """Create the --out folder, reporting a path that cannot be a folder without a traceback."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PmmError(_("--out {dir}: cannot create the folder ({error})").format(
            dir=path, error=exc.strerror or exc)) from None
    return path


@app.command("run", help=_(
    "Run every step and write one stage_<dataset>.csv per data set, the step reports and "
    "run.json (the run record; `pmm composite run DIR/run.json` repeats the run)."))
def run_cmd(spec: SpecArg, out_dir: OutOpt, data_dir: DataDirOpt = None) -> None:
    from pmm.scoring.pipeline import run_pipeline

    res = run_pipeline(spec, data_dir)
    files = res.write(_output_folder(out_dir))
    out.print(_("Stages: {stages}").format(stages=", ".join(res.stages)))
    for w in res.warnings:
        out.print(_("Warning: {message}").format(message=w))
    out.print(ngettext("Wrote {n} file to {dir}", "Wrote {n} files to {dir}", len(files))
              .format(n=format_number(len(files)), dir=out_dir))


@app.command("uncertainty", help=_(
    "Monte Carlo uncertainty analysis over the spec's `uncertainty` factors: writes "
    "uncertainty.csv (unit, nominal_rank, median_rank, q05, q95; rank 1 = best)."))
def uncertainty_cmd(spec: SpecArg, out_dir: OutOpt,
                    runs: Annotated[int | None, typer.Option("--runs", min=1,
                                                             help=_("Monte Carlo runs."))] = None,
                    seed: Annotated[int | None, typer.Option(
                        "--seed", help=_("Random seed."))] = None,
                    data_dir: DataDirOpt = None,
                    method: Annotated[Evaluator, typer.Option(
                        "--method", help=_("vectorised (fast) or loop (one run at a time)."))]
                    = Evaluator.vectorised) -> None:
    from pmm.scoring.pipeline import write_csv
    from pmm.scoring.robustness import prepare, uncertainty

    model = prepare(spec, data_dir)
    sp = model.inputs.loaded.spec
    assert sp.uncertainty is not None
    n = runs or sp.uncertainty.runs
    s = sp.seed if seed is None else seed
    t0 = time.perf_counter()
    table = uncertainty(model, runs=n, seed=s, method=method.value)
    elapsed = time.perf_counter() - t0
    _output_folder(out_dir)
    write_csv(table[["unit", "nominal_rank", "median_rank", "q05", "q95"]],
              out_dir / "uncertainty.csv")
    record = _record(spec, runs=n, seed=s, method=method.value, target=model.target,
                     year=model.year, factors=[f.model_dump(mode="json", exclude_none=True)
                                               for f in model.factors],
                     spec=sp.model_dump(mode="json", exclude_none=True),
                     inputs={key: digest for key, (_p, digest) in model.inputs.files.items()})
    (out_dir / "uncertainty.json").write_text(json.dumps(record, indent=2) + "\n", "utf-8")
    out.print(_("{runs} runs in {seconds:.2f} s ({rate:.0f} runs per second); target {target}")
              .format(runs=n, seconds=elapsed, rate=n / elapsed if elapsed else float("inf"),
                      target=model.target))
    out.print(_("Wrote {file}").format(file=out_dir / "uncertainty.csv"))


@app.command("sensitivity", help=_(
    "Sobol first-order and total sensitivity indices (SALib) of each uncertainty factor on "
    "the mean absolute rank shift, with 95% bootstrap intervals: writes sensitivity.csv."))
def sensitivity_cmd(spec: SpecArg, out_dir: OutOpt,
                    n: Annotated[int, typer.Option("--n", help=_("Base samples N, a power of 2; "
                                                   "N·(factors + 2) runs."))] = 256,
                    seed: Annotated[int | None, typer.Option(
                        "--seed", help=_("Random seed."))] = None,
                    boot: Annotated[int, typer.Option("--bootstrap", min=10,
                                                      help=_("Bootstrap resamples."))] = 500,
                    data_dir: DataDirOpt = None) -> None:
    from pmm.scoring.pipeline import write_csv
    from pmm.scoring.robustness import prepare, sensitivity

    model = prepare(spec, data_dir)
    table = sensitivity(model, n=n, seed=seed, n_boot=boot)
    _output_folder(out_dir)
    write_csv(table, out_dir / "sensitivity.csv")
    for row in table.itertuples():
        out.print(f"{row.factor:<20} S1 {row.S1:6.3f} [{row.S1_low:6.3f}, {row.S1_high:6.3f}]  "
                  f"ST {row.ST:6.3f} [{row.ST_low:6.3f}, {row.ST_high:6.3f}]")
    out.print(_("Wrote {file}").format(file=out_dir / "sensitivity.csv"))


@app.command("audit", help=_(
    "Statistical coherence and impact checks: correlations (Pearson and Spearman, with "
    "flags), collinear sibling pairs, Cronbach's alpha, PCA per group, drop-one-indicator "
    "impact and each unit's strengths and weaknesses."))
def audit_cmd(spec: SpecArg, out_dir: OutOpt, data_dir: DataDirOpt = None,
              top: Annotated[int, typer.Option("--top", min=1, help=_("Strengths and weaknesses "
                                                                      "per unit."))] = 5) -> None:
    from pmm.scoring import audit
    from pmm.scoring.pipeline import run_pipeline, write_csv

    res = run_pipeline(spec, data_dir)
    _output_folder(out_dir)
    tables = {
        **audit.coherence(res),
        "drop_one": audit.drop_one(res),
        "strengths_weaknesses": audit.strengths_weaknesses(res, top),
    }
    for name, df in tables.items():
        write_csv(df, out_dir / f"{name}.csv")
    flagged = tables["correlations_pearson"]
    n_flags = int((flagged["flag"] != "").sum()) if "flag" in flagged else 0
    out.print(_("{n} correlation flags, {m} collinear or negative sibling pairs").format(
        n=n_flags, m=len(tables["collinearity"])))
    out.print(ngettext("Wrote {n} file to {dir}", "Wrote {n} files to {dir}", len(tables))
              .format(n=format_number(len(tables)), dir=out_dir))
