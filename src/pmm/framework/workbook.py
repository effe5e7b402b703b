"""The framework as an Excel workbook: one sheet per kind of item, in English or French."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from pmm.conventions import neutralise
from pmm.framework.model import Framework, Text
from pmm.i18n import _, use_locale


def _cell(value: object, lang: str) -> object:
    if isinstance(value, Text):
        value = value.get(lang)
    elif isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = "; ".join(f"{k}: {v}" for k, v in value.items())
    elif value is not None and not isinstance(value, str | int | float | bool):
        value = str(value)
    return neutralise(value)


def sheets(fw: Framework) -> list[tuple[str, list[str], list[list[object]]]]:
    """(sheet title, column names, rows) for every kind of item."""
    def provenance(item: object) -> list[object]:
        p = item.provenance  # type: ignore[attr-defined]
        return [p.status, p.source or p.rationale or ""]

    return [
        (_("Dimensions"), ["code", "name", "definition", "status", "source_or_rationale"],
         [[d.code, d.name, d.definition, *provenance(d)] for d in fw.dimensions]),
        (_("Outcomes"), ["code", "dimension", "name", "definition", "sdg_targets", "tools",
                         "status", "source_or_rationale"],
         [[o.code, o.dimension, o.name, o.definition, o.sdg_targets, o.tools, *provenance(o)]
          for o in fw.outcomes]),
        (_("KPIs"), ["code", "outcome", "name", "definition", "formula", "variants", "unit",
                     "direction", "years", "breakdowns", "data_items", "sdg_targets", "tools",
                     "scoring", "target", "disclosure", "status", "source_or_rationale"],
         [[k.code, k.outcome, k.name, k.definition, k.formula, k.variants, k.unit, k.direction,
           k.years, k.breakdowns, k.data_items, k.sdg_targets, k.tools,
           k.scoring.model_dump(), k.target, k.disclosure, *provenance(k)] for k in fw.kpis]),
        (_("Data items"), ["code", "name", "definition", "type", "min", "max", "breakdowns",
                           "part_of", "measurable"],
         [[d.code, d.name, d.definition, d.type, d.min, d.max, d.breakdowns, d.part_of,
           d.measurable] for d in fw.data_items]),
        (_("SDG targets"), ["code", "name"], [[t.code, t.name] for t in fw.sdg_targets]),
        (_("Tools"), ["code", "name", "kind", "working_body", "url"],
         [[t.code, t.name, t.kind, t.working_body, t.url] for t in fw.tools]),
        (_("Working bodies"), ["code", "name"], [[w.code, w.name] for w in fw.working_bodies]),
    ]


def write_workbook(fw: Framework, path: Path, lang: str = "en") -> None:
    """The framework as a workbook in `lang`, whatever the language of the caller."""
    with use_locale(lang):
        _write(fw, path, lang)


def _write(fw: Framework, path: Path, lang: str) -> None:
    book = Workbook()
    info = book.active
    info.title = _("Framework")
    meta = fw.framework
    for row in ([_("id"), meta.id], [_("title"), meta.title.get(lang)], [_("status"), meta.status],
                [_("date"), meta.date.isoformat()], [_("parent"), meta.parent or ""],
                [_("scores"), fw.aggregation.label.get(lang)]):
        info.append([_cell(v, lang) for v in row])
    info.column_dimensions["A"].width = 14
    info.column_dimensions["B"].width = 90
    for title, columns, rows in sheets(fw):
        sheet = book.create_sheet(title)
        sheet.append(columns)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([_cell(v, lang) for v in row])
        sheet.freeze_panes = "B2"
        for i, name in enumerate(columns, start=1):
            wide = name in ("name", "definition", "formula", "source_or_rationale")
            sheet.column_dimensions[get_column_letter(i)].width = 48 if wide else 14
    book.save(path)
