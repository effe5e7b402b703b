"""`pmm framework ...`: list, show, validate, diff and export frameworks."""

from __future__ import annotations

import csv
import io
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text
from ruamel.yaml import YAML

from pmm.conventions import neutralise
from pmm.errors import PmmError
from pmm.framework.criteria import check as check_loaded
from pmm.framework.criteria import validate as check_framework
from pmm.framework.diff import diff as diff_frameworks
from pmm.framework.loader import load, shipped_ids
from pmm.framework.model import Framework
from pmm.framework.workbook import write_workbook
from pmm.i18n import _, format_number, language, ngettext
from pmm.terminal import console

app = typer.Typer(
    help=_("The mechanism as data: list, show, validate, diff and export framework versions.\n\n"
    "A framework is given by the id of a shipped catalogue (see `pmm framework list`) or by the "
    "path of a YAML file or a folder of YAML files, such as the official WCO catalogue once "
    "obtained."),
    no_args_is_help=True,
)
out = console()


class ShowFormat(StrEnum):
    summary = "summary"
    json = "json"
    yaml = "yaml"
    md = "md"


class DiffFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FrameworkRef = Annotated[str, typer.Argument(help=_("Shipped id (e.g. wco-pmm-v1) or a path."))]


@app.command("list", help=_("List the shipped framework versions."))
def list_() -> None:
    table = Table(title=_("Shipped frameworks"), title_justify="left")
    for column in (_("id"), _("title"), _("status"), _("date"), _("dimensions"), _("outcomes"),
                   _("KPIs")):
        table.add_column(column)
    for ref in shipped_ids():
        fw = load(ref)
        info = fw.framework
        table.add_row(info.id, info.title.get(language()), info.status, info.date.isoformat(),
                      str(len(fw.dimensions)), str(len(fw.outcomes)), str(len(fw.kpis)))
    out.print(table)


@app.command(help=_("Show a framework: a summary, or the whole of it as JSON, YAML or Markdown."))
def show(
    ref: FrameworkRef = "wco-pmm-v1",
    format: Annotated[ShowFormat, typer.Option("--format", "-f",
                                               help=_("summary, json, yaml or md."))] = "summary",
) -> None:
    fw = load(ref)
    _warn_if_invalid(ref, fw)
    if format == ShowFormat.json:
        sys.stdout.write(json.dumps(fw.model_dump(mode="json"), ensure_ascii=False, indent=2))
        sys.stdout.write("\n")
    elif format == ShowFormat.yaml:
        yaml = YAML(typ="safe", pure=True)
        yaml.default_flow_style = False
        yaml.allow_unicode = True
        yaml.dump(fw.model_dump(mode="json"), sys.stdout)
    elif format == ShowFormat.md:
        sys.stdout.write(markdown(fw, language()))
    else:
        _summary(fw, language())


def _warn_if_invalid(ref: str, fw: Framework) -> None:
    """Say on stderr (the output itself stays clean) when a framework fails validation."""
    errors = [f for f in check_loaded(fw) if f.severity == "error"]
    if errors:
        typer.echo(_("Warning: framework {ref} does not validate ({n} errors, e.g. {first}); no "
                     "cycle can be created on it. See `pmm framework validate {ref}`.").format(
            ref=ref, n=len(errors), first=errors[0]), err=True)


def _summary(fw: Framework, lang: str) -> None:
    info = fw.framework
    out.print(Text(info.title.get(lang), style="bold")
              + f"  ({info.id}, {info.status}, {info.date.isoformat()})")
    confirmed = sum(k.provenance.status == "confirmed" for k in fw.kpis)
    out.print(_("{d} dimensions, {o} expected outcomes, {k} KPIs ({c} confirmed from public WCO "
                "sources, {r} reconstructed), {i} data items ({m} measurable from microdata), "
                "{s} SDG targets, {t} WCO tools.").format(
        d=len(fw.dimensions), o=len(fw.outcomes), k=len(fw.kpis), c=confirmed,
        r=len(fw.kpis) - confirmed, i=len(fw.data_items),
        m=sum(d.measurable for d in fw.data_items), s=len(fw.sdg_targets), t=len(fw.tools)))
    for dim in fw.dimensions:
        table = Table(title=f"{dim.code}  {dim.name.get(lang)}", title_justify="left",
                      show_lines=False, expand=False)
        table.add_column(_("code"))
        table.add_column(_("KPI"))
        table.add_column(_("unit"))
        table.add_column(_("better"))
        table.add_column(_("years"))
        table.add_column(_("disclosure"))
        table.add_column(_("status"))
        for outcome in fw.outcomes_of_dimension(dim.code):
            table.add_row(Text(outcome.code, style="bold"),
                          Text(outcome.name.get(lang), style="bold"), "", "", "", "",
                          outcome.provenance.status)
            for kpi in fw.kpis_of_outcome(outcome.code):
                table.add_row(kpi.code, kpi.name.get(lang), kpi.unit,
                              "↑" if kpi.direction == "higher" else "↓", kpi.years,
                              kpi.disclosure, kpi.provenance.status)
        out.print(table)
    out.print(fw.aggregation.label.get(lang))


