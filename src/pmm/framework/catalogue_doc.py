"""The shipped catalogue as a Markdown page, in English (`docs/catalogue.md`) and in French
(`docs/fr/catalogue.md`), generated from the YAML so that the pages never drift from the data.

`python -m pmm.framework.catalogue_doc` rewrites both pages; `--check` only says whether they are
current (tests/framework/test_catalogue_doc.py runs it). The wording around the data is in the
two dicts below; names, definitions, data sources, SDG wording and tool names come from the
catalogue in each language. A provenance rationale exists in English only (the model holds one
text), so the French page gives it as written, marked as English.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

from babel.dates import format_date

from pmm.framework.loader import load
from pmm.framework.model import (
    KPI,
    BandsRule,
    Framework,
    GoalpostsRule,
    Outcome,
    Provenance,
    TargetRule,
)

FRAMEWORK = "wco-pmm-v1"
# Facts about the official PMM v.1 that the catalogue cannot hold: how many official items exist.
OFFICIAL_OUTCOMES, OFFICIAL_KPIS = 23, 51
PAGES = {"en": Path("docs/catalogue.md"), "fr": Path("docs/fr/catalogue.md")}

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "# The shipped catalogue `{id}`",
        "generated": "<!-- Generated from src/pmm/framework/catalog/{id}/*.yaml by "
                     "`python -m pmm.framework.catalogue_doc`; regenerate after any change to the "
                     "YAML instead of editing by hand. -->",
        "translated": "",
        "intro": "**{title}** (*{other_title}*): status {status}, dated {date} (endorsement by "
                 "the WCO Council, June 2023).",
        "holds": "The catalogue holds {d} dimensions, {o} expected outcomes, {k} KPIs and {i} data "
                 "items ({m} measurable from microdata). It links them to {s} SDG targets and to "
                 "{t} WCO instruments and tools, which are owned by {w} working bodies.",
        "public": "Only part of PMM v.1 is public. Each dimension, outcome and KPI is therefore "
                  "marked as one of:",
        "confirmed_def": "- **confirmed**: the name is verbatim from a WCO-owned page, cited "
                         "below;",
        "reconstructed_def": "- reconstructed: written by customs-pmm, with a one-line basis "
                             "naming the WCO instrument, the WTO Trade Facilitation Agreement "
                             "(TFA) article or the practice it follows.",
        "counts": "{co} of the {oo} official outcome names and {ck} of the {ok} official KPI "
                  "names are confirmed. The official list has {ok} KPIs; this catalogue has {k}, "
                  "because each reconstructed outcome gets two to four KPIs. All formulas, "
                  "scoring rules, targets, default disclosure levels, SDG targets and tool links "
                  "are reconstructed, including those of confirmed KPIs. Scores computed from "
                  "this catalogue are not official WCO ratings. The file layout, and how to load "
                  "the official catalogue as data without changing code, are described in "
                  "[src/pmm/framework/catalog/README.md]({up}src/pmm/framework/catalog/README.md).",
        "summary": "## Summary",
        "summary_head": "| dimension | expected outcomes | KPIs | confirmed outcomes | confirmed "
                        "KPIs |",
        "total": "total",
        "confirmed_items": "## Confirmed items and their sources",
        "confirmed_head": "| level | code | name | source |",
        "dimension": "dimension", "outcome": "outcome", "KPI": "KPI",
        "how": "## How to read the KPI tables",
        "how_items": """- **formula**: the formula language ([formula-language.md](formula-language.md)). `x[T-1]` is the value for the year before the reporting year T, and `x{flow=IM}` is one breakdown value. Variation KPIs are `100 * (x - x[T-1]) / x[T-1]`.
