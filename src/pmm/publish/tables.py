"""A release as tables: the Excel results workbook and the CSV downloads.

Two tables, both read from the release through the policy (`source.read`): the individual values
and scores the reader may see, and the group statistics released to the reader's audience, each
withheld statistic with the reason in words. Every text cell goes through
`pmm.conventions.neutralise` (a member's N/A reason is free text), so no cell runs as a formula
when opened; CSV files use the exchange dialect (`pmm.conventions.csv_writer`).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font

from pmm.conventions import csv_writer, neutralise
from pmm.framework.model import Framework
from pmm.i18n import _, language
from pmm.publish.source import ReleaseView, member_name

LEVELS = ("kpi", "kpi_score", "outcome", "dimension", "overall")


def indicator_name(fw: Framework, level: str, code: str, lang: str) -> str:
    """The framework's name of a KPI, outcome or dimension (the code when it has none)."""
    try:
        if level in ("kpi", "kpi_score"):
            return fw.kpi(code).name.get(lang)
        if level == "outcome":
            return fw.outcome(code).name.get(lang)
        if level == "dimension":
            return fw.dimension(code).name.get(lang)
    except KeyError:
        return code
    return code


def level_label(level: str) -> str:
    return {"kpi": _("KPI value"), "kpi_score": _("KPI score"), "outcome": _("outcome score"),
            "dimension": _("dimension score"), "overall": _("overall score"),
            "sdg_target": _("SDG target"), "sdg_goal": _("SDG goal")}.get(level, level)


def status_label(status: str) -> str:
    return {"ok": _("reported"), "not_applicable": _("not applicable"),
            "not_available": _("not available"), "not_computable": _("not computable")
            }.get(status, status)


def disclosure_label(level: str) -> str:
    return {"public": _("public"), "wco": _("WCO level"), "restricted": _("restricted")
            }.get(level, level)


def values_table(view: ReleaseView) -> pd.DataFrame:
    """The individual values and scores of the release that the reader may see."""
    lang = language()
    obs = view.obs[view.obs["level"].isin(LEVELS)]
    unit = {k.code: k.unit for k in view.fw.kpis}
    return pd.DataFrame({
        _("member"): obs["member"].to_numpy(),
        _("member name"): [member_name(m, lang) for m in obs["member"]],
        _("measure"): [level_label(lv) for lv in obs["level"]],
        _("code"): obs["code"].to_numpy(),
        _("name"): [indicator_name(view.fw, lv, c, lang)
                    for lv, c in zip(obs["level"], obs["code"], strict=True)],
        _("variant"): obs["variant"].to_numpy(),
        _("breakdown"): obs["breakdown"].to_numpy(),
        _("value"): np.where(obs["status"] == "ok", obs["value"].astype(float), np.nan),
        _("unit"): [unit.get(c, "") if lv == "kpi" else "score"
                    for lv, c in zip(obs["level"], obs["code"], strict=True)],
        _("status"): [status_label(s) for s in obs["status"]],
        _("note"): obs["reason"].to_numpy(),
        _("disclosure"): [disclosure_label(d) for d in obs["disclosure"]],
    }).reset_index(drop=True)


def statistics_table(view: ReleaseView) -> pd.DataFrame:
    """The group statistics released to the reader's audience (withheld ones with the reason)."""
    lang = language()
    s = view.stats[view.stats["n"] > 0]
    return pd.DataFrame({
        _("measure"): [level_label(lv) for lv in s["level"]],
        _("code"): s["code"].to_numpy(),
        _("name"): [indicator_name(view.fw, lv, c, lang)
                    for lv, c in zip(s["level"], s["code"], strict=True)],
        _("variant"): s["variant"].to_numpy(),
        _("breakdown"): s["breakdown"].to_numpy(),
        _("grouping"): s["grouping"].to_numpy(),
        _("group"): s["group"].to_numpy(),
        _("members"): s["n"].astype(int).to_numpy(),
        _("mean"): s["mean"].to_numpy(), _("median"): s["median"].to_numpy(),
        _("first quartile"): s["q1"].to_numpy(), _("third quartile"): s["q3"].to_numpy(),
        _("note"): [view.reason(r, w) for r, w in zip(s["reason"], s["withheld"], strict=True)],
    }).reset_index(drop=True)


def about_rows(view: ReleaseView) -> list[tuple[str, str]]:
    rel = view.release
    return [
        (_("cycle (reporting year)"), str(view.year)),
        (_("release"), str(view.number)),
        (_("framework"), view.fw.id),
        (_("released on"), rel.created_at.strftime("%Y-%m-%d %H:%M UTC")),
        (_("members in the release"), str(rel.members)),
        (_("audience of the statistics"), disclosure_label(view.audience)),
        (_("minimum group size"), str(rel.min_n)),
        (_("prepared for"), view.who.label),
        (_("scores"), _("computed by customs-pmm; not an official WCO rating")),
    ]


def to_csv(frame: pd.DataFrame) -> str:
    """CSV text (UTF-8, header row, `,`), every text cell neutralised."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow([neutralise(c) for c in frame.columns])
    for row in frame.itertuples(index=False):
        writer.writerow(["" if isinstance(v, float) and not np.isfinite(v) else neutralise(v)
                         for v in row])
    return buffer.getvalue()


def write_csv(view: ReleaseView, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"pmm-{view.year}-r{view.number}"
    paths = [folder / f"{stem}-values.csv", folder / f"{stem}-statistics.csv"]
    paths[0].write_text(to_csv(values_table(view)), encoding="utf-8")
    paths[1].write_text(to_csv(statistics_table(view)), encoding="utf-8")
    return paths


def write_xlsx(view: ReleaseView, path: Path) -> Path:
    """The results workbook: About, Values, Statistics."""
    wb = Workbook()
    about = wb.active
    about.title = _("About")[:31]
    for key, value in about_rows(view):
        about.append([neutralise(key), neutralise(value)])
    about.column_dimensions["A"].width = 32
    about.column_dimensions["B"].width = 60
    for title, frame in ((_("Values"), values_table(view)),
                         (_("Statistics"), statistics_table(view))):
        ws = wb.create_sheet(title[:31])
        ws.append([neutralise(c) for c in frame.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in frame.itertuples(index=False):
            ws.append([None if isinstance(v, float) and not np.isfinite(v) else
                       (neutralise(v) if isinstance(v, str) else
                        (v.item() if hasattr(v, "item") else v)) for v in row])
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = ws.dimensions
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
