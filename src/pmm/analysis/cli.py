"""`pmm benchmark`, `pmm gaps`, `pmm secretariat ...`, `pmm sdg`, `pmm trends`, `pmm whatif`.

Thin shells over `pmm.analysis.api`: each reads the cycle from the database, passes everything
through the disclosure policy for the viewer given with `--viewer`, and prints a table as CSV,
JSON or a terminal table. Where scores appear, the label "Computed by customs-pmm ...; not an
official WCO rating" is printed too (on stderr for CSV and JSON, so the data stays clean).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from pmm.errors import PmmError
from pmm.i18n import _, column, format_decimal, label
from pmm.store.cli import DatabaseUrl

if TYPE_CHECKING:
    import pandas as pd

    from pmm.analysis.disclosure import Viewer
    from pmm.analysis.sdc import Rules

# The analysis modules (pandas, scipy) are imported inside the commands: only when used.
MEMBER_KINDS = ("ncp", "member_viewer")

app = typer.Typer()
secretariat_app = typer.Typer(help=_("Secretariat views: participation, coverage, demand."),
                              no_args_is_help=True)
app.add_typer(secretariat_app, name="secretariat")

FORMATS = ("csv", "json", "table")
CycleYear = Annotated[int, typer.Option("--cycle", help=_("The cycle, by its reporting year T."))]
Format = Annotated[str, typer.Option("--format", help=_("csv, json or table."))]
By = Annotated[str, typer.Option(
    "--by", help=_("Peer grouping: region, income, geography, admin_type, size (or custom with "
                   "--groups)."))]
ViewerOption = Annotated[str, typer.Option(
    "--viewer", help=_("Who is looking: public, working_body, wco, secretariat, member:ISO3, "
                       "viewer:ISO3 or reviewer:USER."))]
MinN = Annotated[int, typer.Option("--min-n", help=_("Minimum members behind a group statistic."))]
Dominance = Annotated[float, typer.Option(
    "--dominance", help=_("p of the p% dominance rule (0 turns it off)."))]
Protection = Annotated[float, typer.Option(
    "--protection", help=_("No hidden value may be confined to an interval narrower than this % "
                           "of its magnitude."))]
MemberOption = Annotated[str, typer.Option("--member",
                                           help=_("ISO 3166-1 alpha-3 code, e.g. KEN."))]


def _api():  # the api module, imported on first use
    from pmm.analysis import api

    return api


def _viewer(text: str) -> Viewer:
    from pmm.analysis.disclosure import parse_viewer

    return parse_viewer(text)


def _check_by(by: str) -> str:
    from pmm.analysis.groups import check_by

    return check_by(by)


def _label() -> str:
    return _("Computed by customs-pmm with the documented method; not an official WCO rating.")


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise PmmError(_("--format {value!r}: expected one of {expected}").format(
            value=fmt, expected=", ".join(FORMATS)))
    return fmt


def _rules(min_n: int, dominance: float, protection: float = 1.0) -> Rules:
    from pmm.analysis.sdc import Rules

    return Rules(min_n=min_n, dominance_p=dominance, protection_p=protection)


def _cell(value: object) -> object:
    import numpy as np

    if isinstance(value, float | np.floating):
        return None if not math.isfinite(value) else round(float(value), 4)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


# columns whose values are codes, shown as words of the call's language in a table
CODED = {"status", "level", "state", "kind", "gap", "disclosure", "direction", "unit", "role",
         "group", "grouping"}


def _shown(value: object, name: str = "") -> str:
    """A cell as a person reads it in a table: decimals in the call's locale (`73,5` in French),
    codes as words (`not_available` → « non disponible »); whole numbers such as years as they
    are. CSV and JSON keep the codes."""
    if value is None:
        return ""
    if isinstance(value, bool) or name in CODED:
        return label(value)
    if isinstance(value, float):
        return format_decimal(value, 4)
    return str(value)


def emit(frame: pd.DataFrame, fmt: str, columns: list[str], *, title: str = "",
         scores: bool = False) -> None:
    """Print `frame[columns]` as CSV, JSON or a table; with the scores label if `scores`."""
    import pandas as pd

    from pmm.conventions import neutralise

    out = frame[columns]
    records = [{c: _cell(v) for c, v in zip(columns, row, strict=True)}
               for row in out.itertuples(index=False, name=None)]
    err = Console(stderr=True)
    if fmt == "json":
        typer.echo(json.dumps(records, ensure_ascii=False, indent=1))
    elif fmt == "csv":
        safe = pd.DataFrame([{c: neutralise(v) for c, v in r.items()} for r in records],
                            columns=columns)
        for c in safe.columns:
            if safe[c].dtype == bool:
                safe[c] = safe[c].map({True: "true", False: "false"})
        typer.echo(safe.to_csv(index=False), nl=False)
    else:
        console = Console(width=200)
        table = Table(title=title or None, title_justify="left")
        for c in columns:
            table.add_column(column(c), overflow="fold")
        for r in records:
            table.add_row(*(_shown(r[c], c) for c in columns))
        console.print(table)
    if scores:
        if fmt == "table":
            typer.echo(_label())
        else:
            err.print(_label(), markup=False, highlight=False, soft_wrap=True)


def _groups_file(by: str, groups: Path | None) -> dict[str, list[str]] | None:
    if by == "custom":
        if groups is None:
            raise PmmError(_("--by custom needs --groups FILE (a CSV with group,iso3 or a YAML "
                             "mapping of group to ISO codes)"))
        from pmm.members import load_groups

        return load_groups(groups)
    if groups is not None:
        raise PmmError(_("--groups FILE goes with --by custom"))
    return None


@app.command("score", help=_(
    "Scores of every KPI, outcome and dimension, with the reason where none can be given.\n\n"
    "Writes member, level, code, value, score (0–100), grade (for banded KPIs), status and "
    "reason, for the values the viewer may see. The method is in "
    "docs/methodology-scoring.md."))
def score_cmd(
    cycle: CycleYear,
    member: Annotated[str | None, typer.Option(
        "--member", help=_("Only this member (ISO3); its draft is scored too."))] = None,
    viewer: ViewerOption = "secretariat",
    fmt: Format = "csv",
    database_url: DatabaseUrl = None,
) -> None:
    _check_format(fmt)
    frame = _api().scores(cycle, _viewer(viewer), member=member, database_url=database_url)
    emit(frame, fmt, list(frame.columns), title=_("Scores {cycle}").format(cycle=cycle),
         scores=True)


@app.command("benchmark", help=_(
    "Peer-group statistics (n, mean, median, quartiles) the viewer may receive."))
def benchmark_cmd(
    cycle: CycleYear,
    kpi: Annotated[str | None, typer.Option("--kpi", help=_("One KPI (or score) code."))] = None,
    by: By = "region",
    viewer: ViewerOption = "public",
    scores: Annotated[bool, typer.Option(
        "--scores", help=_("Benchmark outcome and dimension scores instead of KPI values."))]
    = False,
    groups: Annotated[Path | None, typer.Option(
        "--groups", help=_("User-defined groups (with --by custom)."))] = None,
    min_n: MinN = 3,
    dominance: Dominance = 10.0,
    protection: Protection = 1.0,
    breakdowns: Annotated[bool, typer.Option(
        "--breakdowns", help=_("Also the KPIs' variants and breakdowns (e.g. by flow)."))] = False,
    all_columns: Annotated[bool, typer.Option("--all-columns", help=_("Every column."))] = False,
    fmt: Format = "csv",
    database_url: DatabaseUrl = None,
) -> None:
    _check_format(fmt)
    _check_by(by)
    who = _viewer(viewer)
    custom = _groups_file(by, groups)
    levels = ("outcome", "dimension") if scores else ("kpi",)
    frame = _api().benchmarks(cycle, who, by=by, kpi=kpi, levels=levels,
                              headline=not breakdowns,
                              rules=_rules(min_n, dominance, protection), custom=custom,
                              database_url=database_url)
    frame = frame[frame["grouping"].isin([by, "global"])]
    if all_columns:
        columns = list(frame.columns)
    else:
        columns = (["level", "kpi"] if scores else ["kpi"]) + (
            ["variant", "breakdown"] if breakdowns else []) + [
            "group", "n", "mean", "median", "q1", "q3", "suppressed", "reason"]
        if who.kind in MEMBER_KINDS:
            columns.insert(columns.index("suppressed"), "position")
    emit(frame, fmt, columns, title=_("Benchmarks {cycle}, by {by}, for {viewer}").format(
        cycle=cycle, by=by, viewer=who.label), scores=scores)


GAP_COLUMNS = ["rank", "kpi", "kpi_name", "outcome", "gap", "value", "reference", "unit",
               "score", "severity", "priority", "evidence", "tools", "tool_names",
               "working_bodies", "support", "support_names"]


@app.command("gaps", help=_(
    "A member's gaps, ranked by severity and weight: its capacity-building plan."))
def gaps_cmd(
    cycle: CycleYear,
    member: MemberOption,
    viewer: Annotated[str | None, typer.Option(
        "--viewer", help=_("Who is looking (default: the member itself, member:ISO3)."))] = None,
    by: By = "region",
    support: Annotated[Path | None, typer.Option(
        "--support", help=_("A capacity-building support catalogue of one's own (YAML)."))] = None,
    summary: Annotated[bool, typer.Option(
        "--summary", help=_("The plan per support type instead of per gap."))] = False,
    min_n: MinN = 3,
    dominance: Dominance = 10.0,
    protection: Protection = 1.0,
    fmt: Format = "table",
    database_url: DatabaseUrl = None,
) -> None:
    _check_format(fmt)
    _check_by(by)
    if by == "custom":
        raise PmmError(_("--by custom: gaps compare with a standard peer grouping"))
    who = _viewer(viewer) if viewer else None
    frame = _api().member_gaps(cycle, member, who, by=by,
                               rules=_rules(min_n, dominance, protection),
                            support_path=support, database_url=database_url)
    if summary:
        from pmm.analysis.gaps import plan_by_support
        from pmm.analysis.load import load_cycle
        from pmm.analysis.support import load_support

        fw = load_cycle(cycle, database_url).fw
        plan = plan_by_support(frame, load_support(support, fw=fw))
        emit(plan, fmt, list(plan.columns), title=_("Capacity-building plan of {member}, {cycle}, "
                                                    "by support type").format(member=member.upper(),
                                                                              cycle=cycle))
        return
    if fmt == "table":
        _print_plan(frame, member.upper(), cycle)
        typer.echo(_label())
        return
    emit(frame, fmt, GAP_COLUMNS, scores=True)


def _print_plan(frame: pd.DataFrame, member: str, cycle: int) -> None:
    console = Console(width=110)
    console.print(_("Capacity-building plan of {member}, cycle {cycle}: {n} gaps, highest "
                    "priority first").format(member=member, cycle=cycle, n=len(frame)),
                  markup=False, highlight=False)
    for row in frame.itertuples(index=False):
        console.print(f"\n{row.rank}. {row.kpi} {row.kpi_name} — " + _(
            "{gap} gap (severity {severity}, priority {priority})").format(
            gap=_(row.gap), severity=format_decimal(row.severity, 2, fixed=True),
            priority=format_decimal(row.priority, 2, fixed=True)),
            markup=False, highlight=False)
        console.print("   " + _("Evidence: {text}").format(text=row.evidence), markup=False,
                      highlight=False)
        console.print("   " + _("Tools: {tools}").format(tools=row.tool_names or "–"),
                      markup=False, highlight=False)
        console.print("   " + _("Support: {support}").format(support=row.support_names or "–"),
                      markup=False, highlight=False)


@secretariat_app.command("participation", help=_(
    "Invited, started, submitted and validated members by region and income group."))
def participation_cmd(cycle: CycleYear, viewer: ViewerOption = "secretariat",
                      min_n: MinN = 3, fmt: Format = "csv",
                      database_url: DatabaseUrl = None) -> None:
    _check_format(fmt)
    frame = _api().participation(cycle, _viewer(viewer), rules=_rules(min_n, 10.0),
                              database_url=database_url)
    emit(frame, fmt, list(frame.columns), title=_("Participation in {cycle}").format(
        cycle=cycle))


@secretariat_app.command("coverage", help=_(
    "How many validated members reported each KPI, and why the others did not."))
def coverage_cmd(cycle: CycleYear, viewer: ViewerOption = "secretariat", fmt: Format = "csv",
                 database_url: DatabaseUrl = None) -> None:
    _check_format(fmt)
    frame = _api().coverage(cycle, _viewer(viewer), database_url=database_url)
    emit(frame, fmt, list(frame.columns), title=_("KPI coverage in {cycle}").format(cycle=cycle))


@secretariat_app.command("demand", help=_(
    "Capacity-building demand by WCO region and outcome (from every validated member's "
    "gaps)."))
def demand_cmd(cycle: CycleYear, viewer: ViewerOption = "secretariat", by: By = "region",
               support: Annotated[Path | None, typer.Option("--support")] = None,
               fmt: Format = "csv", database_url: DatabaseUrl = None) -> None:
    _check_format(fmt)
    _check_by(by)
    frame, _gaps = _api().demand(cycle, _viewer(viewer), by=by, support_path=support,
                              database_url=database_url)
    emit(frame, fmt, list(frame.columns), title=_("Capacity-building demand in {cycle}").format(
        cycle=cycle))


@app.command("sdg", help=_("Outcome scores rolled up to the SDG targets and goals they map to."))
def sdg_cmd(cycle: CycleYear,
            member: Annotated[str | None, typer.Option(
                "--member", help=_("One member's SDG scores (default: group aggregates)."))] = None,
            by: By = "region", viewer: ViewerOption = "public", min_n: MinN = 3,
            dominance: Dominance = 10.0, protection: Protection = 1.0, fmt: Format = "csv",
            database_url: DatabaseUrl = None) -> None:
    _check_format(fmt)
    _check_by(by)
    frame = _api().sdg(cycle, _viewer(viewer), member=member, by=by,
                    rules=_rules(min_n, dominance, protection), database_url=database_url)
    if member is None:
        frame = frame[frame["grouping"].isin([by, "global"])]
        columns = ["level", "kpi", "group", "n", "mean", "median", "q1", "q3", "suppressed",
                   "reason"]
        frame = frame.rename(columns={"kpi": "sdg"})
        columns[1] = "sdg"
    else:
        columns = ["member", "level", "code", "value", "outcomes", "status", "reason"]
    emit(frame, fmt, columns, title=_("SDG contribution, {cycle}").format(cycle=cycle),
         scores=True)


@app.command("trends", help=_(
    "Change between two cycles, flagged where the framework broke comparability."))
def trends_cmd(cycle: CycleYear,
               since: Annotated[int | None, typer.Option(
                   "--since", help=_("The earlier cycle (default: the previous one)."))] = None,
               member: Annotated[str | None, typer.Option(
                   "--member", help=_("One member's changes (default: per group)."))] = None,
               by: By = "region", viewer: ViewerOption = "public",
               scores: Annotated[bool, typer.Option(
                   "--scores", help=_("Outcome and dimension scores instead of KPI values."))]
               = False,
               min_n: MinN = 3, dominance: Dominance = 10.0, protection: Protection = 1.0,
               fmt: Format = "csv", database_url: DatabaseUrl = None) -> None:
    _check_format(fmt)
    _check_by(by)
    levels = ("outcome", "dimension") if scores else ("kpi",)
    frame = _api().trends(cycle, _viewer(viewer), since=since, member=member, by=by,
                       levels=levels, rules=_rules(min_n, dominance, protection),
                       database_url=database_url)
    if member is None:
        frame = frame[frame["grouping"].isin([by, "global"])]
        columns = ["level", "kpi", "group", "cycle_from", "cycle_to", "mean_from", "mean_to",
                   "change_mean", "median_from", "median_to", "change_median", "comparable",
                   "suppressed", "reason"]
    else:
        columns = ["member", "level", "code", "cycle_from", "cycle_to", "value_from", "value_to",
                   "change", "better", "comparable", "reason"]
    emit(frame, fmt, columns, title=_("Trends {since} to {cycle}").format(
        since=since or "", cycle=cycle), scores=scores)


@app.command("whatif", help=_(
    "Change some of a member's values and see its scores and gaps move; nothing is saved."))
def whatif_cmd(cycle: CycleYear, member: MemberOption,
               set_: Annotated[list[str], typer.Option(
                   "--set", help=_("CODE=VALUE: a KPI code, or a data item as in formulas "
                                   "(declarations{flow=IM}, aeo_count[T-1]). Repeatable."))],
               viewer: Annotated[str | None, typer.Option(
                   "--viewer", help=_("Who is looking (default: member:ISO3)."))] = None,
               show: Annotated[str, typer.Option(
                   "--show", help=_("effect (values and scores) or gaps (before and after)."))]
               = "effect",
               every: Annotated[bool, typer.Option("--all", help=_("Unchanged rows too."))] = False,
               fmt: Format = "csv", database_url: DatabaseUrl = None) -> None:
    _check_format(fmt)
    if show not in ("effect", "gaps"):
        raise PmmError(_("--show {value!r}: expected effect or gaps").format(value=show))
    who = _viewer(viewer) if viewer else None
    result = _api().whatif(cycle, member, list(set_), who, database_url=database_url)
    if show == "effect":
        frame = result.effect if every else result.effect[result.effect["changed"]]
        emit(frame, fmt, ["member", "level", "code", "before", "after", "change"],
             title=_("What-if for {member}, {cycle} (not saved)").format(
                 member=member.upper(), cycle=cycle), scores=True)
        return
    emit(compare_gaps(result.gaps_before, result.gaps_after), fmt,
         ["kpi", "gap", "priority_before", "priority_after", "change"],
         title=_("Gaps before and after the what-if"), scores=True)


def compare_gaps(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Gaps side by side: priority before and after (0 where a gap is closed or new)."""
    import numpy as np
    import pandas as pd

    key = ["kpi", "gap"]
    b = before[[*key, "priority"]] if len(before) else pd.DataFrame(columns=[*key, "priority"])
    a = after[[*key, "priority"]] if len(after) else pd.DataFrame(columns=[*key, "priority"])
    both = b.merge(a, on=key, how="outer", suffixes=("_before", "_after"))
    both[["priority_before", "priority_after"]] = both[
        ["priority_before", "priority_after"]].astype(float).fillna(0.0)
    both["change"] = np.where(both["priority_before"] == 0, "new",
                              np.where(both["priority_after"] == 0, "closed",
                                       np.where(np.isclose(both["priority_before"],
                                                           both["priority_after"]),
                                                "same", "changed")))
    return both.sort_values(["priority_after", "priority_before"], ascending=False) \
        .reset_index(drop=True)