- **better**: ↑ higher values are better; ↓ lower values are better.
- **years**: `T` (the reporting year only) or `T,T-1` (the KPI also needs the previous year).
- **by**: the breakdown keys the KPI is also computed by. `flow` is import / export / transit; `transport_mode` follows UN/ECE Recommendation 19.
- **scoring**: how a value becomes a score, in this project's documented method. *Bands* give levels A, B and C at the thresholds shown, and D otherwise. *Goalposts* map values between the low and the high goalpost linearly onto the score scale. *Percentile rank* and *z-score* compare against the peer group.
- **disclosure**: the default level. A Member may choose another one per KPI: public, wco (all National Contact Points and peer reviewers), or restricted (the Member, the Secretariat and its assigned peer reviewers).""",  # noqa: E501
        "basis_confirmed": "Basis: confirmed by <{source}>.",
        "basis_reconstructed": "Basis: reconstructed: {rationale}",
        "english": "", "colon": ":",
        "sdg_tools": "SDG targets: {sdg} · WCO tools: {tools}",
        "kpi_head": "| code | KPI | formula | unit | better | years | by | scoring | disclosure "
                    "| status |",
        "variant": "variant",
        "kpi_basis": "*Basis:*",
        "source": "source",
        "confirmed_word": "confirmed", "reconstructed_word": "reconstructed",
        "bands": "bands", "goalposts": "goalposts", "percentile_rank": "percentile rank",
        "zscore": "zscore", "distance_to_target": "distance to target",
        "items": "## Data items",
        "items_intro": "Items marked *microdata* are measured by `pmm measure items` from an "
                       "administration's transaction records. Their codes and definitions are "
                       "fixed by the microdata contract. The administration reports the others.",
        "items_head": "| code | name | type | by | part of | source | used by |",
        "microdata": "microdata",
        "sdg": "## SDG targets",
        "sdg_head": "| target | wording (shortened) | linked outcomes and KPIs |",
        "tools": "## WCO instruments and tools",
        "tools_head": "| code | instrument or tool | kind | working body | linked outcomes and "
                      "KPIs |",
        "aggregation": "## Aggregation",
        "aggregation_text": "Outcome scores average their KPIs, and dimension scores average "
                            "their outcomes: {method} mean, computed only when at least {pct}% "
                            "of the children have a score. No overall score is defined. As in "
                            "PEFA, results are read per KPI, outcome and dimension. The example "
                            "weight sets are {sets}.",
        "limits": "## Known limits",
        "limits_items": """- Trade values (`trade_value`, `trade_value_aeo`, `ecommerce_value`) have no transit value. The `flow` key lists IM, EX and TR, so the TR value of TF.2.2 and of the value variant of TF.3.1 is always missing.
- Release-time KPIs cover import declarations only, as in the WCO Time Release Study and TFA Art. 7.6.""",  # noqa: E501
    },
    "fr": {
        "title": "# Le catalogue livré `{id}`",
        "generated": "<!-- Produit à partir de src/pmm/framework/catalog/{id}/*.yaml par "
                     "`python -m pmm.framework.catalogue_doc` ; le reproduire après toute "
                     "modification du YAML au lieu de le modifier à la main. -->",
        "translated": "*Traduction de [l'original anglais](../catalogue.md), qui fait foi en cas "
                      "de divergence.*",
        "intro": "**{title}** (*{other_title}*) : statut {status}, daté du {date} (approbation "
                 "par le Conseil de l'OMD, juin 2023).",
        "holds": "Le catalogue contient {d} dimensions, {o} résultats attendus, {k} indicateurs et "
                 "{i} données élémentaires ({m} mesurables à partir des microdonnées). Il les "
                 "rattache à {s} cibles ODD et à {t} instruments et outils de l'OMD, qui relèvent "
                 "de {w} organes de travail.",
        "public": "Le MMP v.1 n'est que partiellement public. Chaque dimension, résultat attendu "
                  "et indicateur est donc marqué comme :",
        "confirmed_def": "- **confirmé** (confirmed) : l'intitulé est repris mot pour mot d'une "
                         "page de l'OMD, citée ci-dessous ;",
        "reconstructed_def": "- reconstitué (reconstructed) : rédigé par customs-pmm, avec un "
                             "fondement d'une ligne qui nomme l'instrument de l'OMD, l'article de "
                             "l'Accord de l'OMC sur la facilitation des échanges (AFE) ou la "
                             "pratique suivie.",
        "counts": "{co} des {oo} intitulés officiels de résultats et {ck} des {ok} intitulés "
                  "officiels d'indicateurs sont confirmés. La liste officielle compte {ok} "
                  "indicateurs ; ce catalogue en compte {k}, car chaque résultat reconstitué "
                  "reçoit de deux à quatre indicateurs. Toutes les formules, règles de notation, "
                  "cibles, niveaux de diffusion par défaut, cibles ODD et liens vers les outils "
                  "sont reconstitués, y compris ceux des indicateurs confirmés. Les scores "
                  "calculés à partir de ce catalogue ne sont pas des notations officielles de "
                  "l'OMD. L'organisation des fichiers, et la façon de charger le catalogue "
                  "officiel comme donnée sans modifier le code, sont décrites dans "
                  "[src/pmm/framework/catalog/README.md]({up}src/pmm/framework/catalog/README.md) "
                  "(en anglais).",
        "summary": "## Synthèse",
        "summary_head": "| dimension | résultats attendus | indicateurs | résultats confirmés | "
                        "indicateurs confirmés |",
        "total": "total",
        "confirmed_items": "## Éléments confirmés et leurs sources",
        "confirmed_head": "| niveau | code | intitulé | source |",
        "dimension": "dimension", "outcome": "résultat", "KPI": "indicateur",
        "how": "## Comment lire les tableaux des indicateurs",
        "how_items": """- **formule** : le langage des formules ([formula-language.md](formula-language.md)). `x[T-1]` est la valeur de l'année précédant l'année de référence T, et `x{flow=IM}` une valeur de ventilation. Les indicateurs de variation s'écrivent `100 * (x - x[T-1]) / x[T-1]`.
