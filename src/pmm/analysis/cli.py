"""`pmm score|benchmark|gaps|sdg|trends|whatif`, `pmm secretariat ...`, `pmm release ...`.

Thin shells over `pmm.analysis.api` and `pmm.analysis.release`: each command opens one
transaction, acts as the user named by `--as` (or PMM_USER), and prints a table as CSV, JSON or a
terminal table. Anyone but the Secretariat reads other members' data from the cycle's latest
release. Where scores appear, the label "Computed by customs-pmm ...; not an official WCO rating"
is printed too (on stderr for CSV and JSON, so the data stays clean).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from pmm.errors import PmmError
from pmm.i18n import _, column, format_decimal, label
from pmm.store.cli import DatabaseUrl
from pmm.store.engine import transaction
from pmm.terminal import console

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.orm import Session

    from pmm.access import Principal

# The analysis modules (pandas, scipy) are imported inside the commands: only when used.

app = typer.Typer()
secretariat_app = typer.Typer(help=_("Secretariat views: participation, coverage, demand."),
                              no_args_is_help=True)
app.add_typer(secretariat_app, name="secretariat")
release_app = typer.Typer(help=_("Releases of a cycle: create, list, show, diff, withdraw, and "
                                 "the disclosure-control configuration."), no_args_is_help=True)
app.add_typer(release_app, name="release")

FORMATS = ("csv", "json", "table")
CycleYear = Annotated[int, typer.Option("--cycle", help=_("The cycle, by its reporting year T."))]
Format = Annotated[str, typer.Option("--format", help=_("csv, json or table."))]
By = Annotated[str, typer.Option(
    "--by", help=_("Peer grouping: region, income, geography, admin_type, size (or custom with "
                   "--groups)."))]
# The commands other than benchmark compare with the standard groupings only.
StandardBy = Annotated[str, typer.Option(
    "--by", help=_("Peer grouping: region, income, geography, admin_type or size."))]
As = Annotated[str | None, typer.Option(
    "--as", envvar="PMM_USER", show_envvar=True,
    help=_("The user looking (see pmm user list): what you get is what this user may see."))]
MemberOption = Annotated[str, typer.Option("--member",
                                           help=_("ISO 3166-1 alpha-3 code, e.g. KEN."))]


def _api():  # the api module, imported on first use
    from pmm.analysis import api

    return api


def principal(session: Session, username: str | None) -> Principal:
    """The user named by --as (or PMM_USER); without one, a refusal that says how to name one."""
    from pmm.store.cli import acting

    return acting(session, username)


def _check_by(by: str, custom: bool = True) -> str:
    from pmm.analysis.groups import STANDARD, check_by

    if by == "custom" and not custom:  # else the command would quietly show the global rows only
        raise PmmError(_("--by custom: user-defined groups are compared by pmm benchmark only; "
                         "expected one of {expected}").format(expected=", ".join(STANDARD)))
    return check_by(by)


def _label() -> str:
    return _("Computed by customs-pmm with the documented method; not an official WCO rating.")


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise PmmError(_("--format {value!r}: expected one of {expected}").format(
            value=fmt, expected=", ".join(FORMATS)))
    return fmt


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
    err = console(stderr=True)
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
        out = console(width=200, soft_wrap=False)
        table = Table(title=title or None, title_justify="left")
        for c in columns:
            table.add_column(column(c), overflow="fold")
        for r in records:
            table.add_row(*(_shown(r[c], c) for c in columns))
        out.print(table)
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
    "reason, for the values the user may see; anyone but the Secretariat gets relative scores "
    "computed among those values only. The method is in docs/methodology-scoring.md."))
def score_cmd(
    cycle: CycleYear,
    member: Annotated[str | None, typer.Option(
        "--member", help=_("Only this member (ISO3); its draft is scored too."))] = None,
    actor: As = None,
    fmt: Format = "csv",
    database_url: DatabaseUrl = None,
) -> None:
    _check_format(fmt)
    with transaction(database_url) as session:
        frame = _api().scores(session, principal(session, actor), cycle, member=member)
    emit(frame, fmt, list(frame.columns), title=_("Scores {cycle}").format(cycle=cycle),
         scores=True)


@app.command("benchmark", help=_(
    "Peer-group statistics (n, mean, median, quartiles) the user may receive: the latest "
    "release's, for anyone but the Secretariat."))
def benchmark_cmd(
    cycle: CycleYear,
    kpi: Annotated[str | None, typer.Option("--kpi", help=_("One KPI (or score) code."))] = None,
    by: By = "region",
    actor: As = None,
    scores: Annotated[bool, typer.Option(
        "--scores", help=_("Benchmark outcome and dimension scores instead of KPI values."))]
    = False,
    groups: Annotated[Path | None, typer.Option(
        "--groups", help=_("User-defined groups (with --by custom)."))] = None,
    breakdowns: Annotated[bool, typer.Option(
        "--breakdowns", help=_("Also the KPIs' variants and breakdowns (e.g. by flow)."))] = False,
    all_columns: Annotated[bool, typer.Option("--all-columns", help=_("Every column."))] = False,
    fmt: Format = "csv",
    database_url: DatabaseUrl = None,
) -> None:
    _check_format(fmt)
    _check_by(by)
    custom = _groups_file(by, groups)
    levels = ("outcome", "dimension") if scores else ("kpi",)
    with transaction(database_url) as session:
        who = principal(session, actor)
        frame = _api().benchmarks(session, who, cycle, by=by, kpi=kpi, levels=levels,
                                  headline=not breakdowns, custom=custom)
    frame = frame[frame["grouping"].isin([by, "global"])]
    if all_columns:
        columns = list(frame.columns)
    else:
        columns = (["level", "kpi"] if scores else ["kpi"]) + (
            ["variant", "breakdown"] if breakdowns else []) + [
            "group", "n", "mean", "median", "q1", "q3", "suppressed", "reason"]
        if who.member is not None:
            columns.insert(columns.index("suppressed"), "position")
    emit(frame, fmt, columns, title=_("Benchmarks {cycle}, by {by}, for {user}").format(
        cycle=cycle, by=by, user=who.label), scores=scores)


GAP_COLUMNS = ["rank", "kpi", "kpi_name", "outcome", "gap", "value", "reference", "unit",
               "score", "severity", "priority", "evidence", "tools", "tool_names",
               "working_bodies", "support", "support_names"]


@app.command("gaps", help=_(
    "A member's gaps, ranked by severity and weight: its capacity-building plan."))
def gaps_cmd(
    cycle: CycleYear,
    member: MemberOption,
    actor: As = None,
    by: StandardBy = "region",
    support: Annotated[Path | None, typer.Option(
        "--support", help=_("A capacity-building support catalogue of one's own (YAML)."))] = None,
    summary: Annotated[bool, typer.Option(
        "--summary", help=_("The plan per support type instead of per gap."))] = False,
    fmt: Format = "table",
    database_url: DatabaseUrl = None,
) -> None:
    _check_format(fmt)
    _check_by(by)
    if by == "custom":
        raise PmmError(_("--by custom: gaps compare with a standard peer grouping"))
    with transaction(database_url) as session:
        frame = _api().member_gaps(session, principal(session, actor), cycle, member, by=by,
                                   support_path=support)
        if summary:
            from pmm.analysis.gaps import plan_by_support
            from pmm.analysis.load import load_cycle
            from pmm.analysis.support import load_support

            fw = load_cycle(session, cycle).fw
    if summary:
        plan = plan_by_support(frame, load_support(support, fw=fw))
        emit(plan, fmt, list(plan.columns), title=_("Capacity-building plan of {member}, "
                                                    "{cycle}, by support type").format(
            member=member.upper(), cycle=cycle))
        return
    if fmt == "table":
        _print_plan(frame, member.upper(), cycle)
        typer.echo(_label())
        return
    emit(frame, fmt, GAP_COLUMNS, scores=True)


def _print_plan(frame: pd.DataFrame, member: str, cycle: int) -> None:
    out = console(width=110, soft_wrap=False)
    out.print(_("Capacity-building plan of {member}, cycle {cycle}: {n} gaps, highest "
                    "priority first").format(member=member, cycle=cycle, n=len(frame)))
    for row in frame.itertuples(index=False):
        out.print(f"\n{row.rank}. {row.kpi} {row.kpi_name} — " + _(
            "{gap} gap (severity {severity}, priority {priority})").format(
            gap=_(row.gap), severity=format_decimal(row.severity, 2, fixed=True),
            priority=format_decimal(row.priority, 2, fixed=True)))
        out.print("   " + _("Evidence: {text}").format(text=row.evidence))
        out.print("   " + _("Tools: {tools}").format(tools=row.tool_names or "–"))
        out.print("   " + _("Support: {support}").format(support=row.support_names or "–"))


@secretariat_app.command("participation", help=_(
    "Invited, started, submitted and validated members by region and income group."))
def participation_cmd(cycle: CycleYear, actor: As = None, fmt: Format = "csv",
                      database_url: DatabaseUrl = None) -> None:
    _check_format(fmt)
    with transaction(database_url) as session:
        frame = _api().participation(session, principal(session, actor), cycle)
    emit(frame, fmt, list(frame.columns), title=_("Participation in {cycle}").format(
        cycle=cycle))


@secretariat_app.command("coverage", help=_(
    "How many validated members reported each KPI, and why the others did not."))
def coverage_cmd(cycle: CycleYear, actor: As = None, fmt: Format = "csv",
                 database_url: DatabaseUrl = None) -> None:
    _check_format(fmt)
    with transaction(database_url) as session:
        frame = _api().coverage(session, principal(session, actor), cycle)
    emit(frame, fmt, list(frame.columns), title=_("KPI coverage in {cycle}").format(cycle=cycle))


@secretariat_app.command("demand", help=_(
    "Capacity-building demand by WCO region and outcome (from every validated member's "
    "gaps)."))
def demand_cmd(cycle: CycleYear, actor: As = None, by: StandardBy = "region",
               support: Annotated[Path | None, typer.Option(
                   "--support",
                   help=_("A capacity-building support catalogue of one's own (YAML)."))] = None,
               across: Annotated[str, typer.Option(
                   "--across", help=_("Aggregate by WCO region or by income group: region or "
                                      "income."))] = "region",
               fmt: Format = "csv", database_url: DatabaseUrl = None) -> None:
    _check_format(fmt)
    _check_by(by, custom=False)
    with transaction(database_url) as session:
        frame, _gaps = _api().demand(session, principal(session, actor), cycle, by=by,
                                     support_path=support, across=across)
    emit(frame, fmt, list(frame.columns), title=_("Capacity-building demand in {cycle}").format(
        cycle=cycle))


@app.command("sdg", help=_("Outcome scores rolled up to the SDG targets and goals they map to."))
def sdg_cmd(cycle: CycleYear,
            member: Annotated[str | None, typer.Option(
                "--member", help=_("One member's SDG scores (default: group aggregates)."))] = None,
            by: StandardBy = "region", actor: As = None, fmt: Format = "csv",
            database_url: DatabaseUrl = None) -> None:
    _check_format(fmt)
    _check_by(by, custom=False)
    with transaction(database_url) as session:
        frame = _api().sdg(session, principal(session, actor), cycle, member=member, by=by)
    if member is None:
        frame = frame[frame["grouping"].isin([by, "global"])]
        columns = ["level", "sdg", "group", "n", "mean", "median", "q1", "q3", "suppressed",
                   "reason"]
        frame = frame.rename(columns={"kpi": "sdg"})
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
               by: StandardBy = "region", actor: As = None,
               scores: Annotated[bool, typer.Option(
                   "--scores", help=_("Outcome and dimension scores instead of KPI values."))]
               = False,
               fmt: Format = "csv", database_url: DatabaseUrl = None) -> None:
    _check_format(fmt)
    _check_by(by, custom=False)
    levels = ("outcome", "dimension") if scores else ("kpi",)
    with transaction(database_url) as session:
        frame = _api().trends(session, principal(session, actor), cycle, since=since,
                              member=member, by=by, levels=levels)
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
               actor: As = None,
               show: Annotated[str, typer.Option(
                   "--show", help=_("effect (values and scores) or gaps (before and after)."))]
               = "effect",
               every: Annotated[bool, typer.Option("--all", help=_("Unchanged rows too."))] = False,
               fmt: Format = "csv", database_url: DatabaseUrl = None) -> None:
    _check_format(fmt)
    if show not in ("effect", "gaps"):
        raise PmmError(_("--show {value!r}: expected effect or gaps").format(value=show))
    with transaction(database_url) as session:
        result = _api().whatif(session, principal(session, actor), cycle, member, list(set_))
    if show == "effect":
        frame = result.effect if every else result.effect[result.effect["changed"]]
        emit(frame, fmt, ["member", "level", "code", "before", "after", "change"],
             title=_("What-if for {member}, {cycle} (not saved)").format(
                 member=member.upper(), cycle=cycle), scores=True)
        return
    emit(compare_gaps(result.gaps_before, result.gaps_after), fmt,
         ["kpi", "gap", "priority_before", "priority_after", "change"],
         title=_("Gaps before and after the what-if"), scores=True)


# ---------------------------------------------------------------- demo


@app.command("demo", help=_(
    "Seed the database with members' users, two cycles (2022, 2024), their submissions and a "
    "release of each cycle."))
def demo(
    members: Annotated[int, typer.Option("--members", help=_("Participants of the 2024 cycle."))]
    = 90,
    seed: Annotated[int, typer.Option(
        "--seed", help=_("Seed of the random generator: the same seed gives the same data."))]
    = 2024,
    database_url: DatabaseUrl = None,
) -> None:
    # The demo seeds a whole platform; without a release it would show members nothing about
    # each other. Seeding is the assessment's; releasing is this layer's, so it is done here.
    from pmm.analysis import release
    from pmm.assessment.demo import seed_demo
    from pmm.store.users import principal_for

    summary = seed_demo(database_url, participants_2024=members, seed=seed)
    released = []
    with transaction(database_url) as session:
        who = principal_for(session, "secretariat")
        for year in (2022, 2024):
            rel = release.create(session, who, year)
            released.append((year, release.counts(session, rel).get("public_released", 0)))
    # the releases go before the users (the summary's heading of users, in the same language)
    heading = _("Users (password for all: {pw}):").split("{")[0]
    users = next((i for i, line in enumerate(summary) if line.startswith(heading)), len(summary))
    for line in summary[:users]:
        typer.echo(line)
    for year, n in released:
        typer.echo(_("  release 1 of cycle {year}: {n} statistics released to the public")
                   .format(year=year, n=n))
    for line in summary[users:]:
        typer.echo(line)


# ---------------------------------------------------------------- releases

ReleaseNumber = Annotated[int, typer.Argument(help=_("The release's number within the cycle."))]


@release_app.command("create", help=_(
    "Audit and freeze the next release of a cycle: the values as validated, the framework, the "
    "disclosure-control configuration and every statistic released to each audience."))
def release_create(cycle: CycleYear, actor: As = None, database_url: DatabaseUrl = None) -> None:
    from pmm.analysis import release

    with transaction(database_url) as session:
        rel = release.create(session, principal(session, actor), cycle)
        counts = release.counts(session, rel)
    typer.echo(_("Release {number} of cycle {cycle}: {members} validated members; public: "
                 "{pr} statistics released, {pw} withheld; WCO level: {wr} released, "
                 "{ww} withheld.").format(
        number=rel.number, cycle=cycle, members=rel.members,
        pr=counts.get("public_released", 0), pw=counts.get("public_withheld", 0),
        wr=counts.get("wco_released", 0), ww=counts.get("wco_withheld", 0)))


@release_app.command("list", help=_("The releases (of one cycle, or of all)."))
def release_list(cycle: Annotated[int | None, typer.Option(
                     "--cycle", help=_("The cycle, by its reporting year T."))] = None,
                 actor: As = None, fmt: Format = "table",
                 database_url: DatabaseUrl = None) -> None:
    import pandas as pd

    from pmm.analysis import release

    _check_format(fmt)
    with transaction(database_url) as session:
        principal(session, actor)
        rows = [_release_row(year, r) for year, r in release.releases(session, cycle)]
    frame = pd.DataFrame(rows, columns=RELEASE_COLUMNS)
    emit(frame, fmt, RELEASE_COLUMNS, title=_("Releases"))


RELEASE_COLUMNS = ["cycle", "number", "state", "members", "framework", "min_n", "dominance",
                   "protection", "created_at", "created_by", "withdrawn_at", "reason"]


def _release_row(year: int, r: object) -> dict:
    return {"cycle": year, "number": r.number,
            "state": "withdrawn" if r.withdrawn_at else "active", "members": r.members,
            "framework": r.framework_id, "min_n": r.min_n, "dominance": r.dominance_p,
            "protection": r.protection_p, "created_at": r.created_at.isoformat(),
            "created_by": r.created_by,
            "withdrawn_at": r.withdrawn_at.isoformat() if r.withdrawn_at else "",
            "reason": r.withdraw_reason}


@release_app.command("show", help=_(
    "One release: what it froze, and how many statistics each audience receives."))
def release_show(cycle: CycleYear, number: Annotated[int | None, typer.Argument(
                     help=_("The release's number (default: the latest)."))] = None,
                 actor: As = None, database_url: DatabaseUrl = None) -> None:
    from pmm.analysis import release

    with transaction(database_url) as session:
        principal(session, actor)
        if number is None:
            rel = release.require_latest(session, cycle)
        else:
            rel = release.get(session, cycle, number)
        info = _release_row(cycle, rel)
        counts = release.counts(session, rel)
        info.update({"data_digest": rel.data_digest,
                     "framework_digest": rel.framework_digest, **counts})
    for key, value in info.items():
        typer.echo(f"{key}: {value}")


@release_app.command("diff", help=_("Statistics that differ between two releases of a cycle."))
def release_diff(cycle: CycleYear, a: ReleaseNumber, b: ReleaseNumber, actor: As = None,
                 fmt: Format = "csv", database_url: DatabaseUrl = None) -> None:
    from pmm.analysis import release

    _check_format(fmt)
    with transaction(database_url) as session:
        who = principal(session, actor)
        frame = release.diff(session, cycle, a, b)
    if not who.sees_all:
        frame = frame[frame["audience"] == who.audience]
    emit(frame, fmt, list(frame.columns), title=_("Release {a} to {b}, cycle {cycle}").format(
        a=a, b=b, cycle=cycle))


@release_app.command("withdraw", help=_(
    "Withdraw a release (kept and marked withdrawn; readers get the latest one not withdrawn)."))
def release_withdraw(cycle: CycleYear, number: ReleaseNumber,
                     reason: Annotated[str, typer.Option(
                         "--reason", help=_("Why (recorded in the audit trail)."))] = "",
                     actor: As = None, database_url: DatabaseUrl = None) -> None:
    from pmm.analysis import release

    with transaction(database_url) as session:
        release.withdraw(session, principal(session, actor), cycle, number, reason)
    typer.echo(_("Release {number} of cycle {cycle} withdrawn.").format(number=number,
                                                                         cycle=cycle))


@release_app.command("config", help=_(
    "The disclosure-control parameters used by the next releases: show them, or set them "
    "(Secretariat; recorded in the audit trail)."))
def release_config(
    min_n: Annotated[int | None, typer.Option(
        "--min-n", help=_("Minimum members behind a group statistic."))] = None,
    dominance: Annotated[float | None, typer.Option(
        "--dominance", help=_("p of the p% dominance rule (0 turns it off)."))] = None,
    protection: Annotated[float | None, typer.Option(
        "--protection", help=_("No hidden value may be confined to an interval narrower than "
                               "this % of its magnitude."))] = None,
    actor: As = None, database_url: DatabaseUrl = None,
) -> None:
    from pmm.analysis import release

    with transaction(database_url) as session:
        who = principal(session, actor)
        if min_n is None and dominance is None and protection is None:
            rules = release.current_rules(session)
        else:
            rules = release.set_rules(session, who, min_n=min_n, dominance=dominance,
                                      protection=protection)
    typer.echo(f"min_n: {rules.min_n}\ndominance: {rules.dominance_p:g}\n"
               f"protection: {rules.protection_p:g}")

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

