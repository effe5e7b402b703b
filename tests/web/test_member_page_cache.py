"""The member results page computed once and shared: each reader in their language, and one page
per audience (role, member, assigned reviews), never per user name."""

from __future__ import annotations

import dataclasses

from pmm.i18n import use_locale
from pmm.store.engine import transaction
from pmm.store.users import add_user, principal_for
from pmm.web import results_view

YEAR, MEMBER = 2024, "CYP"  # CYP (demo) could not report some KPIs: D* grades with reasons


def _reasons(page: results_view.MemberResults) -> dict[str, str]:
    return {k["code"]: k["reason"] for k in page.kpis}


def _users(url: str) -> None:
    with transaction(url) as session:
        for name, role in (("viewer-cyp", "viewer"), ("ncp2-cyp", "ncp")):
            add_user(session, name, role, password_hash="x", member=MEMBER)


def test_each_reader_gets_the_kpi_reasons_in_their_language(demo_db: str) -> None:
    # before, the reasons computed for the first reader (KPI values, D* grades) were kept in
    # that reader's language for everyone after
    _users(demo_db)
    with transaction(demo_db) as session:
        ncp, viewer = principal_for(session, "ncp-cyp"), principal_for(session, "viewer-cyp")
        with use_locale("en"):
            en = _reasons(results_view.member_results(session, ncp, YEAR, MEMBER, "en"))
        with use_locale("fr"):
            fr = _reasons(results_view.member_results(session, ncp, YEAR, MEMBER, "fr"))
            fr_viewer = _reasons(results_view.member_results(session, viewer, YEAR, MEMBER,
                                                             "fr"))
        with use_locale("en"):
            en_viewer = _reasons(results_view.member_results(session, viewer, YEAR, MEMBER,
                                                             "en"))
    assert en["TF.1.1"].startswith("insufficient information (D*): not available: ")
    for page in (fr, fr_viewer):
        assert page["TF.1.1"].startswith("information insuffisante (D*) : non disponible : ")
    assert en_viewer["TF.1.1"] == en["TF.1.1"]
    for page in (fr, fr_viewer):
        assert not any(r.startswith(("insufficient information", "not available", "missing:",
                                     "not applicable")) for r in page.values()), page
