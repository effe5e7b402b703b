"""Every message of pmm.store and pmm.assessment has a French translation with the same
placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

SRC = Path(__file__).resolve().parents[2] / "src" / "pmm"


def test_french_catalogue_covers_every_message() -> None:
    with open(SRC / "locale" / "fr" / "assessment.po", "rb") as fh:
        catalog = {m.id: m.string for m in read_po(fh) if m.id}
    missing, mismatched = [], []
    placeholder = re.compile(r"\{[^}]*\}")
    for package in ("store", "assessment"):
        for _file, _line, message, *_rest in extract_from_dir(
                SRC / package, method_map=[("**.py", "python")], keywords={"_": None}):
            text = message[0] if isinstance(message, tuple) else message
            if not catalog.get(text):
                missing.append(text)
            elif sorted(placeholder.findall(text)) != sorted(
                    placeholder.findall(catalog[text])):
                mismatched.append(text)
    assert not missing, missing
    assert not mismatched, mismatched
