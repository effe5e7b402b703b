"""Rebuild the shipped `members.csv` and `sources.csv` from the compiled reference files.

    python -m pmm.members.build_members [--reference DIR] [--check]

Inputs: the three reference CSVs (`wco_members.csv`, `income_groups.csv`, `geography.csv`, one row
per Member with its sources; by default `../shared/reference/` next to the repository) and the
curated files in `curation/` (administration types, name overrides, notes). French names come from
the CLDR data shipped with Babel. The output is committed, so the package never needs the inputs at
run time; `--check` only compares and fails when the committed files are stale.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from pmm.errors import PmmError
from pmm.members.model import ADMIN_TYPES, INCOME_GROUPS, REGIONS, geography_of

HERE = Path(__file__).resolve().parent
DEFAULT_REFERENCE = HERE.parents[2].parent / "shared" / "reference"
CURATION = HERE / "curation"
MEMBERS_COLUMNS = ["iso3", "name_en", "name_fr", "wco_region", "income_group", "income_fy",
                   "landlocked", "sids", "geography", "admin_type", "administration", "confirmed",
                   "notes"]
SOURCES_COLUMNS = ["iso3", "field", "source", "confirmed"]

REGION_CODES = {label.en: code for code, label in REGIONS.items()}
INCOME_CODES = {label.en: code for code, label in INCOME_GROUPS.items()}
# Codes that CLDR does not map from alpha-3 to alpha-2 (XKX is user-assigned; CLDR uses XK).
ALPHA2_EXTRA = {"XKX": "XK"}


def read(path: Path, columns: list[str]) -> dict[str, dict[str, str]]:
    """Rows keyed by iso3, checking the header and that iso3 is unique."""
    if not path.is_file():
        raise PmmError(f"{path}: file not found")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise PmmError(f"{path}:1: missing column(s) {', '.join(missing)}")
        rows: dict[str, dict[str, str]] = {}
        for line, row in enumerate(reader, start=2):
            if row["iso3"] in rows:
                raise PmmError(f"{path}:{line}: iso3: duplicate code {row['iso3']!r}")
            rows[row["iso3"]] = row
    return rows


def yes_no(path: Path, iso3: str, column: str, value: str) -> bool:
    if value not in ("yes", "no"):
        raise PmmError(f"{path}: {iso3}: {column}: {value!r}; expected yes or no")
    return value == "yes"


def french_names(codes: list[str]) -> dict[str, str]:
    """CLDR French territory names, via Babel, for ISO alpha-3 codes."""
    from babel import Locale
    from babel.core import get_global

    aliases = get_global("territory_aliases")
    territories = Locale("fr").territories
    names = {}
    for iso3 in codes:
        alpha2 = ALPHA2_EXTRA.get(iso3) or (aliases.get(iso3) or [None])[0]
        if alpha2 not in territories:
            raise PmmError(f"CLDR has no French name for {iso3} (alpha-2 {alpha2})")
        names[iso3] = territories[alpha2]
    return names


def build(reference: Path) -> tuple[list[list[str]], list[list[str]]]:
    """The rows of members.csv and sources.csv (without headers), sorted by iso3."""
    from babel import __version__ as babel_version
    from babel.core import get_cldr_version

    wco_path, inc_path, geo_path = (reference / n for n in
                                    ("wco_members.csv", "income_groups.csv", "geography.csv"))
    wco = read(wco_path, ["iso3", "name_en", "wco_region", "source", "confirmed"])
    income = read(inc_path, ["iso3", "income_group", "fiscal_year", "source", "confirmed"])
    geo = read(geo_path, ["iso3", "landlocked", "sids", "source", "confirmed"])
    if not (wco.keys() == income.keys() == geo.keys()):
        raise PmmError(f"{reference}: the three reference files do not list the same Members")
    admin = read(CURATION / "admin_types.csv",
                 ["iso3", "admin_type", "administration", "source", "confirmed"])
    notes = read(CURATION / "notes.csv", ["iso3", "note"])
    overrides: dict[tuple[str, str], dict[str, str]] = {}
    with (CURATION / "names.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            overrides[(row["iso3"], row["field"])] = row
    for path, keys in ((CURATION / "admin_types.csv", admin), (CURATION / "notes.csv", notes),
                       (CURATION / "names.csv", {k for k, _ in overrides})):
        unknown = sorted(set(keys) - wco.keys())
        if unknown:
            raise PmmError(f"{path}: not WCO Members: {', '.join(unknown)}")

    codes = sorted(wco)
    fr = french_names(codes)
    cldr = f"CLDR {get_cldr_version()} French territory names, via Babel {babel_version}"
    members, sources = [], []
    for iso3 in codes:
        w, i, g = wco[iso3], income[iso3], geo[iso3]
        region = REGION_CODES.get(w["wco_region"])
        if region is None:
            raise PmmError(f"{wco_path}: {iso3}: wco_region: unknown region {w['wco_region']!r}")
        group = INCOME_CODES.get(i["income_group"])
        if group is None:
            raise PmmError(f"{inc_path}: {iso3}: income_group: {i['income_group']!r}; expected "
                           f"one of {', '.join(INCOME_CODES)}")
        landlocked = yes_no(geo_path, iso3, "landlocked", g["landlocked"])
        sids = yes_no(geo_path, iso3, "sids", g["sids"])
        if landlocked and sids:
            raise PmmError(f"{geo_path}: {iso3}: both landlocked and a small island state")
        a = admin.get(iso3, {"admin_type": "unknown", "administration": ""})
        if a["admin_type"] not in ADMIN_TYPES:
            raise PmmError(f"{CURATION / 'admin_types.csv'}: {iso3}: admin_type: "
                           f"{a['admin_type']!r}; expected one of {', '.join(ADMIN_TYPES)}")
        rows = [[iso3, "membership", w["source"], w["confirmed"]]]
        name_en, name_fr = w["name_en"], fr[iso3]
        if (iso3, "name_en") in overrides:
            o = overrides[(iso3, "name_en")]
            name_en = o["value"]
            rows.append([iso3, "name_en", o["source"], o["confirmed"]])
        if (iso3, "name_fr") in overrides:
            o = overrides[(iso3, "name_fr")]
            name_fr = o["value"]
            rows.append([iso3, "name_fr", o["source"], o["confirmed"]])
        else:
            rows.append([iso3, "name_fr", cldr, "yes"])
        rows.append([iso3, "income_group", f"{i['fiscal_year']}: {i['source']}", i["confirmed"]])
        rows.append([iso3, "geography", g["source"], g["confirmed"]])
        if a["admin_type"] != "unknown":
            rows.append([iso3, "admin_type", a["source"], a["confirmed"]])
        for row in rows:
            yes_no(reference, iso3, f"confirmed ({row[1]})", row[3])
        confirmed = "yes" if all(r[3] == "yes" for r in rows) else "no"
        members.append([iso3, name_en, name_fr, region, group, i["fiscal_year"],
                        g["landlocked"], g["sids"], geography_of(landlocked, sids),
                        a["admin_type"], a["administration"], confirmed,
                        notes.get(iso3, {}).get("note", "")])
        sources.extend(rows)
    return members, sources


def to_csv(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE,
                        help=f"folder of the reference CSVs (default: {DEFAULT_REFERENCE})")
    parser.add_argument("--check", action="store_true",
                        help="do not write; fail if the shipped files differ from a rebuild")
    args = parser.parse_args(argv)
    try:
        members, sources = build(args.reference)
    except PmmError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    outputs = {HERE / "members.csv": to_csv(MEMBERS_COLUMNS, members),
               HERE / "sources.csv": to_csv(SOURCES_COLUMNS, sources)}
    stale = [p for p, text in outputs.items()
             if not p.is_file() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            sys.stderr.write(f"{path}: stale; run python -m pmm.members.build_members\n")
        return 1 if stale else 0
    for path in stale:
        path.write_text(outputs[path], encoding="utf-8")
    sys.stdout.write(f"{len(members)} members, {len(sources)} sources; "
                     f"{len(stale)} file(s) rewritten\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
