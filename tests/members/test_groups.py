"""Peer groups: the built-in dimensions, size bands and user-defined group files."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmm.errors import PmmError
from pmm.members import (
    SIZE_BANDS,
    SIZE_THRESHOLDS,
    load_groups,
    load_members,
    peer_groups,
    size_band,
    size_groups,
)

CODES = [m.iso3 for m in load_members()]


@pytest.mark.parametrize("by", ["region", "income", "geography", "admin_type"])
def test_each_dimension_partitions_the_members(by: str) -> None:
    groups = peer_groups(by)
    flat = [code for codes in groups.values() for code in codes]
    assert sorted(flat) == CODES  # every Member exactly once
    assert all(codes == sorted(codes) and codes for codes in groups.values())


def test_region_groups_and_subsets() -> None:
    groups = peer_groups("region")
    assert list(groups) == ["AMS", "AP", "ESA", "EUR", "MENA", "WCA"]
    assert len(groups["EUR"]) == 52 and "XKX" in groups["EUR"]
    assert peer_groups("income", ["fra", "KEN", "VEN"]) == {
        "lower_middle": ["KEN"], "high": ["FRA"], "unknown": ["VEN"]}
    assert peer_groups("geography", []) == {}


def test_unknown_dimension_and_member() -> None:
    with pytest.raises(PmmError, match=r"'size'.*region, income, geography, admin_type"):
        peer_groups("size")
    with pytest.raises(PmmError, match="'XXX'"):
        peer_groups("region", ["KEN", "XXX"])


def test_size_band_thresholds() -> None:
    assert [size_band(v) for v in (0, 99_999, 100_000, 999_999.5, 1e6, 9_999_999, 1e7, 5e9)] == \
        ["small", "small", "medium", "medium", "large", "large", "very_large", "very_large"]
    for bad in (-1, math.nan, math.inf, "many", None):
        with pytest.raises(PmmError, match=r"^Number of declarations: .*: expected a number ≥ 0"):
            size_band(bad)  # type: ignore[arg-type]


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False))
def test_size_band_is_the_band_whose_bounds_hold_the_count(count: float) -> None:
    band = list(SIZE_BANDS).index(size_band(count))
    lower = 0 if band == 0 else SIZE_THRESHOLDS[band - 1]
    upper = math.inf if band == len(SIZE_THRESHOLDS) else SIZE_THRESHOLDS[band]
    assert lower <= count < upper


def test_size_groups() -> None:
    groups = size_groups({"KEN": 2.5e6, "TGO": 40_000, "USA": 3.4e7, "BTN": 99_999})
    assert groups == {"small": ["BTN", "TGO"], "large": ["KEN"], "very_large": ["USA"]}
    with pytest.raises(PmmError) as caught:
        size_groups({"KEN": -5, "FRA": math.nan, "DEU": 10})
    assert caught.value.lines == [
        "Number of declarations (KEN): -5: expected a number ≥ 0",
        "Number of declarations (FRA): nan: expected a number ≥ 0"]


def test_groups_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    path.write_text("\ufeffgroup,iso3,comment\nEAC,ken\nEAC, UGA ,x\nSACU,ZAF\n", encoding="utf-8")
    assert load_groups(path) == {"EAC": ["KEN", "UGA"], "SACU": ["ZAF"]}


def test_groups_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text("# regional unions\nEAC: [KEN, UGA, TZA]\nSmall islands:\n  - FJI\n  - mus\n",
                    encoding="utf-8")
    assert load_groups(path) == {"EAC": ["KEN", "TZA", "UGA"], "Small islands": ["FJI", "MUS"]}


def test_csv_errors_name_file_line_and_value(tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    path.write_text("group,iso3\nEAC,KEN\nEAC,XYZ\n,TZA\nEAC,KEN\nSACU,Kenia\n", encoding="utf-8")
    with pytest.raises(PmmError) as caught:
        load_groups(path)
    assert caught.value.lines == [
        f"{path}:3: iso3: 'XYZ' is not the code of a WCO Member.",
        f"{path}:4: group: empty; every row needs a group name",
        f"{path}:5: iso3: KEN appears twice in group EAC",
        f"{path}:6: iso3: 'Kenia' is not the code of a WCO Member. Did you mean: KEN (Kenya)?"]


def test_yaml_errors_name_file_line_and_value(tmp_path: Path) -> None:
    path = tmp_path / "groups.yml"
    path.write_text("EAC:\n  - KEN\n  - KOS\nbad: KEN\nempty:\n  -\n", encoding="utf-8")
    with pytest.raises(PmmError) as caught:
        load_groups(path)
    text = "\n".join(caught.value.lines)
    assert f"{path}:4: group bad: expected a list of ISO codes" in text
    assert f"{path}:3: iso3: 'KOS' is not the code of a WCO Member. Did you mean: XKX" in text
    assert f"{path}:6: iso3: '' is not the code of a WCO Member." in text


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("g.csv", "name,code\nEAC,KEN\n", r"g\.csv:1: missing column\(s\) group, iso3"),
    ("g.csv", "", r"g\.csv:1: missing column\(s\) group, iso3"),
    ("g.csv", "group,iso3\n", r"g\.csv: no groups defined"),
    ("g.yaml", "EAC: [KEN\n", r"g\.yaml:2: not valid YAML"),
    ("g.yaml", "- KEN\n", r"g\.yaml:1: expected a mapping"),
    ("g.yaml", "EAC: [KEN]\nEAC: [UGA]\n", r"g\.yaml:\d+: not valid YAML"),
    ("g.txt", "EAC,KEN\n", r"g\.txt: unknown file type"),
])
def test_bad_group_files(tmp_path: Path, name: str, content: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PmmError, match=expected):
        load_groups(path)


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(PmmError, match="no such file"):
        load_groups(tmp_path / "nope.csv")
    path = tmp_path / "latin1.csv"
    path.write_bytes("group,iso3\nCôte,CIV\n".encode("latin-1"))
    with pytest.raises(PmmError, match="not UTF-8"):
        load_groups(path)


GROUP_NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
                      min_size=1, max_size=12).map(str.strip).filter(bool)


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(GROUP_NAMES, st.sets(st.sampled_from(CODES), min_size=1, max_size=8),
                       min_size=1, max_size=5))
def test_csv_round_trip(tmp_path_factory: pytest.TempPathFactory,
                        groups: dict[str, set[str]]) -> None:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["group", "iso3"])
    writer.writerows([name, code.lower()] for name, codes in groups.items() for code in codes)
    path = tmp_path_factory.mktemp("groups") / "groups.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    assert load_groups(path) == {name: sorted(codes) for name, codes in groups.items()}
