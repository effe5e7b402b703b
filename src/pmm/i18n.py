"""English and French for everything a user reads, chosen per call.

Messages are written in English in the code as `_("...")` (plurals as `ngettext(singular,
plural, n)`); French translations live in gettext `.po` files under `pmm/locale/fr/`, one per
package (so parallel work never edits the same file). They are compiled once per process into a
Babel `Translations`.

The language is held in a context variable, never in a process-wide switch: `use_locale("fr")`
sets it for one call (the CLI for one invocation from `--lang` or `PMM_LANG`, the web platform for
one request), and concurrent calls in other threads or tasks keep their own. Outside any call the
language is `PMM_LANG`, else English. Numbers and dates shown to a person go through
`format_number`, `format_decimal` and `format_date` so that French reads `1 234,5`; files meant for
machines (CSV, JSON) keep the exchange conventions instead.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib import resources

from babel import dates as _dates
from babel import numbers as _numbers
from babel.support import NullTranslations, Translations

LANGUAGES = ("en", "fr")
# gettext's plural rule of each language (CLDR's French has a third form for millions, which
# gettext catalogues do not use): the header and the number of forms every plural message has.
PLURAL_FORMS = {"fr": ("nplurals=2; plural=(n > 1);", 2)}
_current: ContextVar[str | None] = ContextVar("pmm_language", default=None)


def _checked(lang: str | None) -> str | None:
    if lang is not None and lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of: {', '.join(LANGUAGES)}")
    return lang


@contextmanager
def use_locale(lang: str | None) -> Iterator[str]:
    """Speak `lang` inside the block (None: `PMM_LANG` or English); the previous choice returns
    after it, whatever happens."""
    token = _current.set(_checked(lang))
    try:
        yield language()
    finally:
        _current.reset(token)


def set_language(lang: str | None) -> None:
    """Choose the language for the rest of the current context (one CLI invocation runs in a
    context of its own; prefer `use_locale` elsewhere). None: back to `PMM_LANG` or English."""
    _current.set(_checked(lang))


def language() -> str:
    """The language of the current call."""
    lang = _current.get() or os.environ.get("PMM_LANG", "en")
    return lang if lang in LANGUAGES else "en"


@cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of `lang`: every .po file of its folder, read once per process."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    folder = resources.files("pmm") / "locale" / lang
    if lang == "en" or not folder.is_dir():
        return NullTranslations()
    header, forms = PLURAL_FORMS[lang]
    merged = Catalog(locale=lang)
    merged.mime_headers = [("Content-Type", "text/plain; charset=utf-8"), ("Plural-Forms", header)]
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".po"):
            with entry.open("rb") as fh:
                for msg in read_po(fh):
                    string = msg.string[:forms] if isinstance(msg.string, tuple) else msg.string
                    strings = string if isinstance(string, tuple) else (string,)
                    if msg.id and all(strings) and not msg.fuzzy:
                        merged.add(msg.id, string, context=msg.context)
    buffer = io.BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return Translations(buffer)


def _(message: str) -> str:
    """Translate `message` into the language of the current call (English text is the key)."""
    lang = language()
    return message if lang == "en" else translations(lang).gettext(message)


@cache
def _english(lang: str) -> dict[str, str]:
    """translated text → its English key, for the singular messages of `lang`."""
    catalog = getattr(translations(lang), "_catalog", {})
    return {text: key for key, text in catalog.items() if isinstance(key, str) and key}


def localise(text: str) -> str:
    """`text`, a message in any of the languages, in the language of the current call.

    For texts evaluated once and shown later, maybe to another call in another language (help
    texts are evaluated when their module is first imported).
    """
    for lang in LANGUAGES[1:]:
        text = _english(lang).get(text, text)
    return _(text)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for `n` things: "1 change saved", "2 changes saved"."""
    lang = language()
    if lang == "en":
        return singular if n == 1 else plural
    return translations(lang).ngettext(singular, plural, n)


def format_number(number: int | float) -> str:
    """A count for a person: `12,345` in English, `12 345` in French."""
    return _numbers.format_decimal(number, locale=language())


def format_decimal(number: float, digits: int = 2, *, fixed: bool = False) -> str:
    """A measured value for a person, at most `digits` decimals (exactly, if `fixed`):
    `1 234,57` in French."""
    pattern = "#,##0" + ("." + ("0" if fixed else "#") * digits if digits > 0 else "")
    return _numbers.format_decimal(number, format=pattern, locale=language())


def format_date(value: dt.date | dt.datetime, form: str = "medium") -> str:
    """A date for a person: `6 Dec 2026` in English, `6 déc. 2026` in French."""
    return _dates.format_date(value, format=form, locale=language())


def pgettext(context: str, message: str) -> str:
    """`message` in the sense given by `context` ("value": a code shown as a word)."""
    lang = language()
    return message if lang == "en" else translations(lang).pgettext(context, message)


def N_(message: str) -> str:
    """Mark a message for translation where it is defined; translate it with `_()` where it is
    shown (module-level tables are built before any call chooses a language)."""
    return message


