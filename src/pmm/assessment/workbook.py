"""The data-entry workbook, generated from the framework (never written by hand per KPI).

One sheet per dimension: under each outcome, each KPI's row (status, disclosure, reason) and the
rows of the data items it uses, one per year and breakdown. A data item used by several KPIs is
entered once, where first used; later uses show a link to that cell. Input cells are yellow and
carry Excel data validation (whole numbers, 0–100 for percentages, lists for yes/no, statuses
and disclosure). An Instructions sheet comes first; a hidden sheet remembers the cycle, member
and submission version the workbook was made from, so an import can refuse a stale workbook.
Text cells are neutralised against formula injection (`pmm.conventions`) and restored on import.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from pmm.assessment.common import ITEM_STATUSES, KPI_STATUSES
from pmm.assessment.cycles import framework_of
from pmm.assessment.exchange import Parsed, RowReader, item_breakdowns, item_offsets
from pmm.assessment.limits import Defect, limits
from pmm.assessment.submissions import current_values, stored_kpis
from pmm.assessment.validation import describe_expected, empty_values, required_refs
from pmm.conventions import format_value, neutralise, restore
from pmm.errors import PmmError
from pmm.framework.model import DISCLOSURE_LEVELS, Framework
from pmm.i18n import _, use_locale
from pmm.store.models import Cycle, Submission

META_SHEET = "_pmm"
HEADER_ROW = 4
COLS = {"kind": "A", "code": "B", "name": "C", "year": "D", "breakdown": "E", "value": "F",
        "status": "G", "disclosure": "H", "note": "I"}
INPUT = PatternFill("solid", fgColor="FFF2CC")
HEAD = PatternFill("solid", fgColor="1F4E79")
OUTCOME = PatternFill("solid", fgColor="DDEBF7")
KPI_FILL = PatternFill("solid", fgColor="EDEDED")
YES_NO = {"en": ("true", "false"), "fr": ("oui", "non")}
# what a damaged, truncated or foreign file raises while openpyxl reads it
UNREADABLE = (InvalidFileException, OSError, KeyError, ValueError, TypeError, IndexError,
              EOFError, zipfile.BadZipFile, zlib.error, ParseError)


MAX_TITLE = 31  # Excel's limit on a sheet name


def _cut(text: str, limit: int) -> str:
    """`text` within `limit` characters, cut after the last whole word (with "…")."""
    if len(text) <= limit:
        return text
    head = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:-–—")
    if len(head) < limit // 2:  # one very long word: cut inside it rather than lose it all
        head = text[:limit - 1]
    return head + "…"


def sheet_title(code: str, name: str, used: set[str]) -> str:
    """A sheet name: code and name, cut at a word boundary to Excel's 31 characters, unique
    (case-insensitively, as Excel compares them) with a number where two would clash."""
    text = " ".join(re.sub(r"[\[\]:*?/\\']", " ", f"{code} {name}").split())
    title, n = _cut(text, MAX_TITLE), 2
    while title.lower() in used or title == META_SHEET:
        suffix = f" ({n})"
        title = _cut(text, MAX_TITLE - len(suffix)) + suffix
        n += 1
    used.add(title.lower())
    return title


def _write(ws: Worksheet, row: int, col: str, value: object) -> None:
    ws[f"{col}{row}"] = neutralise(value)


class _Validations:
    """One DataValidation per rule, collecting the cells it applies to."""

    def __init__(self, ws: Worksheet) -> None:
        self.ws = ws
        self.rules: dict[tuple, DataValidation] = {}

    def add(self, key: tuple, cell: str, **kwargs: object) -> None:
        dv = self.rules.get(key)
        if dv is None:
            dv = DataValidation(allow_blank=True, showErrorMessage=True, showInputMessage=True,
                                **kwargs)
            self.ws.add_data_validation(dv)
            self.rules[key] = dv
        dv.add(cell)


def _value_rule(fw: Framework, item: str, lang: str) -> tuple[tuple, dict]:
    d = fw.data_item(item)
    lo, hi = d.plausible_bounds()
    expected = describe_expected(fw, item)
    common = {"error": _("Expected {expected}.").format(expected=expected),
              "errorTitle": _("Invalid value"), "prompt": expected}
    if d.type == "yes_no":
        return ("list", lang), {"type": "list",
                                "formula1": '"' + ",".join(YES_NO[lang]) + '"', **common}
    kind = "whole" if d.type == "count" else "decimal"
    if lo is not None and hi is not None:
        return (kind, lo, hi), {"type": kind, "operator": "between", "formula1": str(lo),
                                "formula2": str(hi), **common}
    if lo is not None:
        return (kind, lo, None), {"type": kind, "operator": "greaterThanOrEqual",
                                  "formula1": str(lo), **common}
    if hi is not None:
        return (kind, None, hi), {"type": kind, "operator": "lessThanOrEqual",
                                  "formula1": str(hi), **common}
    return (kind,), {"type": kind, "operator": "between", "formula1": "-1E+300",
                     "formula2": "1E+300", **common}


def _list(values: tuple[str, ...]) -> dict:
    return {"type": "list", "formula1": '"' + ",".join(values) + '"',
            "error": _("Expected one of: {values}.").format(values=", ".join(values)),
            "errorTitle": _("Invalid value")}


def build_workbook(fw: Framework, year: int, member: str, values: pd.DataFrame,
                   kpis: dict[str, tuple[str, str, str]], version: int, lang: str) -> Workbook:
    """The workbook for one member and cycle, in English or French, filled with `values`."""
    with use_locale(lang):  # this call only: other calls keep their own language
        return _build(fw, year, member, values, kpis, version, lang)


def _build(fw: Framework, year: int, member: str, values: pd.DataFrame,
           kpis: dict[str, tuple[str, str, str]], version: int, lang: str) -> Workbook:
    from pmm.members import member as member_info

    who = member_info(member)
    stored = {(r.data_item, int(r.year), r.breakdown): (r.value, r.status, r.note)
              for r in values.itertuples(index=False)}
    offsets = item_offsets(fw)
    wb = Workbook()
    info = wb.active
    info.title = _("Instructions")[:31]
    used: set[str] = {info.title.lower()}
    placed_items: dict[str, str] = {}
    written: set[tuple] = set()

    for dim in fw.dimensions:
        ws = wb.create_sheet(sheet_title(dim.code, dim.name.get(lang), used))
        rules = _Validations(ws)
        _write(ws, 1, "B", f"{dim.name.get(lang)} — {who.name_in(lang)} ({member}) — "
               + _("cycle {year}").format(year=year))
        ws["B1"].font = Font(bold=True, size=14)
        _write(ws, 2, "B", _("Fill the yellow cells. Years are calendar years: T = {t}, "
                             "T-1 = {t1}. Leave a value empty when it is missing.").format(
            t=year, t1=year - 1))
        headers = {"kind": "kind", "code": _("Code"), "name": _("Name"), "year": _("Year"),
                   "breakdown": _("Breakdown"), "value": _("Value"), "status": _("Status"),
                   "disclosure": _("Disclosure"), "note": _("Note or reason")}
        for key, col in COLS.items():
            cell = ws[f"{col}{HEADER_ROW}"]
            cell.value = headers[key]
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = HEAD
        row = HEADER_ROW + 1
        for outcome in fw.outcomes_of_dimension(dim.code):
            _write(ws, row, "B", outcome.code)
            _write(ws, row, "C", outcome.name.get(lang))
            for col in "BCDEFGHI":
                ws[f"{col}{row}"].fill = OUTCOME
                ws[f"{col}{row}"].font = Font(bold=True)
            row += 1
            for kpi in fw.kpis_of_outcome(outcome.code):
                status, disclosure, note = kpis.get(kpi.code, ("reported", kpi.disclosure, ""))
                ws[f"A{row}"] = "kpi"
                _write(ws, row, "B", kpi.code)
                _write(ws, row, "C", kpi.name.get(lang))
                _write(ws, row, "G", status)
                _write(ws, row, "H", disclosure)
                _write(ws, row, "I", note)
                for col in "BCDEF":
                    ws[f"{col}{row}"].fill = KPI_FILL
                ws[f"B{row}"].font = Font(bold=True)
                for col in "GHI":
                    ws[f"{col}{row}"].fill = INPUT
                rules.add(("kpi_status",), f"G{row}", **_list(KPI_STATUSES))
                rules.add(("disclosure",), f"H{row}", **_list(DISCLOSURE_LEVELS))
                row += 1
                items = list(dict.fromkeys([r.item for r in required_refs(fw, kpi)]
                                           + list(kpi.data_items)))
                for item in items:
                    if item not in {d.code for d in fw.data_items}:
                        continue
                    if item in placed_items:
                        ws[f"A{row}"] = "see"
                        _write(ws, row, "B", item)
                        _write(ws, row, "C", fw.data_item(item).name.get(lang))
                        link = placed_items[item]
                        ws[f"F{row}"] = _("→ entered at {cell}").format(cell=link.replace("'", ""))
                        ws[f"F{row}"].hyperlink = Hyperlink(ref=f"F{row}", location=link)
                        ws[f"F{row}"].font = Font(color="0563C1", underline="single")
                        row += 1
                        continue
                    d = fw.data_item(item)
                    label = f"{d.name.get(lang)} ({describe_expected(fw, item)})"
                    keys = [(item, year + off, bd) for off in offsets.get(item, [0])
                            for bd in item_breakdowns(fw, item)]
                    keys += sorted(k for k in stored if k[0] == item and k not in keys)
                    for key in keys:
                        value, st, nt = stored.get(key, (None, "reported", ""))
                        ws[f"A{row}"] = "item"
                        _write(ws, row, "B", item)
                        _write(ws, row, "C", label)
                        ws[f"D{row}"] = key[1]
                        _write(ws, row, "E", key[2])
                        if value is not None and not pd.isna(value):
                            if d.type == "yes_no":
                                ws[f"F{row}"] = YES_NO[lang][0 if value == 1.0 else 1]
                            else:
                                number = float(value)
                                ws[f"F{row}"] = int(number) if number.is_integer() and abs(
                                    number) < 1e15 else number
                        _write(ws, row, "G", st)
                        _write(ws, row, "I", nt)
                        for col in "FGI":
                            ws[f"{col}{row}"].fill = INPUT
                        rule_key, rule = _value_rule(fw, item, lang)
                        rules.add(rule_key, f"F{row}", **rule)
                        rules.add(("item_status",), f"G{row}", **_list(ITEM_STATUSES))
                        written.add(key)
                        row += 1
                    placed_items[item] = f"'{ws.title}'!F{row - len(keys)}"
        ws.column_dimensions["A"].hidden = True
        for col, width in zip("BCDEFGHI", (22, 60, 7, 22, 16, 16, 12, 40), strict=True):
            ws.column_dimensions[col].width = width
        ws.freeze_panes = f"D{HEADER_ROW + 1}"
        for r in ws.iter_rows(min_row=HEADER_ROW + 1, min_col=3, max_col=3):
            r[0].alignment = Alignment(wrap_text=True, vertical="top")

    leftovers = [k for k in stored if k not in written]
    if leftovers:  # values of items no KPI uses: still shown, on a sheet of their own
        ws = wb.create_sheet(sheet_title("+", _("Other data items"), used))
        for key, col in COLS.items():
            ws[f"{col}{HEADER_ROW}"] = key
        row = HEADER_ROW + 1
        for key in sorted(leftovers):
            value, st, nt = stored[key]
            ws[f"A{row}"] = "item"
            _write(ws, row, "B", key[0])
            ws[f"D{row}"] = key[1]
            _write(ws, row, "E", key[2])
            kind = next((d.type for d in fw.data_items if d.code == key[0]), None)
            text = format_value(kind, value)
            ws[f"F{row}"] = float(value) if text and kind != "yes_no" else text or None
            _write(ws, row, "G", st)
            _write(ws, row, "I", nt)
            row += 1
        ws.column_dimensions["A"].hidden = True

    _instructions(info, fw, year, member, who.name_in(lang), lang)
    meta = wb.create_sheet(META_SHEET)
    for i, (k, v) in enumerate((("format", "customs-pmm-workbook"), ("cycle", year),
                                ("member", member), ("framework", fw.id),
                                ("version", version), ("lang", lang)), start=1):
        meta[f"A{i}"], meta[f"B{i}"] = k, v
    meta.sheet_state = "veryHidden"
    return wb


def _instructions(ws: Worksheet, fw: Framework, year: int, member: str, name: str,
                  lang: str) -> None:
    lines = [
        (_("PMM self-assessment: {name} ({member}), cycle {year}").format(
            name=name, member=member, year=year), True),
        (_("Framework {fw}. The reporting year T is {t}; T-1 is {t1}.").format(
            fw=fw.id, t=year, t1=year - 1), False),
        ("", False),
        (_("How to fill this workbook"), True),
        (_("1. Each dimension has its own sheet. Under each outcome, a grey row is a KPI and the "
           "rows below it are the data items it is computed from."), False),
        (_("2. Enter the value of each data item in the yellow Value cell, for each year and "
           "breakdown shown. Leave it empty when the figure is missing."), False),
        (_("3. A data item used by several KPIs is entered once, where first used; later rows "
           "link to that cell."), False),
        (_("4. KPI status: reported; not_applicable (national specificity: give the reason in "
           "the Note); not_available (the data is not collected)."), False),
        (_("5. Data-item status: reported, or not_available when the figure is not collected."),
         False),
        (_("6. Disclosure, per KPI: public (anyone); wco (all Members' National Contact Points "
           "and peer reviewers); restricted (your administration, the Secretariat and your "
           "assigned peer reviewers)."), False),
        (_("7. Yes/no values: {yes} or {no}. Percentages: from 0 to 100. Counts: whole numbers. "
           "Amounts: national currency.").format(yes=YES_NO[lang][0], no=YES_NO[lang][1]),
         False),
        (_("8. Import the workbook with: pmm submission import FILE.xlsx --cycle {year} "
           "--member {member}. The whole file is checked first; nothing is saved while any "
           "error remains, and each error names the sheet and cell.").format(
            year=year, member=member), False),
        (_("9. Then check and submit: pmm submission check, pmm submission submit. Warnings "
           "(unusual changes, outliers) need an explanation before submitting."), False),
    ]
    for i, (text, bold) in enumerate(lines, start=1):
        ws[f"A{i}"] = neutralise(text)
        ws[f"A{i}"].font = Font(bold=bold, size=14 if i == 1 else 11)
        ws[f"A{i}"].alignment = Alignment(wrap_text=True)
    ws.column_dimensions["A"].width = 120


def write_workbook(session: Session, cycle: Cycle, member: str, sub: Submission | None,
                   path: Path, lang: str) -> None:
    fw = framework_of(cycle)
    values = current_values(session, sub) if sub is not None else empty_values()
    kpis = stored_kpis(session, sub) if sub is not None else {}
    wb = build_workbook(fw, cycle.year, member, values, kpis,
                        sub.version if sub is not None else 0, lang)
    tmp = path.with_name(path.name + ".part")
    wb.save(tmp)
    tmp.replace(path)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(restore(str(value)))


def read_workbook(path: Path, fw: Framework) -> Parsed:
    """Read a filled workbook into changes; each defect names FILE!Sheet!Cell."""
    parsed = Parsed()
    check_package(path)
    try:
        wb = load_workbook(path, data_only=True, read_only=True)
    except UNREADABLE as exc:
        parsed.errors.append(_unreadable(path, exc))
        return parsed
    try:
        return _read_sheets(wb, path, fw, parsed)
    except UNREADABLE as exc:  # read-only workbooks are read lazily, sheet by sheet
        parsed.errors.append(_unreadable(path, exc))
        return parsed
    finally:
        wb.close()


def _unreadable(path: Path, exc: Exception) -> Defect:
    return Defect(_("{file}: not a readable Excel workbook, damaged or cut short ({error}); "
                    "save it again from Excel, or make a new template").format(
        file=path, error=f"{type(exc).__name__}: {exc}"),
                  "file")


def check_package(path: Path) -> None:
    """Refuse a workbook whose parts unpack to more than the limits allow, before parsing it:
    an .xlsx is a ZIP archive, and a small one can unpack to gigabytes (a "zip bomb")."""
    bounds = limits()
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise PmmError(_unreadable(path, exc)) from None
    total = sum(p.file_size for p in parts)
    packed = max(1, sum(p.compress_size for p in parts))
    if total > bounds.xlsx_uncompressed_bytes:
        raise PmmError(_("{file}: the workbook unpacks to {size} bytes, above the limit of "
                         "{limit} bytes (set PMM_XLSX_MAX_UNCOMPRESSED_BYTES to change it); "
                         "nothing was read").format(file=path, size=total,
                                                    limit=bounds.xlsx_uncompressed_bytes))
    worst = max(parts, key=lambda p: p.file_size / max(1, p.compress_size), default=None)
    ratios = [total / packed] + ([worst.file_size / max(1, worst.compress_size)] if worst else [])
    # tiny parts compress well whatever they hold: only parts of some size count
    big = worst is not None and worst.file_size >= 1024 * 1024
    if total / packed > bounds.xlsx_ratio or (big and max(ratios) > bounds.xlsx_ratio):
        raise PmmError(_("{file}: the workbook unpacks to {ratio:.0f} times its size, above the "
                         "limit of {limit} (set PMM_XLSX_MAX_RATIO to change it); a real "
                         "workbook is far less compressed, so nothing was read").format(
            file=path, ratio=max(ratios), limit=bounds.xlsx_ratio))


def _read_sheets(wb: Any, path: Path, fw: Framework, parsed: Parsed) -> Parsed:
    if META_SHEET not in wb.sheetnames:
        parsed.errors.append(_("{file}: not a workbook made by `pmm submission template` "
                               "(no {sheet} sheet)").format(file=path, sheet=META_SHEET))
        return parsed
    for k, v in wb[META_SHEET].iter_rows(min_row=1, max_col=2, values_only=True):
        if k:
            parsed.meta[str(k)] = _text(v)
    if parsed.meta.get("framework") not in (None, "", fw.id):
        parsed.errors.append(_("{file}: made for framework {got}, the cycle uses {fw}")
                             .format(file=path, got=parsed.meta["framework"], fw=fw.id))
        return parsed
    rows = RowReader(fw, parsed)
    parsed.sheets = list(wb.sheetnames)
    count, max_rows = 0, limits().import_rows
    for ws in wb.worksheets:
        if ws.title == META_SHEET:
            continue
        for number, cells in enumerate(ws.iter_rows(min_row=HEADER_ROW + 1, max_col=9,
                                                    values_only=True),
                                       start=HEADER_ROW + 1):
            kind = cells[0] if cells else None
            if kind not in ("kpi", "item"):
                continue
            by_name = {name: _text(cells[i]) if i < len(cells) else ""
                       for i, name in enumerate(COLS)}
            by_name["data_item"] = by_name["code"] if kind == "item" else ""
            by_name["kpi"] = by_name["code"] if kind == "kpi" else ""
            yes_no = {YES_NO["fr"][0]: "true", YES_NO["fr"][1]: "false"}
            by_name["value"] = yes_no.get(by_name["value"].strip().lower(),
                                          by_name["value"])
            at = {name: f"{path}!{ws.title}!{COLS[col]}{number}" for name, col in
                  (("kpi", "code"), ("data_item", "code"), ("year", "year"),
                   ("breakdown", "breakdown"), ("value", "value"), ("status", "status"),
                   ("disclosure", "disclosure"), ("note", "note"))}
            label = f"{path}!{ws.title}!{number}"
            count += 1
            if count > max_rows:
                parsed.errors.append(Defect(_(
                    "{where}: more than {limit} rows (a submission has a few hundred; set "
                    "PMM_IMPORT_MAX_ROWS to change the limit); nothing was read beyond this "
                    "row").format(where=label, limit=max_rows), "size"))
                return parsed
            if kind == "kpi":
                rows.kpi(by_name, at, label)
            else:
                rows.item(by_name, at, label)
    return parsed