- **sens** : ↑ plus la valeur est haute, mieux c'est ; ↓ plus elle est basse, mieux c'est.
- **années** : `T` (l'année de référence seulement) ou `T,T-1` (l'indicateur a aussi besoin de l'année précédente).
- **par** : les clés de ventilation selon lesquelles l'indicateur est aussi calculé. `flow` est importation / exportation / transit ; `transport_mode` suit la Recommandation 19 de la CEE-ONU.
- **notation** : comment une valeur devient un score, selon la méthode documentée de ce projet. Les *paliers* (bands) donnent les niveaux A, B et C aux seuils indiqués, et D sinon. Les *bornes* (goalposts) projettent linéairement les valeurs comprises entre la borne basse et la borne haute sur l'échelle des scores. Le *rang centile* (percentile rank) et le *z-score* comparent au groupe de pairs.
- **diffusion** : le niveau par défaut. Un Membre peut en choisir un autre pour chaque indicateur : public, wco (tous les points de contact nationaux et les examinateurs) ou restricted (le Membre, le Secrétariat et les examinateurs désignés pour sa soumission).""",  # noqa: E501
        "basis_confirmed": "Fondement : confirmé par <{source}>.",
        "basis_reconstructed": "Fondement : reconstitué : *(en anglais)* {rationale}",
        "english": "*(en anglais)* ", "colon": " :",
        "sdg_tools": "Cibles ODD : {sdg} · Outils de l'OMD : {tools}",
        "kpi_head": "| code | indicateur | formule | unité | sens | années | par | notation | "
                    "diffusion | statut |",
        "variant": "variante",
        "kpi_basis": "*Fondement :*",
        "source": "source",
        "confirmed_word": "confirmé", "reconstructed_word": "reconstitué",
        "bands": "paliers", "goalposts": "bornes", "percentile_rank": "rang centile",
        "zscore": "z-score", "distance_to_target": "distance à la cible",
        "items": "## Données élémentaires",
        "items_intro": "Les données marquées *microdonnées* sont mesurées par `pmm measure items` "
                       "à partir des enregistrements de transactions d'une administration. Leurs "
                       "codes et définitions sont fixés par le contrat des microdonnées. "
                       "L'administration communique les autres.",
        "items_head": "| code | intitulé | type | par | partie de | source | utilisée par |",
        "microdata": "microdonnées",
        "sdg": "## Cibles ODD",
        "sdg_head": "| cible | libellé (abrégé) | résultats et indicateurs rattachés |",
        "tools": "## Instruments et outils de l'OMD",
        "tools_head": "| code | instrument ou outil | nature | organe de travail | résultats et "
                      "indicateurs rattachés |",
        "aggregation": "## Agrégation",
        "aggregation_text": "Le score d'un résultat est la moyenne de ses indicateurs, et celui "
                            "d'une dimension la moyenne de ses résultats : moyenne {method}, "
                            "calculée seulement lorsqu'au moins {pct} % des enfants ont un score. "
                            "Aucun score d'ensemble n'est défini. Comme dans PEFA, les résultats "
                            "se lisent par indicateur, résultat et dimension. Les jeux de poids "
                            "d'exemple sont {sets}.",
        "limits": "## Limites connues",
        "limits_items": """- Les valeurs des échanges (`trade_value`, `trade_value_aeo`, `ecommerce_value`) n'ont pas de valeur de transit. La clé `flow` liste IM, EX et TR ; la valeur TR de TF.2.2 et de la variante en valeur de TF.3.1 manque donc toujours.
- Les indicateurs de temps de mainlevée ne couvrent que les déclarations d'importation, comme l'Étude sur le temps nécessaire à la mainlevée de l'OMD et l'article 7.6 de l'AFE.""",  # noqa: E501
    },
}
METHODS = {"en": {"arithmetic": "arithmetic", "geometric": "geometric", "harmonic": "harmonic"},
           "fr": {"arithmetic": "arithmétique", "geometric": "géométrique",
                  "harmonic": "harmonique"}}
