"""The submission CSV (DESIGN.md "Exchange conventions"): export, and reading it for an import
(`pmm.assessment.imports` applies what was read).

Columns `kpi,data_item,year,breakdown,value,status,disclosure,note`. A data-item row has `kpi`
empty; a KPI row has `data_item`, `year`, `breakdown` and `value` empty. The export lists every
value the framework asks for (empty where missing) and every KPI, so it doubles as a template;
the import applies the rows it holds (an empty value removes a value) and leaves the others.
Text cells are neutralised against formula injection on export and restored on import, so
export → import of an unchanged file changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from pmm.assessment.limits import PROGRESS_BYTES, Defect, limits
from pmm.assessment.submissions import (
    ItemChange,
    KpiChange,
    current_values,
    effective_kpis,
    stored_kpis,
)
from pmm.assessment.validation import describe_expected, required_refs
from pmm.conventions import (
    SUBMISSION_COLUMNS,
    DecimalCommaError,
    csv_writer,
    format_breakdown,
    format_value,
    neutralise,
    parse_value,
    restore,
    semicolon_hint,
    sniff_delimiter,
)
from pmm.framework.model import Framework
from pmm.i18n import _, language
from pmm.store.models import Submission

Progress = Callable[[str], None]  # receives one line about a long import's progress
COLUMNS = list(SUBMISSION_COLUMNS)



def item_offsets(fw: Framework) -> dict[str, list[int]]:
    """For each data item, the years (offsets from T) that some KPI uses; T for the others."""
    offsets: dict[str, set[int]] = {d.code: {0} for d in fw.data_items}
    for kpi in fw.kpis:
        for ref in required_refs(fw, kpi):
            offsets.setdefault(ref.item, {0}).add(ref.year)
        if kpi.years == "T,T-1":
            for item in kpi.data_items:
                offsets.setdefault(item, {0}).add(-1)
    return {item: sorted(offs, reverse=True) for item, offs in offsets.items()}


def item_breakdowns(fw: Framework, item: str) -> list[str]:
    """The total, then each value of each breakdown key of the item."""
    out = [""]
    for key in fw.data_item(item).breakdowns:
        out += [format_breakdown({key: v}) for v in fw.breakdown_values(item, key)]
    return out


def grid(fw: Framework, year: int) -> list[tuple[str, int, str]]:
    """Every (data item, calendar year, breakdown) the framework asks for, in display order."""
    offsets = item_offsets(fw)
    return [(d.code, year + off, bd) for d in fw.data_items for off in offsets[d.code]
            for bd in item_breakdowns(fw, d.code)]


@dataclass
class SubmissionRows:
    """A submission laid out for a file: item rows (grid + anything else stored), KPI rows."""

    items: list[tuple[str, int, str, float | None, str, str]]
    kpis: list[tuple[str, str, str, str]]


def layout(fw: Framework, year: int, values: pd.DataFrame,
           kpis: dict[str, tuple[str, str, str]]) -> SubmissionRows:
    stored = {(r.data_item, int(r.year), r.breakdown): (r.value, r.status, r.note)
              for r in values.itertuples(index=False)}
    rows = []
    seen = set()
    order = {d.code: i for i, d in enumerate(fw.data_items)}
    for key in grid(fw, year):
        value, status, note = stored.get(key, (None, "reported", ""))
        rows.append((*key, value, status, note))
        seen.add(key)
    extra = sorted((k for k in stored if k not in seen),
                   key=lambda k: (order.get(k[0], len(order)), k[0], -k[1], k[2]))
    for key in extra:  # stored values outside the grid (e.g. two-key breakdowns): kept visible
        rows.append((*key, *stored[key]))
    rows.sort(key=lambda r: order.get(r[0], len(order)))  # stable: grid order within an item
    effective = effective_kpis(fw, kpis)
    return SubmissionRows(rows, [(k.code, *effective[k.code]) for k in fw.kpis])


def export_csv(session: Session, sub: Submission | None, fw: Framework, year: int) -> str:
    """The submission (or, with None, an empty template) as CSV text."""
    values = current_values(session, sub) if sub is not None else pd.DataFrame(
        columns=["data_item", "year", "breakdown", "value", "status", "note"])
    kpis = stored_kpis(session, sub) if sub is not None else {}
    return render_csv(fw, year, values, kpis)


def render_csv(fw: Framework, year: int, values: pd.DataFrame,
               kpis: dict[str, tuple[str, str, str]]) -> str:
    """The exchange CSV of these values and stored KPI rows."""
    rows = layout(fw, year, values, kpis)
    kinds = {d.code: d.type for d in fw.data_items}
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(COLUMNS)
    for item, y, bd, value, status, note in rows.items:
        writer.writerow(["", neutralise(item), y, neutralise(bd),
                         format_value(kinds.get(item), value), status, "", neutralise(note)])
    for kpi, status, disclosure, note in rows.kpis:
        writer.writerow([neutralise(kpi), "", "", "", "", status, disclosure, neutralise(note)])
    return out.getvalue()


@dataclass
class Parsed:
    """Rows read from a file, the location of each cell, and the defects found while reading."""

    items: list[ItemChange] = field(default_factory=list)
    kpis: list[KpiChange] = field(default_factory=list)
    where: dict[tuple, str] = field(default_factory=dict)  # (key, field) → location
    errors: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    sheets: list[str] = field(default_factory=list)  # a workbook's sheets, in order

    def locate(self, key: tuple, fld: str) -> str | None:
        return self.where.get((key, fld)) or self.where.get((key, ""))


def _expected_text(fw: Framework, item: str) -> str:
    try:
        return describe_expected(fw, item)
    except KeyError:
        return _("a number")


class RowReader:
    """Turns one row of cells (CSV line or worksheet row) into a change, collecting defects."""

    def __init__(self, fw: Framework, parsed: Parsed) -> None:
        self.fw = fw
        self.parsed = parsed
        self.kinds = {d.code: d.type for d in fw.data_items}
        self.first: dict[tuple, str] = {}

    def item(self, cells: dict[str, str], at: dict[str, str], row_label: str) -> None:
        p = self.parsed
        item = cells["data_item"].strip()
        bad = False
        year_text = cells["year"].strip()
        try:
            year = int(year_text)
        except ValueError:
            p.errors.append(Defect(_("{where}: year {value!r} is not a calendar year (expected "
                                     "e.g. 2024)").format(where=at["year"], value=year_text),
                                   "year"))
            bad, year = True, 0
        breakdown = cells["breakdown"].strip()
        status = cells["status"].strip() or "reported"
        note = cells["note"]
        value_text = cells["value"]
        try:
            value = parse_value(self.kinds.get(item), value_text)
        except ValueError as exc:
            p.errors.append(Defect(_("{where}: {value!r} is not a number (expected {expected} "
                                     "for {item})").format(
                where=at["value"], value=value_text.strip(),
                expected=_expected_text(self.fw, item), item=item or "?")
                + (f"; {exc}" if isinstance(exc, DecimalCommaError) else ""), "number"))
            bad, value = True, None
        if cells.get("disclosure", "").strip():
            p.errors.append(Defect(_("{where}: disclosure is chosen per KPI: leave it empty on "
                                     "a data-item row").format(where=at["disclosure"]),
                                   "disclosure"))
            bad = True
        if not item:
            return
        key = (item, year, breakdown)
        if key in self.first and not bad:
            p.errors.append(Defect(_("{where}: {item}, year {year}, breakdown {bd!r} is already "
                                     "given at {first}").format(
                where=row_label, item=item, year=year, bd=breakdown, first=self.first[key]),
                "duplicate"))
            return
        self.first[key] = row_label
        for fld, loc in at.items():
            p.where[(key, fld)] = loc
        if not bad:
            p.items.append(ItemChange(item, year, breakdown, value, status, note))

    def kpi(self, cells: dict[str, str], at: dict[str, str], row_label: str) -> None:
        p = self.parsed
        code = cells["kpi"].strip()
        for fld in ("year", "breakdown", "value"):
            if cells.get(fld, "").strip():
                p.errors.append(Defect(_("{where}: a KPI row has no {field} (it belongs to "
                                         "data-item rows); got {value!r}").format(
                    where=at[fld], field=fld, value=cells[fld].strip()), "kpi_row"))
        key = ("kpi", code)
        if key in self.first:
            p.errors.append(Defect(_("{where}: KPI {kpi} is already given at {first}").format(
                where=row_label, kpi=code, first=self.first[key]), "duplicate"))
            return
        self.first[key] = row_label
        for fld, loc in at.items():
            p.where[(key, fld)] = loc
        p.kpis.append(KpiChange(code, cells["status"].strip() or None,
                                cells["disclosure"].strip() or None, cells["note"]))


def read_csv(path: Path, fw: Framework, progress: Progress | None = None) -> Parsed:
    """Read a submission CSV into changes, with one error line per defect."""
    parsed = Parsed()
    name = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        parsed.errors.append(_("{file}: not UTF-8 text (byte {pos})").format(file=name,
                                                                             pos=exc.start))
        return parsed
    except OSError as exc:
        parsed.errors.append(f"{name}: {exc.strerror}")
        return parsed
    delimiter = sniff_delimiter(text.split("\n", 1)[0], COLUMNS)
    if delimiter == ";" and language() != "fr":
        parsed.errors.append(f"{name}:1: {semicolon_hint()}")
        return parsed
    stream = io.StringIO(text, newline="")
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        parsed.errors.append(_("{file}:1: empty file; expected the header {header}").format(
            file=name, header=",".join(COLUMNS)))
        return parsed
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        parsed.errors.append(_("{file}:1: header {got}: expected the columns {header}").format(
            file=name, got=",".join(header), header=",".join(COLUMNS))
            + (_(" (missing: {cols})").format(cols=", ".join(missing)) if missing else "")
            + (_(" (unknown: {cols})").format(cols=", ".join(unknown)) if unknown else ""))
        return parsed
    rows = RowReader(fw, parsed)
    last = reader.line_num
    max_rows = limits().import_rows
    report = _reporter(name, len(text), progress)
    count = 0
    while True:
        line = last + 1
        try:
            raw = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            parsed.errors.append(_csv_error(name, line, exc))
            break  # the rest of the file cannot be split into cells reliably
        last = reader.line_num
        count += 1
        if count > max_rows:
            parsed.errors.append(Defect(_(
                "{file}:{line}: more than {limit} rows (a submission has a few hundred; set "
                "PMM_IMPORT_MAX_ROWS to change the limit); nothing was read beyond this "
                "line").format(file=name, line=line, limit=max_rows), "size"))
            break
        if count % 10_000 == 0:
            report(stream.tell(), count)
        if not any(cell.strip() for cell in raw):
            continue
        if len(raw) != len(header):
            parsed.errors.append(Defect(_("{file}:{line}: {n} cells, expected {m}").format(
                file=name, line=line, n=len(raw), m=len(header)), "cells"))
            continue
        cells = {h: str(restore(c)) for h, c in zip(header, raw, strict=True)}
        at = {c: f"{name}:{line}: {_('column')} {c}" for c in COLUMNS}
        label = f"{name}:{line}"
        is_kpi, is_item = bool(cells["kpi"].strip()), bool(cells["data_item"].strip())
        if is_kpi == is_item:
            parsed.errors.append(Defect(_("{file}:{line}: fill either kpi (a KPI row) or "
                                          "data_item (a data-item row), not {which}").format(
                file=name, line=line, which=_("both") if is_kpi else _("neither")), "row_kind"))
        elif is_kpi:
            rows.kpi(cells, at, label)
        else:
            rows.item(cells, at, label)
    return parsed


def _csv_error(name: str, line: int, exc: csv.Error) -> Defect:
    if "field larger than field limit" in str(exc):
        return Defect(_("{file}:{line}: a cell is longer than {limit} characters (a note or a "
                        "value that long is not a submission's; check the quoting of this "
                        "line)").format(file=name, line=line, limit=csv.field_size_limit()),
                      "cells")
    return Defect(_("{file}:{line}: not a readable CSV line ({error}); expected comma-separated "
                    "cells with \"double quotes\" around cells that hold commas or line "
                    "breaks").format(file=name, line=line, error=exc), "cells")


def _reporter(name: str, total: int, progress: Progress | None) -> Callable[[int, int], None]:
    """A function reporting how far the reading of a big file got (no-op for small files)."""
    if progress is None or total < PROGRESS_BYTES:
        return lambda _done, _rows: None

    def report(done: int, rows: int) -> None:
        progress(_("{file}: read {pct}% ({rows} rows)").format(
            file=name, pct=min(100, done * 100 // max(total, 1)), rows=rows))

    return report