def markdown(fw: Framework, lang: str = "en") -> str:
    """The framework as a Markdown document."""
    info = fw.framework
    lines = [f"# {info.title.get(lang)}", "",
             f"`{info.id}` · {info.status} · {info.date.isoformat()}", ""]
    if info.description.get(lang):
        lines += [info.description.get(lang), ""]
    for dim in fw.dimensions:
        lines += [f"## {dim.code} {dim.name.get(lang)}", "", dim.definition.get(lang), ""]
        for outcome in fw.outcomes_of_dimension(dim.code):
            lines += [f"### {outcome.code} {outcome.name.get(lang)} ({outcome.provenance.status})",
                      "", outcome.definition.get(lang), "",
                      f"{_('SDG targets')}: {', '.join(outcome.sdg_targets) or '—'} · "
                      f"{_('Tools')}: {', '.join(outcome.tools) or '—'}", "",
                      f"| {_('code')} | KPI | {_('formula')} | {_('unit')} | {_('better')} | "
                      f"{_('years')} | {_('disclosure')} | {_('status')} |",
                      "|---|---|---|---|---|---|---|---|"]
            for k in fw.kpis_of_outcome(outcome.code):
                better = _("higher") if k.direction == "higher" else _("lower")
                lines.append(f"| {k.code} | {k.name.get(lang)} | `{k.formula}` | {k.unit} | "
                             f"{better} | {k.years} | {k.disclosure} | {k.provenance.status} |")
            lines.append("")
    lines += [fw.aggregation.label.get(lang), ""]
    return "\n".join(lines)


@app.command(help=_(
    "Check a framework against the WGPM's scope and criteria for KPIs.\n\n"
    "Prints one line per defect (FILE:LINE: severity: item: what is expected) and exits "
    "non-zero when there is any error (or any warning with --strict)."))
def validate(
    path: Annotated[str | None, typer.Argument(help=_(
        "A framework id, YAML file or folder; without it, every shipped catalogue."))] = None,
    strict: Annotated[bool, typer.Option(help=_("Treat quality warnings as errors."))] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=_("Print errors only."))] = False,
) -> None:
    refs = [path] if path else shipped_ids()
    failed = False
    for ref in refs:
        fw, findings = check_framework(ref)
        errors = [f for f in findings if f.severity == "error"]
        warnings = [f for f in findings if f.severity == "warning"]
        for finding in errors + ([] if quiet else warnings):
            typer.echo(str(finding), err=finding.severity == "error")
        bad = bool(errors) or (strict and bool(warnings))
        failed |= bad
        verdict = _("FAILED") if bad else _("OK")
        typer.echo(_("{id}: {verdict}: {e} errors, {w} warnings ({k} KPIs checked)").format(
            id=fw.id, verdict=verdict, e=len(errors), w=len(warnings), k=len(fw.kpis)))
    if failed:
        raise typer.Exit(1)


@app.command(help=_(
    "List dimensions, outcomes, KPIs and data items added, removed and changed.\n\n"
    "A change that breaks comparability over time (formula, unit, direction, year rule, or "
    "the meaning of a data item a KPI reads) is marked; trends across it are flagged \"not "
    "comparable\"."))
def diff(
    old: Annotated[str, typer.Argument(help=_("The earlier version: id or path."))],
    new: Annotated[str, typer.Argument(help=_("The later version: id or path."))],
    format: Annotated[DiffFormat, typer.Option("--format", "-f",
                                               help=_("table, json or csv."))] = "table",
) -> None:
    old_fw, new_fw = load(old), load(new)
    _warn_if_invalid(old, old_fw)
    _warn_if_invalid(new, new_fw)
    result = diff_frameworks(old_fw, new_fw)
    rows = result.rows()
    if format == DiffFormat.json:
        typer.echo(json.dumps({"old": result.old, "new": result.new, "changes": rows},
                              ensure_ascii=False, indent=2))
        return
    if format == DiffFormat.csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["kind", "code", "change", "fields",
                                                    "breaks_comparability", "reason"],
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: neutralise(v) for k, v in row.items()} for row in rows)
        sys.stdout.write(buffer.getvalue())
        return
    if not rows:
        out.print(_("No difference between {old} and {new}.").format(old=result.old,
                                                                      new=result.new))
        return
    table = Table(title=f"{result.old} → {result.new}", title_justify="left")
    for column in (_("kind"), _("code"), _("change"), _("fields"), _("comparability")):
        table.add_column(column)
    for row in rows:
        broken = _("breaks: {reason}").format(reason=row["reason"]) \
            if row["breaks_comparability"] else ""
        table.add_row(str(row["kind"]), str(row["code"]), str(row["change"]),
                      str(row["fields"]), broken)
    out.print(table)
    out.print(ngettext("{n} change", "{n} changes", len(rows)).format(n=format_number(len(rows)))
              + ", " + ngettext("{b} KPI no longer comparable.", "{b} KPIs no longer comparable.",
                                len(result.breaking_kpis())).format(
                  b=format_number(len(result.breaking_kpis()))))


@app.command(help=_("Export a framework as an Excel workbook (in the language of --lang)."))
def export(
    ref: FrameworkRef,
    format: Annotated[str, typer.Option("--format", "-f", help="xlsx")] = "xlsx",
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help=_("File to write (default: ID.xlsx)."))] = None,
) -> None:
    if format != "xlsx":
        raise PmmError(_("--format {format}: unknown format; expected xlsx").format(
            format=format))
    fw = load(ref)
    target = output or Path(f"{fw.id}.xlsx")
    write_workbook(fw, target, language())
    typer.echo(_("Wrote {path}").format(path=target))