def _value_labels() -> dict[str, str]:
    # Every code pmm shows as a word: workflow and cycle states, statuses, disclosure levels,
    # levels, units, roles, directions, yes/no. English shows the code itself.
    return {
        "planned": pgettext("value", "planned"), "open": pgettext("value", "open"),
        "closed": pgettext("value", "closed"), "draft": pgettext("value", "draft"),
        "submitted": pgettext("value", "submitted"),
        "review_requested": pgettext("value", "review_requested"),
        "in_review": pgettext("value", "in_review"),
        "changes_requested": pgettext("value", "changes_requested"),
        "resubmitted": pgettext("value", "resubmitted"),
        "validated": pgettext("value", "validated"), "published": pgettext("value", "published"),
        "reported": pgettext("value", "reported"),
        "not_applicable": pgettext("value", "not_applicable"),
        "not_available": pgettext("value", "not_available"),
        "not_computable": pgettext("value", "not_computable"),
        "insufficient_data": pgettext("value", "insufficient_data"),
        "missing": pgettext("value", "missing"), "ok": pgettext("value", "ok"),
        "public": pgettext("value", "public"), "wco": pgettext("value", "wco"),
        "restricted": pgettext("value", "restricted"),
        "kpi": pgettext("value", "kpi"), "outcome": pgettext("value", "outcome"),
        "dimension": pgettext("value", "dimension"), "overall": pgettext("value", "overall"),
        "count": pgettext("value", "count"), "currency": pgettext("value", "currency"),
        "percentage": pgettext("value", "percentage"), "hours": pgettext("value", "hours"),
        "days": pgettext("value", "days"), "yes_no": pgettext("value", "yes_no"),
        "number": pgettext("value", "number"), "higher": pgettext("value", "higher"),
        "lower": pgettext("value", "lower"), "secretariat": pgettext("value", "secretariat"),
        "ncp": pgettext("value", "ncp"), "viewer": pgettext("value", "viewer"),
        "peer_reviewer": pgettext("value", "peer_reviewer"),
        "working_body": pgettext("value", "working_body"), "admin": pgettext("value", "admin"),
        "confirmed": pgettext("value", "confirmed"),
        "reconstructed": pgettext("value", "reconstructed"),
        "endorsed": pgettext("value", "endorsed"), "retired": pgettext("value", "retired"),
        "accepted": pgettext("value", "accepted"), "error": pgettext("value", "error"),
        "warning": pgettext("value", "warning"),
        "true": pgettext("value", "true"), "false": pgettext("value", "false"),
        "all": pgettext("value", "all"), "balanced": pgettext("value", "balanced"),
        "region": pgettext("value", "region"), "income": pgettext("value", "income"),
        "geography": pgettext("value", "geography"),
    }


def label(code: object) -> str:
    """A code shown to a person as a word of the call's language (`in_review` → « en cours
    d'examen »); an unknown code, or any code in English, is shown as it is. Files meant for
    machines (CSV, JSON) keep the codes."""
    text = str(code).lower() if isinstance(code, bool) else str(code)
    return _value_labels().get(text, text) if language() != "en" else str(code)


def column(name: str) -> str:
    """A table column's heading in the call's language (the code in English)."""
    if language() == "en":
        return name
    headings = {
        "member": pgettext("column", "member"), "level": pgettext("column", "level"),
        "code": pgettext("column", "code"), "value": pgettext("column", "value"),
        "score": pgettext("column", "score"), "grade": pgettext("column", "grade"),
        "status": pgettext("column", "status"), "reason": pgettext("column", "reason"),
        "kpi": pgettext("column", "kpi"), "group": pgettext("column", "group"),
        "mean": pgettext("column", "mean"), "median": pgettext("column", "median"),
        "suppressed": pgettext("column", "suppressed"), "name": pgettext("column", "name"),
        "outcome": pgettext("column", "outcome"), "dimension": pgettext("column", "dimension"),
        "year": pgettext("column", "year"), "state": pgettext("column", "state"),
        "change": pgettext("column", "change"), "comparable": pgettext("column", "comparable"),
        "gap": pgettext("column", "gap"), "severity": pgettext("column", "severity"),
        "priority": pgettext("column", "priority"), "kind": pgettext("column", "kind"),
        "finding": pgettext("column", "finding"), "target": pgettext("column", "target"),
        "tools": pgettext("column", "tools"), "support": pgettext("column", "support"),
        "region": pgettext("column", "region"), "members": pgettext("column", "members"),
        "submitted": pgettext("column", "submitted"), "coverage": pgettext("column", "coverage"),
        "since": pgettext("column", "since"), "before": pgettext("column", "before"),
        "after": pgettext("column", "after"), "delta": pgettext("column", "delta"),
        "grouping": pgettext("column", "grouping"), "invited": pgettext("column", "invited"),
        "started": pgettext("column", "started"), "validated": pgettext("column", "validated"),
        "share_validated": pgettext("column", "share_validated"),
        "critical_mass": pgettext("column", "critical_mass"),
        "reported": pgettext("column", "reported"),
        "not_applicable": pgettext("column", "not_applicable"),
        "not_available": pgettext("column", "not_available"),
        "not_computable": pgettext("column", "not_computable"),
        "share_reported": pgettext("column", "share_reported"),
        "reasons": pgettext("column", "reasons"),
        "members_with_gaps": pgettext("column", "members_with_gaps"),
        "gaps": pgettext("column", "gaps"), "mean_severity": pgettext("column", "mean_severity"),
        "top_support": pgettext("column", "top_support"), "sdg": pgettext("column", "sdg"),
        "cycle_from": pgettext("column", "cycle_from"), "cycle_to": pgettext("column", "cycle_to"),
        "value_from": pgettext("column", "value_from"), "value_to": pgettext("column", "value_to"),
        "better": pgettext("column", "better"), "rank": pgettext("column", "rank"),
        "kpi_name": pgettext("column", "kpi_name"), "reference": pgettext("column", "reference"),
        "unit": pgettext("column", "unit"), "evidence": pgettext("column", "evidence"),
        "tool_names": pgettext("column", "tool_names"),
        "working_bodies": pgettext("column", "working_bodies"),
        "support_names": pgettext("column", "support_names"),
    }
    return headings.get(name, name)