KINDS_FR = {"convention": "convention", "standard": "norme", "guide": "guide",
            "programme": "programme", "declaration": "déclaration", "other": "autre"}
STATUS_FR = {"endorsed": "approuvé", "draft": "projet", "retired": "retiré"}


def _date(day: dt.date, lang: str) -> str:
    return day.isoformat() if lang == "en" else format_date(day, "d MMMM y", locale="fr")


def _num(x: float) -> str:
    return f"{x:g}"


def _scoring(kpi: KPI, w: dict[str, str]) -> str:
    rule = kpi.scoring
    if isinstance(rule, BandsRule):
        sign = "≥" if kpi.direction == "higher" else "≤"
        return w["bands"] + " " + ", ".join(f"{b.level} {sign} {_num(b.threshold)}"
                                            for b in rule.bands)
    if isinstance(rule, GoalpostsRule):
        return f"{w['goalposts']} {_num(rule.low)} → {_num(rule.high)}"
    if isinstance(rule, TargetRule):
        return f"{w['distance_to_target']} {_num(rule.target)}"
    return w[rule.method]


def _basis(prov: Provenance, w: dict[str, str]) -> str:
    if prov.status == "confirmed":
        text = w["basis_confirmed"].format(source=prov.source)
        return text + (" " + w["english"] + prov.rationale if prov.rationale else "")
    return w["basis_reconstructed"].format(rationale=prov.rationale or "")


def _kpi_basis(prov: Provenance, w: dict[str, str]) -> str:
    if prov.status == "confirmed":
        head = f"{w['source']} <{prov.source}>."
        return f"{w['kpi_basis']} {head}" + (" " + w["english"] + prov.rationale
                                             if prov.rationale else "")
    return f"{w['kpi_basis']} {w['english']}{prov.rationale or ''}"


def _linked(fw: Framework, has: Callable[[Outcome | KPI], bool]) -> str:
    """The outcomes, then the KPIs, that `has` picks, in the framework's order."""
    codes = [o.code for o in fw.outcomes if has(o)] + [k.code for k in fw.kpis if has(k)]
    return ", ".join(codes)


