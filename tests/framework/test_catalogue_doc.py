"""docs/catalogue.md and docs/fr/catalogue.md are generated from the shipped YAML and current."""

from __future__ import annotations

from pathlib import Path

from pmm.framework.catalogue_doc import PAGES, main, render
from pmm.framework.loader import load

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_pages_are_what_the_catalogue_generates() -> None:
    fw = load("wco-pmm-v1")
    for lang, rel in PAGES.items():
        committed = (ROOT / rel).read_text(encoding="utf-8")
        assert committed == render(fw, lang), (
            f"{rel} is out of date: run python -m pmm.framework.catalogue_doc")


def test_the_french_page_speaks_french_and_names_every_kpi() -> None:
    fw = load("wco-pmm-v1")
    page = render(fw, "fr")
    for kpi in fw.kpis:
        assert f"| {kpi.code} | {kpi.name.fr}<br>*{kpi.name.en}* |" in page
        assert kpi.definition.fr in page and kpi.definition.en not in page
    assert "## Données élémentaires" in page and "daté du 24 juin 2023" in page


def test_check_reports_a_stale_page_and_writing_fixes_it(tmp_path: Path) -> None:
    (tmp_path / "docs" / "fr").mkdir(parents=True)
    for rel in PAGES.values():
        (tmp_path / rel).write_text("stale\n", encoding="utf-8")
    assert main(["--root", str(tmp_path), "--check"]) == 1
    assert (tmp_path / PAGES["en"]).read_text(encoding="utf-8") == "stale\n"
    assert main(["--root", str(tmp_path)]) == 0
    assert main(["--root", str(tmp_path), "--check"]) == 0
