"""The vocabularies that describe a WCO Member administration, and the `Member` record itself.

Codes are short and stable (they appear in files, URLs and database rows); labels carry the
official English wording and a French one. Every vocabulary but the regions has `unknown`, so a
fact that no source gives is said, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from pmm.i18n import language


class Label(NamedTuple):
    """A label in the WCO's two working languages."""

    en: str
    fr: str

    def get(self, lang: str = "en") -> str:
        return self.fr if lang == "fr" else self.en


# The six WCO regions, by their exact official English names (the headings of the WCO's own
# membership lists). French names are translations (see docs/members.md).
REGIONS: dict[str, Label] = {
    "AMS": Label("South America, North America, Central America and the Caribbean",
                 "Amérique du Sud, Amérique du Nord, Amérique centrale et Caraïbes"),
    "AP": Label("Far East, South and South East Asia, Australasia and the Pacific Islands",
                "Extrême-Orient, Asie du Sud et du Sud-Est, Australasie et îles du Pacifique"),
    "ESA": Label("East and Southern Africa", "Afrique orientale et australe"),
    "EUR": Label("Europe", "Europe"),
    "MENA": Label("North of Africa, Near and Middle East",
                  "Afrique du Nord, Proche et Moyen-Orient"),
    "WCA": Label("West and Central Africa", "Afrique occidentale et centrale"),
}

# World Bank income groups (the World Bank's own English names; French as the Bank words them).
INCOME_GROUPS: dict[str, Label] = {
    "low": Label("Low income", "Faible revenu"),
    "lower_middle": Label("Lower middle income", "Revenu intermédiaire (tranche inférieure)"),
    "upper_middle": Label("Upper middle income", "Revenu intermédiaire (tranche supérieure)"),
    "high": Label("High income", "Revenu élevé"),
    "unknown": Label("Not classified", "Non classé"),
}

GEOGRAPHIES: dict[str, Label] = {
    "landlocked": Label("Landlocked", "Sans littoral"),
    "sids": Label("Small island developing State", "Petit État insulaire en développement"),
    "coastal": Label("Coastal", "Côtier"),
    "unknown": Label("Unknown", "Inconnu"),
}

ADMIN_TYPES: dict[str, Label] = {
    "customs_only": Label("Customs only", "Douane uniquement"),
    "revenue_authority": Label("Revenue authority (customs and taxes)",
                               "Administration fiscale et douanière intégrée"),
    "border_agency": Label("Border agency (customs and immigration)",
                           "Agence des frontières (douane et immigration)"),
    "unknown": Label("Unknown", "Inconnu"),
}

# The fields a source can vouch for; `membership` covers the Member's existence, English name and
# region (one source states all three).
SOURCE_FIELDS = ("membership", "name_en", "name_fr", "income_group", "geography", "admin_type")


def geography_of(landlocked: bool | None, sids: bool | None) -> str:
    """`landlocked`, `sids`, `coastal` (neither) or `unknown` (a flag is not known).

    The two flags are exclusive (an island is never landlocked); callers check that first.
    """
    if landlocked:
        return "landlocked"
    if sids:
        return "sids"
    if landlocked is None or sids is None:
        return "unknown"
    return "coastal"


@dataclass(frozen=True)
class Source:
    """Where one field of a Member comes from; `confirmed` is False for background knowledge."""

    field: str
    source: str
    confirmed: bool


@dataclass(frozen=True)
class Member:
    """A WCO Member administration, keyed by its ISO 3166-1 alpha-3 code (Kosovo: XKX)."""

    iso3: str
    name_en: str
    name_fr: str
    region: str
    income_group: str
    income_fy: str
    landlocked: bool | None
    sids: bool | None
    admin_type: str
    administration: str = ""
    sources: tuple[Source, ...] = ()
    notes: str = ""
    geography: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "geography", geography_of(self.landlocked, self.sids))

    @property
    def name(self) -> str:
        """The name in the current language."""
        return self.name_in(language())

    def name_in(self, lang: str) -> str:
        return self.name_fr if lang == "fr" and self.name_fr else self.name_en

    @property
    def confirmed(self) -> bool:
        """True when every value of the record is stated by a cited source."""
        return all(s.confirmed for s in self.sources)

    @property
    def unconfirmed(self) -> tuple[str, ...]:
        """The fields that rest on background knowledge."""
        return tuple(s.field for s in self.sources if not s.confirmed)

    @property
    def source(self) -> str:
        """All sources of the record, one per field, as one line."""
        return " | ".join(f"{s.field}: {s.source}" for s in self.sources)