def render(fw: Framework, lang: str) -> str:
    """The catalogue page in `lang` ("en" or "fr")."""
    w = WORDS[lang]
    other = "fr" if lang == "en" else "en"
    up = "../" if lang == "en" else "../../"
    info = fw.framework
    out: list[str] = [w["title"].format(id=info.id), ""]
    out += [w["generated"].format(id=info.id), ""]
    if w["translated"]:
        out += [w["translated"], ""]
    status = info.status if lang == "en" else STATUS_FR[info.status]
    out += [w["intro"].format(title=getattr(info.title, lang),
                              other_title=getattr(info.title, other), status=status,
                              date=_date(info.date, lang)), ""]
    measurable = sum(1 for i in fw.data_items if i.measurable)
    out += [w["holds"].format(d=len(fw.dimensions), o=len(fw.outcomes), k=len(fw.kpis),
                              i=len(fw.data_items), m=measurable, s=len(fw.sdg_targets),
                              t=len(fw.tools), w=len(fw.working_bodies)), ""]
    out += [w["public"], "", w["confirmed_def"], w["reconstructed_def"], ""]
    conf_o = [o for o in fw.outcomes if o.provenance.status == "confirmed"]
    conf_k = [k for k in fw.kpis if k.provenance.status == "confirmed"]
    out += [w["counts"].format(co=len(conf_o), oo=OFFICIAL_OUTCOMES, ck=len(conf_k),
                               ok=OFFICIAL_KPIS, k=len(fw.kpis), up=up), ""]
    out += [w["summary"], "", w["summary_head"], "|---|---:|---:|---:|---:|"]
    for d in fw.dimensions:
        outs = [o for o in fw.outcomes if o.dimension == d.code]
        kpis = [k for o in outs for k in fw.kpis_of_outcome(o.code)]
        out.append(f"| {d.code} {getattr(d.name, lang)} | {len(outs)} | {len(kpis)} | "
                   f"{sum(o.provenance.status == 'confirmed' for o in outs)} | "
                   f"{sum(k.provenance.status == 'confirmed' for k in kpis)} |")
    out += [f"| **{w['total']}** | **{len(fw.outcomes)}** | **{len(fw.kpis)}** | "
            f"**{len(conf_o)}** | **{len(conf_k)}** |", ""]
    out += [w["confirmed_items"], "", w["confirmed_head"], "|---|---|---|---|"]
    for level, items in (("dimension", fw.dimensions), ("outcome", conf_o), ("KPI", conf_k)):
        for item in items:
            if item.provenance.status == "confirmed":
                out.append(f"| {w[level]} | {item.code} | {getattr(item.name, lang)} | "
                           f"<{item.provenance.source}> |")
    out += ["", w["how"], "", w["how_items"], ""]
    for d in fw.dimensions:
        out += [f"## {d.code} {getattr(d.name, lang)}", "",
                f"*{getattr(d.name, other)}*. {getattr(d.definition, lang)}", ""]
        for o in fw.outcomes_of_dimension(d.code):
            mark = f" ({w['confirmed_word']})" if o.provenance.status == "confirmed" else ""
            out += [f"### {o.code} {getattr(o.name, lang)}{mark}", "",
                    f"*{getattr(o.name, other)}*. {getattr(o.definition, lang)}", ""]
            out += [_basis(o.provenance, w) + "  ",
                    w["sdg_tools"].format(sdg=", ".join(o.sdg_targets), tools=", ".join(o.tools)),
                    ""]
            out += [w["kpi_head"], "|---|---|---|---|---|---|---|---|---|---|"]
            kpis = fw.kpis_of_outcome(o.code)
            for k in kpis:
                formula = f"`{k.formula}`" + "".join(
                    f"<br>{w['variant']} *{name}*{w['colon']} `{text}`"
                    for name, text in k.variants.items())
                status = (f"**{w['confirmed_word']}**" if k.provenance.status == "confirmed"
                          else w["reconstructed_word"])
                out.append(
                    f"| {k.code} | {getattr(k.name, lang)}<br>*{getattr(k.name, other)}* | "
                    f"{formula} | {k.unit} | {'↑' if k.direction == 'higher' else '↓'} | "
                    f"{k.years} | {', '.join(k.breakdowns) or '–'} | {_scoring(k, w)} | "
                    f"{k.disclosure} | {status} |")
            out.append("")
            out += [f"- **{k.code}**{w['colon']} {getattr(k.definition, lang)} "
                    f"{_kpi_basis(k.provenance, w)}" for k in kpis]
            out.append("")
    out += [w["items"], "", w["items_intro"], "", w["items_head"], "|---|---|---|---|---|---|---|"]
    for item in fw.data_items:
        users = [k.code for k in fw.kpis if item.code in k.data_items]
        source = w["microdata"] if item.measurable else (
            getattr(item.source, lang) if item.source else "–")
        out.append(f"| `{item.code}` | {getattr(item.name, lang)}<br>*{getattr(item.name, other)}* "
                   f"| {item.type} | {', '.join(item.breakdowns) or '–'} | {item.part_of or '–'} "
                   f"| {source} | {', '.join(users) or '–'} |")
    out += ["", w["sdg"], "", w["sdg_head"], "|---|---|---|"]
    for t in fw.sdg_targets:
        out.append(f"| {t.code} | {getattr(t.name, lang)} | "
                   f"{_linked(fw, lambda x, c=t.code: c in x.sdg_targets)} |")
    out += ["", w["tools"], "", w["tools_head"], "|---|---|---|---|---|"]
    bodies = {b.code: b for b in fw.working_bodies}
    for tool in fw.tools:
        name = getattr(tool.name, lang)
        if tool.url:
            name = f"[{name}]({tool.url})"
        kind = tool.kind if lang == "en" else KINDS_FR[tool.kind]
        body = f"{getattr(bodies[tool.working_body].name, lang)} ({tool.working_body})"
        out.append(f"| {tool.code} | {name} | {kind} | {body} | "
                   f"{_linked(fw, lambda x, c=tool.code: c in x.tools)} |")
    agg = fw.aggregation
    level = agg.outcome or agg.dimension
    sets = ", ".join(f"`{name}`" for name in agg.weight_sets)
    out += ["", w["aggregation"], "",
            w["aggregation_text"].format(method=METHODS[lang].get(level.method, level.method),
                                         pct=_num(100 * level.min_coverage), sets=sets), ""]
    out += [w["limits"], "", w["limits_items"]]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository's root")
    parser.add_argument("--check", action="store_true", help="only say whether pages are current")
    args = parser.parse_args(argv)
    fw = load(FRAMEWORK)
    stale = []
    for lang, rel in PAGES.items():
        path, text = args.root / rel, render(fw, lang)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(str(rel))
            if not args.check:
                path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print("out of date (run python -m pmm.framework.catalogue_doc): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
