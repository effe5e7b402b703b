"""`pmm members ...`: list and show WCO Members, and show peer groups."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from pmm.errors import PmmError
from pmm.i18n import _, language
from pmm.members.groups import DIMENSIONS, load_groups, peer_groups
from pmm.members.model import ADMIN_TYPES, GEOGRAPHIES, INCOME_GROUPS, REGIONS, Label, Member
from pmm.members.registry import load_members, member
from pmm.terminal import console

app = typer.Typer(help=_("WCO Member administrations (region, income group, geography, "
                  "administration type, sources) and peer groups."), no_args_is_help=True)
out = console()


def _label(vocabulary: dict[str, Label], code: str) -> str:
    return vocabulary[code].get(language())


def _pick(option: str, value: str | None, vocabulary: dict[str, Label]) -> str | None:
    if value is not None and value not in vocabulary:
        raise PmmError(_("{option} {value}: unknown code; expected one of: {expected}").format(
            option=option, value=value, expected=", ".join(vocabulary)))
    return value


@app.command("list", help=_("List the WCO Members, optionally filtered."))
def list_(
    region: Annotated[str | None, typer.Option(help=_("Only this region: {codes}").format(
        codes=", ".join(REGIONS)))] = None,
    income: Annotated[str | None, typer.Option(help=_("Only this income group: {codes}").format(
        codes=", ".join(INCOME_GROUPS)))] = None,
    geography: Annotated[str | None, typer.Option(help=_("Only this geography: {codes}").format(
        codes=", ".join(GEOGRAPHIES)))] = None,
    admin_type: Annotated[str | None, typer.Option(
        help=_("Only this administration type: {codes}").format(
            codes=", ".join(ADMIN_TYPES)))] = None,
    csv_output: Annotated[bool, typer.Option("--csv", help=_("Write CSV (codes) to stdout."))]
    = False,
) -> None:
    wanted = {"region": _pick("--region", region, REGIONS),
              "income_group": _pick("--income", income, INCOME_GROUPS),
              "geography": _pick("--geography", geography, GEOGRAPHIES),
              "admin_type": _pick("--admin-type", admin_type, ADMIN_TYPES)}
    rows = [m for m in load_members()
            if all(v is None or getattr(m, k) == v for k, v in wanted.items())]
    if csv_output:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["iso3", "name", "region", "income_group", "geography", "admin_type",
                         "confirmed"])
        writer.writerows([m.iso3, m.name, m.region, m.income_group, m.geography, m.admin_type,
                          "yes" if m.confirmed else "no"] for m in rows)
        return
    table = Table(title=_("WCO Members ({n})").format(n=len(rows)), title_justify="left")
    for column in (_("code"), _("name"), _("region"), _("income group"), _("geography"),
                   _("administration type"), _("confirmed")):
        table.add_column(column)
    for m in rows:
        table.add_row(m.iso3, m.name, m.region, _label(INCOME_GROUPS, m.income_group),
                      _label(GEOGRAPHIES, m.geography), _label(ADMIN_TYPES, m.admin_type),
                      _("yes") if m.confirmed else _("no"))
    out.print(table)


@app.command(help=_("Show one Member with the source of every value."))
def show(iso3: Annotated[str, typer.Argument(
        help=_("ISO 3166-1 alpha-3 code, e.g. KEN."))]) -> None:
    m: Member = member(iso3)
    yes_no = {True: _("yes"), False: _("no"), None: _("unknown")}
    out.print(Text(m.name, style="bold") + f" ({m.iso3})")
    for label, value in (
        (_("English name"), m.name_en),
        (_("French name"), m.name_fr),
        (_("WCO region"), f"{m.region}: {_label(REGIONS, m.region)}"),
        (_("Income group"), f"{_label(INCOME_GROUPS, m.income_group)} ({m.income_fy})"),
        (_("Geography"), f"{_label(GEOGRAPHIES, m.geography)} ("
                         + _("landlocked: {a}, small island developing State: {b}").format(
                             a=yes_no[m.landlocked], b=yes_no[m.sids]) + ")"),
        (_("Administration type"), _label(ADMIN_TYPES, m.admin_type)
         + (f" ({m.administration})" if m.administration else "")),
        (_("Confirmed"), yes_no[m.confirmed] + (
            " (" + _("background knowledge: {fields}").format(fields=", ".join(m.unconfirmed))
            + ")" if m.unconfirmed else "")),
    ):
        out.print(f"{label}: {value}", markup=False)
    if m.notes:
        out.print(f"{_('Notes')}: {m.notes}", markup=False)
    out.print(_("Sources:"))
    for s in m.sources:
        flag = "" if s.confirmed else " [" + _("not confirmed") + "]"
        out.print(f"  {s.field}{flag}: {s.source}", markup=False)


@app.command(help=_("Show peer groups: the Members of each group."))
def groups(
    by: Annotated[str, typer.Option(help=_("region, income, geography or admin_type."))] = "region",
    file: Annotated[Path | None, typer.Option(
        "--file", help=_("User-defined groups: CSV (group,iso3) or YAML (group: [codes]); "
        "checked and shown instead of --by."))] = None,
) -> None:
    if file is not None:
        result, labels = load_groups(file), {}
    else:
        result = peer_groups(by)
        labels = {code: label.get(language()) for code, label in DIMENSIONS[by][1].items()}
    table = Table(title=_("Peer groups ({n} Members)").format(
        n=len({c for codes in result.values() for c in codes})), title_justify="left")
    for column in (_("group"), _("name"), _("Members"), _("codes")):
        table.add_column(column)
    for code, members in result.items():
        table.add_row(code, labels.get(code, ""), str(len(members)), " ".join(members))
    out.print(table)
