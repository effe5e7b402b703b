"""Fixtures for the assessment tests: a small framework, users of every role, an open cycle."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmm.cli import run
from pmm.store.engine import transaction
from pmm.store.users import add_user, hash_password

FRAMEWORK = Path(__file__).with_name("framework.yaml")
PASSWORD = "correct horse battery"
USERS = [("admin", "admin", None), ("sec", "secretariat", None), ("ncp-fra", "ncp", "FRA"),
         ("ncp-deu", "ncp", "DEU"),
         ("view-fra", "viewer", "FRA"), ("rev", "peer_reviewer", None),
         ("rev2", "peer_reviewer", None), ("wb", "working_body", None)]
_hash: list[str] = []


def seed_users(url: str) -> None:
    if not _hash:
        _hash.append(hash_password(PASSWORD))
    with transaction(url) as session:
        for name, role, member in USERS:
            add_user(session, name, role, member=member, password_hash=_hash[0])


@pytest.fixture
def db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database with users of every role and the open cycle 2024 of the test framework;
    PMM_DATABASE_URL points at it."""
    return prepare(database_url, monkeypatch)


def prepare(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PMM_DATABASE_URL", database_url)
    monkeypatch.delenv("PMM_USER", raising=False)
    seed_users(database_url)
    assert run(["cycle", "create", "2024", "--framework", str(FRAMEWORK), "--opens",
                "2025-01-01", "--closes", "2099-12-31", "--as", "sec"]) == 0
    assert run(["cycle", "open", "2024", "--as", "sec"]) == 0
    return database_url


def csv_lines(text: str) -> list[str]:
    return text.strip("\r\n").split("\r\n")


COMPLETE = {  # a complete, plausible FRA submission for 2024 (data-item rows of the CSV)
    ("declarations", 2024, ""): "1000",
    ("declarations", 2024, "flow=IM"): "600",
    ("declarations", 2024, "flow=EX"): "300",
    ("declarations", 2024, "flow=TR"): "100",
    ("declarations_electronic", 2024, ""): "980",
    ("ecommerce_shipments", 2024, "flow=IM"): "50",
    ("release_time_mean_h", 2024, ""): "12.5",
    ("single_window", 2024, ""): "true",
    ("staff_trained_pct", 2024, ""): "64.5",
    ("revenue_collected", 2024, ""): "123456789.25",
    ("aeo_count", 2024, ""): "110",
    ("aeo_count", 2023, ""): "100",
}


def write_csv(path: Path, values: dict, kpis: list[str] | None = None) -> Path:
    lines = ["kpi,data_item,year,breakdown,value,status,disclosure,note"]
    for (item, year, bd), value in values.items():
        lines.append(f",{item},{year},{bd},{value},reported,,")
    lines += kpis or []
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
