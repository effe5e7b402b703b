"""The shipped Member reference data, through the public API."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.core import get_global

from pmm.errors import PmmError
from pmm.i18n import set_language
from pmm.members import (
    ADMIN_TYPES,
    GEOGRAPHIES,
    INCOME_GROUPS,
    REGIONS,
    load_members,
    member,
    members_frame,
    read_members,
)

# Counts stated in shared/reference/README.md.
REGION_COUNTS = {"ESA": 24, "EUR": 52, "AP": 35, "MENA": 18, "AMS": 34, "WCA": 24}
INCOME_COUNTS = {"low": 24, "lower_middle": 45, "upper_middle": 54, "high": 63, "unknown": 1}
UN_NON_MEMBERS = {"DMA", "GRD", "KIR", "PRK", "LIE", "MHL", "FSM", "MCO", "NRU", "KNA", "SMR",
                  "TUV"}


def test_every_member_once_with_a_valid_code() -> None:
    members = load_members()
    codes = [m.iso3 for m in members]
    assert len(members) == 187
    assert codes == sorted(set(codes))
    # ISO 3166-1 alpha-3 as CLDR knows it (an independent table); XKX is user-assigned.
    iso = {code for code in get_global("territory_aliases") if re.fullmatch(r"[A-Z]{3}", code)}
    assert set(codes) - iso == {"XKX"}


def test_counts_match_the_reference() -> None:
    members = load_members()
    assert Counter(m.region for m in members) == REGION_COUNTS
    assert Counter(m.income_group for m in members) == INCOME_COUNTS
    assert Counter(m.geography for m in members) == {"coastal": 115, "landlocked": 42, "sids": 30}
    assert set(REGIONS) == set(REGION_COUNTS)
    assert {m.admin_type for m in members} <= set(ADMIN_TYPES)


def test_composition() -> None:
    codes = {m.iso3 for m in load_members()}
    assert {"PSE", "XKX", "HKG", "MAC", "BMU", "CUW", "VCT", "PLW", "SLB", "GNQ"} <= codes
    assert not codes & UN_NON_MEMBERS
    assert "EUU" not in codes  # the EU has rights akin to membership but is not counted


def test_every_value_has_a_source() -> None:
    for m in load_members():
        fields = [s.field for s in m.sources]
        assert {"membership", "name_fr", "income_group", "geography"} <= set(fields), m.iso3
        assert ("admin_type" in fields) == (m.admin_type != "unknown"), m.iso3
        assert all(s.source.strip() for s in m.sources)
        assert m.confirmed == all(s.confirmed for s in m.sources)
        assert m.source.count("|") == len(m.sources) - 1


def test_unconfirmed_values_are_flagged() -> None:
    assert "membership" in member("VCT").unconfirmed
    assert "membership" in member("CUW").unconfirmed
    assert "income_group" in member("VEN").unconfirmed
    assert member("VEN").income_group == "unknown"
    assert member("AFG").confirmed


def test_names_in_both_languages() -> None:
    for m in load_members():
        assert m.name_en.strip() and m.name_fr.strip()
    assert member("MAC").name_en == "Macao, China"
    assert member("MAC").name_in("fr") == "Macao, Chine"
    assert member("HKG").name_in("fr") == "Hong Kong, Chine"
    assert member("DEU").name_in("fr") == "Allemagne"
    kosovo = member("XKX")
    assert (kosovo.name_en, kosovo.name_fr, kosovo.region, kosovo.geography) == \
        ("Kosovo", "Kosovo", "EUR", "landlocked")
    set_language("fr")
    try:
        assert member("CIV").name == "Côte d’Ivoire"
    finally:
        set_language(None)
    assert member("CIV").name == "Côte d'Ivoire"


def test_lookup_is_case_insensitive_and_errors_suggest() -> None:
    assert member(" ken ").iso3 == "KEN"
    with pytest.raises(PmmError) as caught:
        member("KOS")
    message = str(caught.value)
    assert "'KOS'" in message and "XKX (Kosovo)" in message
    with pytest.raises(PmmError, match=r"Did you mean: KEN \(Kenya\)"):
        member("Kenia")
    with pytest.raises(PmmError, match="'QQQ'") as caught:
        member("QQQ")
    assert "Did you mean" not in str(caught.value)


def test_load_members_returns_a_fresh_list() -> None:
    first = load_members()
    first.clear()
    assert len(load_members()) == 187


def test_members_frame() -> None:
    frame = members_frame()
    assert len(frame) == 187 and frame["iso3"].is_unique
    assert frame["region"].value_counts().to_dict() == REGION_COUNTS
    assert list(frame["income_group"].cat.categories) == list(INCOME_GROUPS)
    assert list(frame["geography"].cat.categories) == list(GEOGRAPHIES)
    landlocked = frame.loc[frame["geography"] == "landlocked", "landlocked"]
    assert landlocked.all() and len(landlocked) == 42
    assert frame["source"].str.len().min() > 0


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_read_members_reports_every_defect(tmp_path: Path) -> None:
    header = ("iso3,name_en,name_fr,wco_region,income_group,income_fy,landlocked,sids,geography,"
              "admin_type,administration,confirmed,notes\n")
    members = _write(tmp_path / "members.csv", header
                     + "KEN,Kenya,Kenya,ESA,lower_middle,FY27,no,no,coastal,unknown,,yes,\n"
                     + "KEN,Kenya,Kenya,ESA,lower_middle,FY27,no,no,coastal,unknown,,yes,\n"
                     + "FRA,France,France,EU,rich,FY27,no,yes,coastal,customs,,yes,\n"
                     + "mli,Mali,Mali,WCA,low,FY27,yes,yes,landlocked,unknown,,yes,\n")
    sources = _write(tmp_path / "sources.csv", "iso3,field,source,confirmed\n"
                     "KEN,membership,https://example.org,yes\n"
                     "FRA,region,https://example.org,maybe\n"
                     "ZZZ,membership,,yes\n")
    with pytest.raises(PmmError) as caught:
        read_members(members, sources)
    lines = caught.value.lines
    text = "\n".join(lines)
    assert f"{sources}:3: field: 'region' is not valid" in text
    assert f"{sources}:3: confirmed: 'maybe' is not valid" in text
    assert f"{sources}:4: source: empty" in text
    assert f"{members}:3: iso3: KEN appears twice" in text
    assert f"{members}:4: wco_region: 'EU' is not valid; expected one of: AMS" in text
    assert f"{members}:4: income_group: 'rich'" in text
    assert f"{members}:4: admin_type: 'customs'" in text
    assert f"{members}:5: iso3: 'mli' is not an ISO 3166-1 alpha-3 code" in text
    assert f"{members}:5: landlocked and sids are both yes" in text
    assert "sources of codes not in" in text and "ZZZ" in text


def test_a_bad_row_does_not_hide_the_defects_of_later_rows(tmp_path: Path) -> None:
    header = ("iso3,name_en,name_fr,wco_region,income_group,income_fy,landlocked,sids,geography,"
              "admin_type,administration,confirmed,notes\n")
    members = _write(tmp_path / "members.csv", header
                     + "KEN,Kenya,Kenya,EU,lower_middle,FY27,no,no,coastal,unknown,,yes,\n"
                     + "MLI,Mali,Mali,WCA,low,FY27,yes,no,coastal,unknown,,yes,\n")
    sources = _write(tmp_path / "sources.csv", "iso3,field,source,confirmed\n"
                     "KEN,membership,https://example.org,yes\n"
                     "MLI,membership,https://example.org,yes\n")
    with pytest.raises(PmmError) as caught:
        read_members(members, sources)
    assert caught.value.lines == [
        f"{members}:2: wco_region: 'EU' is not valid; expected one of: "
        "AMS, AP, ESA, EUR, MENA, WCA",
        f"{members}:3: geography: 'coastal' contradicts landlocked/sids (expected landlocked)"]


def test_read_members_missing_column(tmp_path: Path) -> None:
    members = _write(tmp_path / "m.csv", "iso3,name_en\nKEN,Kenya\n")
    sources = _write(tmp_path / "s.csv", "iso3,field,source,confirmed\n")
    with pytest.raises(PmmError, match=r"m\.csv:1: missing column\(s\): name_fr"):
        read_members(members, sources)
