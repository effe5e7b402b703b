"""The member results page computed once and shared: each reader in their language, and one page
per audience (role, member, assigned reviews), never per user name."""

from __future__ import annotations

import dataclasses
import html

from sqlalchemy import select

from pmm.i18n import use_locale
from pmm.store.engine import transaction
from pmm.store.models import User
from pmm.store.users import add_user, principal_for
from pmm.web import results_view

YEAR, MEMBER = 2024, "CYP"  # CYP (demo) could not report some KPIs: D* grades with reasons


def _reasons(page: results_view.MemberResults) -> dict[str, str]:
    return {k["code"]: k["reason"] for k in page.kpis}


def _users(url: str) -> None:
    """A viewer and a second NCP of CYP (the demo has one NCP per member)."""
    with transaction(url) as session:
        for name, role in (("viewer-cyp", "viewer"), ("ncp2-cyp", "ncp")):
            if session.scalar(select(User).where(User.username == name)) is None:
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


def test_users_alike_share_one_page_and_it_names_none_of_them(demo_db: str) -> None:
    _users(demo_db)
    with transaction(demo_db) as session, use_locale("en"):
        ncp, ncp2 = principal_for(session, "ncp-cyp"), principal_for(session, "ncp2-cyp")
        viewer = principal_for(session, "viewer-cyp")
        first = results_view.member_results(session, ncp, YEAR, MEMBER, "en")
        # the same role, member and reviews: the policy gives them the same values, so the
        # page computed for the first is the one the second reads
        assert results_view.member_results(session, ncp2, YEAR, MEMBER, "en") is first
        assert dataclasses.replace(ncp, username="someone-else") != ncp
        assert "ncp-cyp" not in repr(first)
        # and it is the page the second would have had alone
        results_view._PAGES.clear()
        alone = results_view.member_results(session, ncp2, YEAR, MEMBER, "en")
        assert alone is not first and repr(alone) == repr(first)
        # a viewer of the same member sees less of the others (public values only): its own
        viewer_page = results_view.member_results(session, viewer, YEAR, MEMBER, "en")
        assert viewer_page is not first
        positions = {(k["code"], g["grouping"]): g["position"] for k in first.kpis
                     for g in k["groups"]}
        seen_by_viewer = {(k["code"], g["grouping"]): g["position"] for k in viewer_page.kpis
                          for g in k["groups"]}
        assert positions != seen_by_viewer



def test_chart_labels_are_whole(demo_db: str) -> None:
    # the charts used to cut long names short ("…"); drawn whole they also draw 2-3x faster
    with transaction(demo_db) as session, use_locale("en"):
        page = results_view.member_results(session, principal_for(session, "ncp-cyp"), YEAR,
                                           MEMBER, "en")
    assert set(page.charts) == {"dimensions", "kpis", "trends"}
    dimensions = str(page.charts["dimensions"].svg)
    for row in page.dimensions:
        assert html.escape(row["name"], quote=False) in dimensions, row["name"]
    assert not any("…" in str(chart.svg) for chart in page.charts.values())
    # the title is the figure's caption (the template), not drawn twice
    assert page.charts["dimensions"].title not in dimensions
