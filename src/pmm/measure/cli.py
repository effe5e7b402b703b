"""`pmm measure`: verify microdata, Time Release Study, data items, synthetic microdata."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from pmm.errors import PmmError
from pmm.i18n import _
from pmm.measure import items as items_mod
from pmm.measure import saved
from pmm.measure import trs as trs_mod
from pmm.measure.generate import generate as generate_folder
from pmm.measure.microdata import Microdata
from pmm.measure.verify import verify as verify_folder
from pmm.terminal import console

app = typer.Typer(
    help=_("Measure from microdata: verify an extract, Time Release Study, data items, synthetic "
    "data."),
    no_args_is_help=True,
)
err = console(stderr=True)

EngineOpt = Annotated[str, typer.Option("--engine", help=_("duckdb (default) or spark."))]
MasterOpt = Annotated[str | None, typer.Option(
    "--spark-master", help=_("Spark master URL for a cluster (default: local[2])."))]
MemoryOpt = Annotated[str | None, typer.Option(
    "--memory-limit", help=_("DuckDB memory limit, e.g. 6GB; beyond it DuckDB spills to disk."))]
DirArg = Annotated[Path, typer.Argument(help=_("Folder of the microdata (Parquet or CSV)."))]


@contextmanager
def _steps() -> Iterator[callable]:  # type: ignore[valid-type]
    """A spinner naming the current step, on stderr, only when stderr is a terminal."""
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task(_("starting"), total=None)

        def step(message: str) -> None:
            progress.update(task, description=message)

        yield step


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def _hours(text: str | None) -> tuple[float, ...]:
    out = []
    for p in _split(text):
        try:
            out.append(float(p))
        except ValueError:
            raise PmmError(_("--within: {value!r} is not a number of hours").format(
                value=p)) from None
    return tuple(out)


def _tell_saved(md: Microdata) -> None:
    """Say on stderr that a saved verification stood in, so a run's log shows it."""
    if md.saved_note:
        typer.echo(md.saved_note, err=True)


@app.command("verify", help=_(
    "Check a microdata folder against the contract; exit 1 on errors. With --save, trs and items "
    "reuse this verification while the files are unchanged."))
def verify(
    folder: DirArg,
    save: Annotated[bool, typer.Option("--save", help=_(
        "Keep the verified declaration table in FOLDER/.pmm-verified.parquet (owner-only, as "
        "confidential as the microdata): trs and items then skip checking until a file "
        "changes."))] = False,
    memory_limit: MemoryOpt = None,
) -> None:
    with _steps() as step:
        report = verify_folder(folder, memory_limit=memory_limit, step=step, save=save)
    for line in report.lines():
        typer.echo(line)
    typer.echo(report.summary())
    if save and report.ok:
        typer.echo(_("saved: {path}").format(path=saved.path_of(folder)))
    if not report.ok:
        raise typer.Exit(1)


@app.command("trs", help=_(
    "Time Release Study: release-time statistics of import declarations released in T."))
def trs(
    folder: DirArg,
    year: Annotated[int, typer.Option("--year", help=_("Release year T (UTC)."))],
    start: Annotated[str, typer.Option("--from", help=_("Start milestone."))] = "arrival",
    end: Annotated[str, typer.Option("--to", help=_("End milestone."))] = "release",
    by: Annotated[str | None, typer.Option(
        "--by", help=_("Breakdown keys, comma-separated: {keys}").format(
            keys=", ".join(trs_mod.BY_KEYS)))] = None,
    within: Annotated[str, typer.Option(
        "--within", help=_("Hours for the 'released within' shares, comma-separated."))] = "24,48",
    segments: Annotated[bool, typer.Option(
        "--segments", help=_("Break the release process into segments and rank bottlenecks."))
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help=_("csv or json."))] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help=_("Write to a file, not stdout."))
                   ] = None,
    engine: EngineOpt = "duckdb",
    spark_master: MasterOpt = None,
    memory_limit: MemoryOpt = None,
) -> None:
    if fmt not in ("csv", "json"):
        raise PmmError(_("--format: {value!r}; expected csv or json").format(value=fmt))
    study = trs_mod.Study(year=year, start=start, end=end, by=_split(by), within=_hours(within))
    with _steps() as step, Microdata(folder, engine=engine, spark_master=spark_master,
                                     memory_limit=memory_limit, step=step) as md:
        if segments:
            rows, columns = trs_mod.segments(md, study), trs_mod.segment_columns(study)
        else:
            rows, columns = trs_mod.run(md, study), study.columns()
    _tell_saved(md)
    text = (trs_mod.to_csv if fmt == "csv" else trs_mod.to_json)(rows, columns, study.key_columns())
    if out:
        out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    else:
        typer.echo(text, nl=not text.endswith("\n"))


@app.command("items", help=_(
    "Write every data item the microdata give, for T and T-1, as a submission CSV."))
def items(
    folder: DirArg,
    year: Annotated[int, typer.Option("--year", help=_("Reporting year T."))],
    out: Annotated[Path, typer.Option("--out", help=_("Submission CSV to write."))],
    engine: EngineOpt = "duckdb",
    spark_master: MasterOpt = None,
    memory_limit: MemoryOpt = None,
) -> None:
    with _steps() as step, Microdata(folder, engine=engine, spark_master=spark_master,
                                     memory_limit=memory_limit, step=step) as md:
        rows = items_mod.measure(md, year)
    _tell_saved(md)
    items_mod.write_csv(rows, out)
    reported = sum(r.status == "reported" for r in rows)
    typer.echo(_("{out}: {n} data-item rows ({reported} reported, {na} not available) for {years}"
                 ).format(out=out, n=len(rows), reported=reported, na=len(rows) - reported,
                          years=", ".join(str(y) for y in sorted({r.year for r in rows}))))


@app.command("generate", help=_(
    "Write synthetic microdata with documented distributions (see "
    "docs/microdata-contract.md)."))
def generate(
    declarations: Annotated[int, typer.Option("--declarations", help=_("Number of declarations."))],
    year: Annotated[int, typer.Option("--year", help=_("Year T; data cover T-1 and T."))],
    out: Annotated[Path, typer.Option("--out", help=_("New folder to write."))],
    seed: Annotated[int, typer.Option("--seed", help=_("Random seed."))] = 1,
    fmt: Annotated[str, typer.Option("--format", help=_("parquet or csv."))] = "parquet",
    utc_offset: Annotated[str, typer.Option(
        "--utc-offset",
        help=_("Local offset of the timestamps written to CSV/Parquet."))] = "+03:00",
) -> None:
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err, transient=True,
                  disable=not err.is_terminal) as progress:
        task = progress.add_task(_("declarations"), total=declarations)
        counts = generate_folder(declarations, year, out, seed=seed, fmt=fmt,
                                 utc_offset=utc_offset,
                                 progress=lambda n: progress.advance(task, n))
    typer.echo(_("{out}: {rows}").format(
        out=out, rows=", ".join(f"{name} {n:,}" for name, n in counts.items())))
