"""SDMX open data: a data structure generated from the framework, and a release's data.

One dataflow holds a release: member values and scores (REF_AREA a member) and the group
statistics released to the audience (REF_AREA a peer group, STATISTIC mean, median, quartiles or
the number of members). Every code list is generated: members from the reference data, indicators
from the framework's KPIs, outcomes and dimensions, breakdowns from the framework's breakdowns,
units from the framework's unit vocabulary. SDMX identifiers allow letters, digits, `_`, `@`, `$`
and `-` only, so a KPI code `TF.1.1` becomes `TF_1_1` (the mapping is checked to be one-to-one).

Observation status (SDMX CL_OBS_STATUS): A normal, M not applicable (the member declared the KPI
not applicable), O not available. Confidentiality (CL_CONF_STATUS): F free (public), N WCO level
(not for publication), C restricted, and for a statistic withheld by disclosure control C when the
rule is primary (too few members, dominance) or D when it is secondary.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd
from pysdmx.io import read_sdmx, write_sdmx
from pysdmx.io.format import Format
from pysdmx.io.pd import PandasDataset
from pysdmx.model import (
    Code,
    Codelist,
    Component,
    Components,
    Concept,
    ConceptScheme,
    DataStructureDefinition,
    DataType,
    Role,
)
from pysdmx.model.dataflow import Dataflow

from pmm.errors import PmmError
from pmm.framework.model import Framework, Unit
from pmm.i18n import _
from pmm.members import ADMIN_TYPES, GEOGRAPHIES, INCOME_GROUPS, REGIONS, SIZE_BANDS, load_members
from pmm.publish.source import ReleaseView

AGENCY = "WCO"
VERSION = "1.0"
_ID = re.compile(r"^[A-Za-z0-9_@$\-]+$")
GROUP_LABELS = {"region": REGIONS, "income": INCOME_GROUPS, "geography": GEOGRAPHIES,
                "admin_type": ADMIN_TYPES, "size": SIZE_BANDS}
MEASURES = {"VALUE": ("KPI value", "Valeur de l'ICP"), "SCORE": ("Score (0-100)",
                                                                    "Score (0-100)")}
STATISTICS = {"_Z": ("Not applicable (an individual value)", "Sans objet (valeur individuelle)"),
              "MEAN": ("Mean", "Moyenne"), "MEDIAN": ("Median", "Médiane"),
              "Q1": ("First quartile", "Premier quartile"),
              "Q3": ("Third quartile", "Troisième quartile"),
              "N": ("Number of members", "Nombre de membres")}
OBS_STATUS = {"A": ("Normal value", "Valeur normale"),
              "M": ("Missing value; data cannot exist (not applicable)",
                    "Valeur manquante ; la donnée ne peut exister (sans objet)"),
              "O": ("Missing value; data exist but were not collected (not available)",
                    "Valeur manquante ; non disponible")}
CONF_STATUS = {"F": ("Free", "Libre"),
               "N": ("Not for publication, restricted for internal use only (WCO level)",
                     "Non publiable, usage interne (niveau OMD)"),
               "C": ("Confidential statistical information", "Information confidentielle"),
               "D": ("Secondary confidentiality", "Confidentialité secondaire")}
CONF_OF = {"public": "F", "wco": "N", "restricted": "C"}
UNIT_TEXT = {"percent": ("Percent", "Pourcentage"),
             "percentage_points": ("Percentage points", "Points de pourcentage"),
             "count": ("Number", "Nombre"), "hours": ("Hours", "Heures"),
             "days": ("Days", "Jours"), "ratio": ("Ratio", "Ratio"),
             "currency": ("National currency", "Monnaie nationale"),
             "score": ("Score (0-100)", "Score (0-100)"), "yes_no": ("Yes (1) or no (0)",
                                                                    "Oui (1) ou non (0)")}
DIMENSIONS = ("FREQ", "REF_AREA", "INDICATOR", "MEASURE", "VARIANT", "BREAKDOWN", "STATISTIC",
              "TIME_PERIOD")
ATTRIBUTES = ("UNIT_MEASURE", "OBS_STATUS", "CONF_STATUS", "COMMENT")
CONCEPTS = {
    "FREQ": ("Frequency", "Fréquence"), "REF_AREA": ("Reference area (member or peer group)",
                                                     "Zone de référence (membre ou groupe)"),
    "INDICATOR": ("Indicator (KPI, outcome or dimension)",
                  "Indicateur (ICP, résultat ou dimension)"),
    "MEASURE": ("Measure", "Mesure"), "VARIANT": ("Variant of the KPI", "Variante de l'ICP"),
    "BREAKDOWN": ("Breakdown", "Ventilation"), "STATISTIC": ("Statistic", "Statistique"),
    "TIME_PERIOD": ("Reporting year", "Année de référence"),
    "OBS_VALUE": ("Observation value", "Valeur de l'observation"),
    "UNIT_MEASURE": ("Unit of measure", "Unité de mesure"),
    "OBS_STATUS": ("Observation status", "Statut de l'observation"),
    "CONF_STATUS": ("Confidentiality status", "Statut de confidentialité"),
    "COMMENT": ("Comment (reason for not applicable, disclosure control)",
                "Commentaire (motif de non-applicabilité, contrôle de la divulgation)"),
}


def agency() -> str:
    """The maintenance agency: `PMM_SDMX_AGENCY`, else WCO."""
    value = os.environ.get("PMM_SDMX_AGENCY", AGENCY).strip() or AGENCY
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_\-]*(\.[A-Za-z][A-Za-z0-9_\-]*)*", value):
        raise PmmError(_("SDMX agency {value!r}: expected letters, digits, '_' or '-' (an SDMX "
                         "agency identifier)").format(value=value))
    return value


def text(value: str) -> str:
    """Text for pysdmx: its XML writers turn every `'` into `"` (pysdmx 1.20), which breaks the
    document, so the apostrophe is written as the typographic one."""
    return value.replace("'", "’")


def sdmx_id(code: str) -> str:
    """An SDMX identifier for a framework code (`.` and other characters become `_`)."""
    return re.sub(r"[^A-Za-z0-9_@$\-]", "_", code)


def _unique(pairs: Iterable[tuple[str, str]], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, sid in pairs:
        if sid in out.values() and out.get(code) != sid:
            raise PmmError(_("SDMX {what}: two codes map to the identifier {id}").format(
                what=what, id=sid))
        out[code] = sid
    return out


def breakdown_id(breakdown: str) -> str:
    """`flow=IM;transport_mode=1` → `FLOW_IM__TRANSPORT_MODE_1`; the total is `_T`."""
    if not breakdown:
        return "_T"
    return "__".join(sdmx_id(part.replace("=", "_")).upper() for part in breakdown.split(";"))


def group_id(grouping: str, group: str) -> str:
    return sdmx_id(f"{grouping}_{group}").upper()


@dataclass
class Structure:
    """The generated artefacts: code lists, concept scheme, DSD and dataflow."""

    agency: str
    codelists: list[Codelist]
    concepts: ConceptScheme
    dsd: DataStructureDefinition
    dataflow: Dataflow
    indicator_ids: dict[tuple[str, str], str]  # (level, code) -> INDICATOR id

    @property
    def artefacts(self) -> list:
        return [*self.codelists, self.concepts, self.dsd, self.dataflow]


def _codelist(agency_id: str, cl_id: str, name: str, items: Iterable[tuple[str, str]]
              ) -> Codelist:
    codes = [Code(id=i, name=text(n)) for i, n in items]
    return Codelist(id=cl_id, agency=agency_id, version=VERSION, name=text(name), items=codes,
                    is_external_reference=False, is_final=True)


def structure(fw: Framework, lang: str = "en") -> Structure:
    """The data structure of the PMM open data, generated from framework `fw`."""
    ag = agency()
    k = 1 if lang == "fr" else 0
    indicators: list[tuple[str, str, str]] = []  # level, code, name
    for d in fw.dimensions:
        indicators.append(("dimension", d.code, d.name.get(lang)))
    for o in fw.outcomes:
        indicators.append(("outcome", o.code, o.name.get(lang)))
    for kpi in fw.kpis:
        indicators.append(("kpi", kpi.code, kpi.name.get(lang)))
    ids = _unique(((f"{lv}:{c}", sdmx_id(c)) for lv, c, _n in indicators), "indicator")
    indicator_ids = {(lv, c): ids[f"{lv}:{c}"] for lv, c, _n in indicators}
    variants = sorted({v for kpi in fw.kpis for v in kpi.variants})
    breakdowns: list[tuple[str, str]] = [("_T", _("Total"))]
    seen = {"_T"}
    for kpi in fw.kpis:
        for key in kpi.breakdowns:
            b = fw.breakdown(key)
            for value in b.values:
                bid = breakdown_id(f"{key}={value}")
                if bid not in seen:
                    seen.add(bid)
                    breakdowns.append((bid, f"{b.name.get(lang)}: {value}"))
    members = load_members()
    areas = [(m.iso3, m.name_fr if lang == "fr" else m.name_en) for m in members]
    areas.append((group_id("global", "all"), _("All members")))
    areas.append((group_id("global", "balanced"),
                  _("All members, balanced (each region counts once)")))
    for grouping, labels in GROUP_LABELS.items():
        for code, label in labels.items():
            areas.append((group_id(grouping, code), label.get(lang)))
    codelists = [
        _codelist(ag, "CL_FREQ", "Frequency", [("A", "Annual" if k == 0 else "Annuel")]),
        _codelist(ag, "CL_REF_AREA", _("WCO Members and peer groups"), areas),
        _codelist(ag, "CL_INDICATOR", _("PMM indicators ({framework})").format(
            framework=fw.id), [(indicator_ids[(lv, c)], n) for lv, c, n in indicators]),
        _codelist(ag, "CL_MEASURE", "Measure", [(i, t[k]) for i, t in MEASURES.items()]),
        _codelist(ag, "CL_VARIANT", "Variant", [("_Z", _("Headline"))]
                  + [(sdmx_id(v).upper(), v) for v in variants]),
        _codelist(ag, "CL_BREAKDOWN", "Breakdown", breakdowns),
        _codelist(ag, "CL_STATISTIC", "Statistic", [(i, t[k]) for i, t in STATISTICS.items()]),
        _codelist(ag, "CL_UNIT", "Unit", [(sdmx_id(u).upper(), UNIT_TEXT[u][k])
                                          for u in get_args(Unit)]),
        _codelist(ag, "CL_OBS_STATUS", "Observation status",
                  [(i, t[k]) for i, t in OBS_STATUS.items()]),
        _codelist(ag, "CL_CONF_STATUS", "Confidentiality status",
                  [(i, t[k]) for i, t in CONF_STATUS.items()]),
    ]
    by_id = {cl.id: cl for cl in codelists}
    scheme_urn = f"urn:sdmx:org.sdmx.infomodel.conceptscheme.ConceptScheme={ag}:CS_PMM({VERSION})"
    concept_urn = scheme_urn.replace("ConceptScheme=", "Concept=")
    concepts = {cid: Concept(id=cid, name=text(names[k]), urn=f"{concept_urn}.{cid}")
                for cid, names in CONCEPTS.items()}
    scheme = ConceptScheme(id="CS_PMM", agency=ag, version=VERSION, name="PMM concepts",
                           items=list(concepts.values()), is_external_reference=False,
                           is_final=True)
    enum = {"FREQ": "CL_FREQ", "REF_AREA": "CL_REF_AREA", "INDICATOR": "CL_INDICATOR",
            "MEASURE": "CL_MEASURE", "VARIANT": "CL_VARIANT", "BREAKDOWN": "CL_BREAKDOWN",
            "STATISTIC": "CL_STATISTIC", "UNIT_MEASURE": "CL_UNIT",
            "OBS_STATUS": "CL_OBS_STATUS", "CONF_STATUS": "CL_CONF_STATUS"}
    comps = []
    for cid in DIMENSIONS:
        if cid == "TIME_PERIOD":
            comps.append(Component(id=cid, required=True, role=Role.DIMENSION,
                                   concept=concepts[cid], local_dtype=DataType.PERIOD))
        else:
            comps.append(Component(id=cid, required=True, role=Role.DIMENSION,
                                   concept=concepts[cid], local_dtype=DataType.STRING,
                                   local_codes=by_id[enum[cid]]))
    comps.append(Component(id="OBS_VALUE", required=False, role=Role.MEASURE,
                           concept=concepts["OBS_VALUE"], local_dtype=DataType.DOUBLE))
    for cid in ATTRIBUTES:
        comps.append(Component(id=cid, required=cid in ("OBS_STATUS", "CONF_STATUS"),
                               role=Role.ATTRIBUTE, concept=concepts[cid],
                               local_dtype=DataType.STRING,
                               local_codes=by_id[enum[cid]] if cid in enum else None,
                               attachment_level="O"))
    dsd = DataStructureDefinition(id="DSD_PMM", agency=ag, version=VERSION,
                                  name=text(_("WCO Performance Measurement Mechanism results")),
                                  components=Components(comps), is_external_reference=False,
                                  is_final=True)
    flow = Dataflow(id="DF_PMM", agency=ag, version=VERSION,
                    name=text(_("PMM results of a release ({framework})").format(
                        framework=fw.id)),
                    structure=dsd.short_urn, is_external_reference=False, is_final=True)
    return Structure(ag, codelists, scheme, dsd, flow, indicator_ids)


# ---------------------------------------------------------------- data


def data_frame(view: ReleaseView, st: Structure) -> pd.DataFrame:
    """The release as SDMX observations (columns: dimensions, OBS_VALUE, attributes)."""
    fw = view.fw
    unit_of = {("kpi", k.code): sdmx_id(k.unit).upper() for k in fw.kpis}
    obs = view.obs[view.obs["level"].isin(("kpi", "kpi_score", "outcome", "dimension"))]
    obs = obs[obs["validated"].astype(bool)]
    level = obs["level"].replace({"kpi_score": "kpi"})
    indicator = [st.indicator_ids.get((lv, c)) for lv, c in zip(level, obs["code"], strict=True)]
    values = pd.DataFrame({
        "REF_AREA": obs["member"].to_numpy(),
        "INDICATOR": indicator,
        "MEASURE": np.where(obs["level"] == "kpi", "VALUE", "SCORE"),
        "VARIANT": [sdmx_id(v).upper() if v else "_Z" for v in obs["variant"]],
        "BREAKDOWN": [breakdown_id(b) for b in obs["breakdown"]],
        "STATISTIC": "_Z",
        "OBS_VALUE": obs["value"].astype(float).to_numpy(),
        "UNIT_MEASURE": [unit_of.get(("kpi", c), "SCORE") if lv == "kpi" else "SCORE"
                         for lv, c in zip(obs["level"], obs["code"], strict=True)],
        "OBS_STATUS": np.select([obs["status"] == "ok", obs["status"] == "not_applicable"],
                                ["A", "M"], "O"),
        "CONF_STATUS": obs["disclosure"].map(CONF_OF).to_numpy(),
        "COMMENT": np.where(obs["status"] == "not_applicable", obs["reason"].map(text), ""),
    })
    values.loc[values["OBS_STATUS"] != "A", "OBS_VALUE"] = np.nan
    values = values[values["INDICATOR"].notna()]
    stats = view.stats[view.stats["level"].isin(("kpi", "outcome", "dimension"))
                       & (view.stats["n"] > 0)]
    frames = [values]
    for name, column in (("MEAN", "mean"), ("MEDIAN", "median"), ("Q1", "q1"), ("Q3", "q3"),
                         ("N", "n")):
        part = stats[stats["basis"] == "members"] if name != "MEAN" else stats
        value = part[column].astype(float)
        shown = np.isfinite(value.to_numpy())
        primary = part["reason"].isin(["min_n", "dominance", "single"]).to_numpy()
        unit = [unit_of.get(("kpi", c), "SCORE") if lv == "kpi" else "SCORE"
                for lv, c in zip(part["level"], part["code"], strict=True)]
        frames.append(pd.DataFrame({
            "REF_AREA": [group_id(g, v) for g, v in zip(part["grouping"], part["group"],
                                                        strict=True)],
            "INDICATOR": [st.indicator_ids.get((lv, c)) for lv, c in
                          zip(part["level"], part["code"], strict=True)],
            "MEASURE": np.where(part["level"] == "kpi", "VALUE", "SCORE"),
            "VARIANT": [sdmx_id(v).upper() if v else "_Z" for v in part["variant"]],
            "BREAKDOWN": [breakdown_id(b) for b in part["breakdown"]],
            "STATISTIC": name,
            "OBS_VALUE": value.to_numpy(),
            "UNIT_MEASURE": "COUNT" if name == "N" else unit,
            "OBS_STATUS": "A",
            "CONF_STATUS": np.where(shown, "F" if view.audience == "public" else "N",
                                    np.where(primary, "C", "D")),
            "COMMENT": [("" if ok else text(view.reason(r, w))) for ok, r, w in
                        zip(shown, part["reason"], part["withheld"], strict=True)],
        }))
    out = pd.concat(frames, ignore_index=True)
    out = out[out["INDICATOR"].notna()]
    known = {c.id for c in st.codelists[1].items}
    out = out[out["REF_AREA"].isin(known)]
    out.insert(0, "FREQ", "A")
    out["TIME_PERIOD"] = str(view.year)
    out = out[["FREQ", *DIMENSIONS[1:], "OBS_VALUE", *ATTRIBUTES]]
    return out.sort_values(list(DIMENSIONS)).reset_index(drop=True)


def dataset(view: ReleaseView, st: Structure) -> PandasDataset:
    frame = data_frame(view, st)
    return PandasDataset(structure=st.dsd.to_schema(), data=frame)


def write(view: ReleaseView, folder: Path, lang: str = "en") -> list[Path]:
    """Write the structure (SDMX-ML 3.0) and the data (SDMX-ML 3.0 and SDMX-CSV 2.0)."""
    folder.mkdir(parents=True, exist_ok=True)
    st = structure(view.fw, lang)
    ds = dataset(view, st)
    prepared = datetime.now(UTC).replace(microsecond=0)
    stem = f"pmm-{view.year}-r{view.number}-{view.audience}"
    paths = [folder / "pmm-structure.xml", folder / f"{stem}.xml", folder / f"{stem}.csv"]
    write_sdmx(st.artefacts, Format.STRUCTURE_SDMX_ML_3_0, output_path=str(paths[0]),
               prepared=prepared)
    write_sdmx([ds], Format.DATA_SDMX_ML_3_0, output_path=str(paths[1]), prepared=prepared)
    write_sdmx([ds], Format.DATA_SDMX_CSV_2_0_0, output_path=str(paths[2]))
    return paths


def read(path: Path) -> object:
    """Read an SDMX file back with pysdmx, validated against the official schemas."""
    return read_sdmx(path, validate=True)
