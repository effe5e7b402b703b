"""Peer groups: by region, income group, geography or administration type, by size, or from a file.

A peer group maps a group code to the sorted ISO codes of its Members. The groups of one
dimension partition the Members given (each Member is in exactly one group); user-defined groups
may overlap.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from pmm.errors import PmmError
from pmm.i18n import _
from pmm.members.model import ADMIN_TYPES, GEOGRAPHIES, INCOME_GROUPS, REGIONS, Label, Member
from pmm.members.registry import did_you_mean, load_members, member

# Dimension -> (Member attribute, vocabulary in display order).
DIMENSIONS: dict[str, tuple[str, dict[str, Label]]] = {
    "region": ("region", REGIONS),
    "income": ("income_group", INCOME_GROUPS),
    "geography": ("geography", GEOGRAPHIES),
    "admin_type": ("admin_type", ADMIN_TYPES),
}

# Size bands by the number of goods declarations lodged in a year: a band holds counts from its
# lower bound (inclusive) up to the next band's lower bound (exclusive).
SIZE_BANDS: dict[str, Label] = {
    "small": Label("Small (fewer than 100,000 declarations)",
                   "Petite (moins de 100 000 déclarations)"),
    "medium": Label("Medium (100,000 to 999,999 declarations)",
                    "Moyenne (de 100 000 à 999 999 déclarations)"),
    "large": Label("Large (1 million to 9,999,999 declarations)",
                   "Grande (de 1 million à 9 999 999 déclarations)"),
    "very_large": Label("Very large (10 million declarations or more)",
                        "Très grande (10 millions de déclarations ou plus)"),
}
SIZE_THRESHOLDS = np.array([100_000, 1_000_000, 10_000_000], dtype=float)


def _codes(members: Iterable[str | Member] | None) -> list[Member]:
    if members is None:
        return load_members()
    return [m if isinstance(m, Member) else member(m) for m in members]


def peer_groups(by: str, members: Iterable[str | Member] | None = None) -> dict[str, list[str]]:
    """Group Members (all, or those given) by `region`, `income`, `geography` or `admin_type`.

    Keys follow the vocabulary's order; only non-empty groups appear.
    """
    if by not in DIMENSIONS:
        raise PmmError(_("Unknown peer-group dimension {value!r}; expected one of: "
                         "{expected}").format(value=by, expected=", ".join(DIMENSIONS)))
    attribute, vocabulary = DIMENSIONS[by]
    groups: dict[str, list[str]] = {code: [] for code in vocabulary}
    for m in _codes(members):
        groups[getattr(m, attribute)].append(m.iso3)
    return {code: sorted(set(codes)) for code, codes in groups.items() if codes}


def _counts(values: Iterable[object], labels: Iterable[str]) -> np.ndarray:
    """Declaration counts as floats; every value that is not a number ≥ 0 is reported."""
    counts, errors = [], []
    for label, value in zip(labels, values, strict=True):
        try:
            count = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            count = math.nan
        if not math.isfinite(count) or count < 0:
            errors.append(_("Number of declarations{of}: {value!r}: expected a number ≥ 0")
                          .format(of=f" ({label})" if label else "", value=value))
        counts.append(count)
    if errors:
        raise PmmError(*errors)
    return np.array(counts, dtype=float)


def size_band(declarations: float) -> str:
    """The size band (`small`, `medium`, `large`, `very_large`) of a yearly declaration count."""
    count = _counts([declarations], [""])
    return list(SIZE_BANDS)[int(np.searchsorted(SIZE_THRESHOLDS, count, side="right")[0])]


def size_groups(declarations: Mapping[str, float]) -> dict[str, list[str]]:
    """Group Members by the size band of their declaration counts ({iso3: count})."""
    members = _codes(declarations)
    counts = _counts(declarations.values(), [m.iso3 for m in members])
    bands = np.searchsorted(SIZE_THRESHOLDS, counts, side="right")
    names = list(SIZE_BANDS)
    groups: dict[str, list[str]] = {name: [] for name in names}
    for m, band in zip(members, bands, strict=True):
        groups[names[band]].append(m.iso3)
    return {name: sorted(set(codes)) for name, codes in groups.items() if codes}


def load_groups(path: str | Path) -> dict[str, list[str]]:
    """User-defined peer groups from a CSV (`group,iso3` columns) or a YAML file.

    YAML: a mapping of group name to a list of ISO codes. Every defect is reported at once with
    file, line and value; nothing is returned from a file with any defect.
    """
    path = Path(path)
    if not path.is_file():
        raise PmmError(_("{file}: no such file").format(file=path))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PmmError(_("{file}: not UTF-8 text ({error})").format(file=path, error=exc)) from None
    errors: list[str] = []
    if path.suffix.lower() in (".yaml", ".yml"):
        entries = _yaml_entries(path, text, errors)
    elif path.suffix.lower() == ".csv":
        entries = _csv_entries(path, text)
    else:
        raise PmmError(_("{file}: unknown file type; expected .csv, .yaml or .yml").format(
            file=path))
    return _validate(path, entries, errors)


def _csv_entries(path: Path, text: str) -> list[tuple[int, str, str]]:
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ("group", "iso3") if c not in header]
    if missing:
        raise PmmError(_("{file}:1: missing column(s) {columns}; expected a header row "
                         "with group,iso3").format(file=path, columns=", ".join(missing)))
    reader.fieldnames = header
    return [(reader.line_num, (row["group"] or "").strip(), (row["iso3"] or "").strip())
            for row in reader]


def _yaml_entries(path: Path, text: str, errors: list[str]) -> list[tuple[int, str, str]]:
    try:
        data = YAML(typ="rt").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise PmmError(_("{file}:{line}: not valid YAML: {error}").format(
            file=path, line=line, error=getattr(exc, "problem", exc))) from None
    if not isinstance(data, CommentedMap):
        raise PmmError(_("{file}:1: expected a mapping of group name to a list of ISO codes")
                       .format(file=path))
    entries: list[tuple[int, str, str]] = []
    for name, codes in data.items():
        line = data.lc.key(name)[0] + 1
        if not isinstance(codes, CommentedSeq):
            errors.append(_("{file}:{line}: group {group}: expected a list of ISO codes").format(
                file=path, line=line, group=name))
            continue
        for i, code in enumerate(codes):
            text_code = "" if code is None else str(code)
            entries.append((codes.lc.item(i)[0] + 1, str(name).strip(), text_code.strip()))
    return entries


def _validate(path: Path, entries: list[tuple[int, str, str]],
              errors: list[str]) -> dict[str, list[str]]:
    known = {m.iso3 for m in load_members()}
    groups: dict[str, list[str]] = {}
    for line, group, code in entries:
        where = f"{path}:{line}"
        if not group:
            errors.append(_("{where}: group: empty; every row needs a group name").format(
                where=where))
            continue
        iso3 = code.upper()
        if iso3 not in known:
            errors.append(_("{where}: iso3: {value!r} is not the code of a WCO Member.").format(
                where=where, value=code) + did_you_mean(code))
            continue
        codes = groups.setdefault(group, [])
        if iso3 in codes:
            errors.append(_("{where}: iso3: {value} appears twice in group {group}").format(
                where=where, value=iso3, group=group))
            continue
        codes.append(iso3)
    if not entries and not errors:
        errors.append(_("{file}: no groups defined").format(file=path))
    if errors:
        raise PmmError(*errors)
    return {group: sorted(codes) for group, codes in groups.items()}
