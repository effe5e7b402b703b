"""English and French for everything a user reads.

Messages are written in English in the code as `_("...")`; French translations live in gettext
`.po` files under `pmm/locale/fr/`, one per package (so parallel work never edits the same file),
read directly with Babel. The language comes from `--lang`, else `PMM_LANG`, else English.
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources

LANGUAGES = ("en", "fr")
_current: str | None = None


def set_language(lang: str | None) -> None:
    """Choose the language for this process (None: back to `PMM_LANG` or English)."""
    global _current
    if lang is not None and lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of: {', '.join(LANGUAGES)}")
    _current = lang


def language() -> str:
    lang = _current or os.environ.get("PMM_LANG", "en")
    return lang if lang in LANGUAGES else "en"


@cache
def _catalog(lang: str) -> dict[str, str]:
    from babel.messages.pofile import read_po

    messages: dict[str, str] = {}
    folder = resources.files("pmm") / "locale" / lang
    if not folder.is_dir():
        return messages
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".po"):
            with entry.open("rb") as fh:
                for msg in read_po(fh):
                    if msg.id and msg.string and not msg.fuzzy:
                        messages[str(msg.id)] = str(msg.string)
    return messages


def _(message: str) -> str:
    """Translate `message` into the current language (English text is the key)."""
    lang = language()
    if lang == "en":
        return message
    return _catalog(lang).get(message, message)

