"""A small platform with releases, on SQLite and PostgreSQL, for the results pages.

Seven members report the test framework (tests/assessment/framework.yaml) in cycles 2022 and
2024; all are validated and each cycle has one release. Italy keeps its electronic-declaration
rate (KPI e_decl) restricted, with a value no one else has (`SECRET`), and its staff-trained
share at WCO level (`WCO_ONLY`): the tests look for those numbers where they must not be.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmm.analysis import release as rel_mod
from pmm.assessment import workflow
from pmm.assessment.cycles import create_cycle, set_state
from pmm.assessment.imports import import_file
from pmm.assessment.submissions import get_submission
from pmm.store.engine import transaction
from pmm.store.users import add_user, hash_password, principal_for
from pmm.web.settings import Settings
from tests.assessment.conftest import COMPLETE, FRAMEWORK, write_csv
from tests.conftest import BACKENDS, _new_database
from tests.web.conftest import Platform

MEMBERS = ("FRA", "DEU", "ITA", "ESP", "NLD", "BEL", "AUT")
SECRET = 92.3  # ITA's e_decl in 2024: 923 of 1000 declarations electronic, restricted
WCO_ONLY = 47.3  # ITA's staff trained in 2024, disclosed at WCO level
YEARS = (2022, 2024)


# the test framework, scored up to dimensions
AGGREGATION = """
aggregation:
  outcome: {method: arithmetic, min_coverage: 0.5}
  dimension: {method: arithmetic, min_coverage: 0.5}
"""


def _values(member: str, i: int, year: int) -> tuple[dict, list[str]]:
    values = {(item, year + (y - 2024), bd): v for (item, y, bd), v in COMPLETE.items()}
    values[("ecommerce_shipments", year, "flow=EX")] = str(10 + i)
    values[("ecommerce_shipments", year, "flow=TR")] = "5"
    shift = 0 if year == 2024 else -3
    electronic = 923 if member == "ITA" and year == 2024 else 880 + 15 * i + shift
    values[("declarations_electronic", year, "")] = str(electronic)
    values[("staff_trained_pct", year, "")] = str(
        WCO_ONLY if member == "ITA" and year == 2024 else 30 + 6 * i + shift)
    values[("release_time_mean_h", year, "")] = str(10 + 2 * i)
    values[("aeo_count", year, "")] = str(100 + 7 * i)
    values[("aeo_count", year - 1, "")] = str(100 + 3 * i)
    kpis = ["e_decl,,,,,reported,restricted,"] if member == "ITA" else []
    return values, kpis


def build(url: str, folder: Path) -> None:
    pw = hash_password("correct-horse-7")
    framework = folder / "framework.yaml"
    framework.write_text(FRAMEWORK.read_text(encoding="utf-8") + AGGREGATION, encoding="utf-8")
    with transaction(url) as session:
        add_user(session, "sec", "secretariat", password_hash=pw, actor="test")
        for m in MEMBERS:
            add_user(session, f"ncp-{m.lower()}", "ncp", member=m, password_hash=pw,
                     actor="test")
        add_user(session, "viewer-fra", "viewer", member="FRA", password_hash=pw, actor="test")
        add_user(session, "wb", "working_body", password_hash=pw, actor="test")
        sec = principal_for(session, "sec")
        for year in YEARS:
            create_cycle(session, sec, year, str(framework), dt.date(year + 1, 1, 1),
                         dt.date(2099, 12, 31))
            set_state(session, sec, year, "open")
    for year in YEARS:
        for i, m in enumerate(MEMBERS):
            values, kpis = _values(m, i, year)
            path = write_csv(folder / f"{m}-{year}.csv", values, kpis)
            with transaction(url) as session:
                ncp = principal_for(session, f"ncp-{m.lower()}")
                import_file(session, ncp, year, m, path)
                workflow.submit(session, ncp, get_submission(session, year, m))
                workflow.validate(session, principal_for(session, "sec"),
                                  get_submission(session, year, m))
        with transaction(url) as session:
            rel_mod.create(session, principal_for(session, "sec"), year)


@pytest.fixture(scope="module", params=BACKENDS)
def small(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Platform]:
    """The small platform with releases (built once per module and backend)."""
    made = _new_database(request.param, request, tmp_path_factory.mktemp("results-db"),
                         upgraded=True)
    url = next(made)
    build(url, tmp_path_factory.mktemp("results-csv"))
    yield Platform(url, Settings(url, secret_key="r" * 40))
    for _ in made:
        pass
