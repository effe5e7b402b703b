"""The shipped reference data: every WCO Member, read once from `members.csv` and `sources.csv`."""

from __future__ import annotations

import csv
import difflib
import re
from collections import defaultdict
from collections.abc import Collection
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from pmm.errors import PmmError
from pmm.i18n import _
from pmm.members.model import (
    ADMIN_TYPES,
    GEOGRAPHIES,
    INCOME_GROUPS,
    REGIONS,
    SOURCE_FIELDS,
    Member,
    Source,
)

if TYPE_CHECKING:
    import pandas as pd

DATA = resources.files("pmm.members")
ISO3 = re.compile(r"^[A-Z]{3}$")
FLAGS = {"yes": True, "no": False, "": None}


def _rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise PmmError(_("{file}:1: missing column(s): {columns}").format(
                file=path, columns=", ".join(missing)))
        return list(enumerate(reader, start=2))


def _check(errors: list[str], where: str, column: str, value: str,
           allowed: Collection[str]) -> None:
    if value not in allowed:
        errors.append(_("{where}: {column}: {value!r} is not valid; expected one of: "
                        "{expected}").format(where=where, column=column, value=value,
                                             expected=", ".join(allowed)))


def read_members(path: Path, sources_path: Path) -> tuple[Member, ...]:
    """Read and validate a members file and its sources file; every defect is reported at once."""
    errors: list[str] = []
    sources: dict[str, list[Source]] = defaultdict(list)
    for line, row in _rows(sources_path, ("iso3", "field", "source", "confirmed")):
        where = f"{sources_path}:{line}"
        _check(errors, where, "field", row["field"], SOURCE_FIELDS)
        _check(errors, where, "confirmed", row["confirmed"], ("yes", "no"))
        if not row["source"].strip():
            errors.append(_("{where}: source: empty; every value needs its source").format(
                where=where))
        sources[row["iso3"]].append(Source(row["field"], row["source"], row["confirmed"] == "yes"))
    members: list[Member] = []
    seen: set[str] = set()
    columns = ("iso3", "name_en", "name_fr", "wco_region", "income_group", "income_fy",
               "landlocked", "sids", "admin_type", "administration", "notes")
    for line, row in _rows(path, columns):
        where, iso3, before = f"{path}:{line}", row["iso3"], len(errors)
        if not ISO3.match(iso3):
            errors.append(_("{where}: iso3: {value!r} is not an ISO 3166-1 alpha-3 code").format(
                where=where, value=iso3))
        elif iso3 in seen:
            errors.append(_("{where}: iso3: {value} appears twice").format(where=where,
                                                                            value=iso3))
        seen.add(iso3)
        if not row["name_en"].strip() or not row["name_fr"].strip():
            errors.append(_("{where}: name_en/name_fr: a name is empty").format(where=where))
        _check(errors, where, "wco_region", row["wco_region"], REGIONS)
        _check(errors, where, "income_group", row["income_group"], INCOME_GROUPS)
        _check(errors, where, "admin_type", row["admin_type"], ADMIN_TYPES)
        _check(errors, where, "landlocked", row["landlocked"], ("yes", "no", ""))
        _check(errors, where, "sids", row["sids"], ("yes", "no", ""))
        if row["landlocked"] == row["sids"] == "yes":
            errors.append(_("{where}: landlocked and sids are both yes; a small island state is "
                            "never landlocked").format(where=where))
        if not sources.get(iso3):
            errors.append(_("{where}: {iso3} has no row in {file}").format(
                where=where, iso3=iso3, file=sources_path))
        if len(errors) > before:  # this row is bad: report it, check the next ones
            continue
        member = Member(
            iso3=iso3, name_en=row["name_en"], name_fr=row["name_fr"], region=row["wco_region"],
            income_group=row["income_group"], income_fy=row["income_fy"],
            landlocked=FLAGS[row["landlocked"]], sids=FLAGS[row["sids"]],
            admin_type=row["admin_type"], administration=row["administration"],
            sources=tuple(sources[iso3]), notes=row["notes"])
        if "geography" in row and row["geography"] != member.geography:
            errors.append(_("{where}: geography: {value!r} contradicts landlocked/sids "
                            "(expected {expected})").format(where=where, value=row["geography"],
                                                           expected=member.geography))
        members.append(member)
    orphans = sorted(set(sources) - seen)
    if orphans:
        errors.append(_("{file}: sources of codes not in {members}: {codes}").format(
            file=sources_path, members=path, codes=", ".join(orphans)))
    if errors:
        raise PmmError(*errors)
    return tuple(members)


@cache
def _shipped() -> tuple[Member, ...]:
    with resources.as_file(DATA / "members.csv") as members_path, \
            resources.as_file(DATA / "sources.csv") as sources_path:
        return read_members(members_path, sources_path)


@cache
def _index() -> dict[str, Member]:
    return {m.iso3: m for m in _shipped()}


def load_members() -> list[Member]:
    """Every WCO Member, ordered by ISO code (read once, then cached)."""
    return list(_shipped())


def member(iso3: str) -> Member:
    """The Member with this ISO 3166-1 alpha-3 code (any case); a clear error otherwise."""
    code = iso3.strip().upper()
    found = _index().get(code)
    if found is not None:
        return found
    raise PmmError(_("Unknown WCO Member code {value!r}: expected the ISO 3166-1 alpha-3 code of "
                     "one of the {n} Members (Kosovo: XKX).").format(value=iso3, n=len(_index()))
                   + did_you_mean(iso3))


def did_you_mean(text: str) -> str:
    """' Did you mean ...?' from close codes and from names that match the text."""
    index = _index()
    query = text.strip()
    hits = difflib.get_close_matches(query.upper(), list(index), n=3, cutoff=0.6)
    by_name = {m.name_in(lang).casefold(): m.iso3 for m in index.values() for lang in ("en", "fr")}
    lowered = query.casefold()
    named = [code for name, code in by_name.items() if lowered and lowered in name]
    named += [by_name[n] for n in difflib.get_close_matches(lowered, list(by_name), n=3,
                                                            cutoff=0.75)]
    ordered = list(dict.fromkeys(named + hits))[:5]
    if not ordered:
        return ""
    choices = ", ".join(f"{c} ({index[c].name})" for c in ordered)
    return " " + _("Did you mean: {choices}?").format(choices=choices)


def members_frame() -> pd.DataFrame:
    """The Members as a DataFrame, one row each, with labels in neither language (codes only)."""
    import pandas as pd

    rows = [{"iso3": m.iso3, "name_en": m.name_en, "name_fr": m.name_fr, "region": m.region,
             "income_group": m.income_group, "income_fy": m.income_fy,
             "landlocked": m.landlocked, "sids": m.sids, "geography": m.geography,
             "admin_type": m.admin_type, "administration": m.administration,
             "confirmed": m.confirmed, "source": m.source, "notes": m.notes}
            for m in _shipped()]
    frame = pd.DataFrame(rows)
    for column, vocabulary in (("region", REGIONS), ("income_group", INCOME_GROUPS),
                               ("geography", GEOGRAPHIES), ("admin_type", ADMIN_TYPES)):
        frame[column] = pd.Categorical(frame[column], categories=list(vocabulary))
    for column in ("landlocked", "sids", "confirmed"):
        frame[column] = frame[column].astype("boolean")
    return frame
