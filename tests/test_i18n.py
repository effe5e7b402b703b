"""The language is chosen per call (a context variable), with plurals and locale numbers."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pmm.cli import run
from pmm.framework.loader import load
from pmm.framework.workbook import write_workbook
from pmm.i18n import _, format_date, format_decimal, format_number, language, ngettext, use_locale

MESSAGE = ("Internal error: pmm did not expect this and stopped. Please report it with this "
           "technical detail (PMM_DEBUG=1 shows the full trace): {error}")


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PMM_LANG", raising=False)


def test_use_locale_holds_for_the_block_only() -> None:
    assert language() == "en"
    with use_locale("fr"):
        assert _(MESSAGE).startswith("Erreur interne")
        with use_locale("en"):
            assert _(MESSAGE) == MESSAGE
        assert language() == "fr"
    assert language() == "en" and _(MESSAGE) == MESSAGE
    with pytest.raises(ValueError, match="unknown language 'de'"), use_locale("de"):
        pass


def test_concurrent_calls_keep_their_own_language() -> None:
    """Two calls at once (two web requests) never see each other's language."""
    barrier = threading.Barrier(2)

    def call(lang: str) -> list[str]:
        with use_locale(lang):
            barrier.wait()  # both are inside their block now
            seen = [_(MESSAGE) for _i in range(200)]
            barrier.wait()
            return seen

    with ThreadPoolExecutor(2) as pool:
        english, french = pool.map(call, ["en", "fr"])
    assert set(english) == {MESSAGE}
    assert len(set(french)) == 1 and french[0].startswith("Erreur interne")


def test_a_cli_run_does_not_leave_its_language_behind(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--lang", "fr", "framework", "list"]) == 0
    assert language() == "en"


def test_plural_forms() -> None:
    one, many = "{n} change saved (version {version}).", "{n} changes saved (version {version})."
    assert [ngettext(one, many, n).format(n=n, version=2) for n in (1, 2)] == [
        "1 change saved (version 2).", "2 changes saved (version 2)."]
    with use_locale("fr"):  # French: 0 and 1 are singular
        assert [ngettext(one, many, n).format(n=n, version=2) for n in (0, 1, 2)] == [
            "0 modification enregistrée (version 2).", "1 modification enregistrée (version 2).",
            "2 modifications enregistrées (version 2)."]


def test_numbers_and_dates_follow_the_locale() -> None:
    day = dt.date(2026, 12, 6)
    assert (format_number(1234567), format_decimal(1234.5678), format_date(day)) == (
        "1,234,567", "1,234.57", "Dec 6, 2026")
    with use_locale("fr"):
        assert [s.replace("\u202f", " ").replace("\xa0", " ") for s in (
            format_number(1234567), format_decimal(1234.5678), format_date(day))] == [
            "1 234 567", "1 234,57", "6 déc. 2026"]


def test_framework_workbook_is_in_its_own_language_whatever_the_caller(tmp_path: Path) -> None:
    """The builder speaks the language asked for, and leaves the caller's as it was."""
    target = tmp_path / "fw.xlsx"
    with use_locale("en"):
        write_workbook(load("wco-pmm-v1"), target, "fr")
        assert language() == "en"
    assert load_workbook(target).sheetnames[0] == "Cadre"
