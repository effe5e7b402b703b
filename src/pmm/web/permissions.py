"""Every route's permission, in one table read by the access policy.

A permission is `public` (anyone, signed in or not), `authenticated` (any signed-in user) or an
action of `pmm.access.RULES`, decided by `pmm.access.decide` with the route's `member` and `year`
path parameters (so "own member", "assigned reviewer" and "may read the submission" are the
policy's rules, not the route's). A route missing from the table is refused (fail closed); a
test checks that the table and the application's routes are the same set.
"""

from __future__ import annotations

from pmm.access import RULES, Decision, Principal, decide
from pmm.i18n import _

SUB = "/cycles/{year}/members/{member}"
API = "/api/v1"
API_SUB = API + SUB

ROUTES: dict[tuple[str, str], str] = {
    # public site
    ("GET", "/"): "public",
    ("GET", "/healthz"): "public",
    ("GET", "/language/{lang}"): "public",
    ("GET", "/framework"): "public",
    ("GET", "/framework/{fw}"): "public",
    ("GET", "/framework/{fw}/outcomes/{code}"): "public",
    ("GET", "/framework/{fw}/kpis/{code}"): "public",
    ("GET", "/results"): "public",
    ("GET", "/results/{year}"): "public",
    ("GET", "/results/{year}/download/{name}"): "public",
    # a member's profile in the latest release, for whoever may read its submission
    ("GET", "/results/{year}/members/{member}/profile.pdf"): "read_submission",
    # a member's results page and its figures as CSV (the member's results, issue 12)
    ("GET", "/results/{year}/members/{member}"): "read_submission",
    ("GET", "/results/{year}/members/{member}/values.csv"): "read_submission",
    # accounts
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("POST", "/logout"): "authenticated",
    ("GET", "/account"): "authenticated",
    ("POST", "/account/password"): "authenticated",
    ("POST", "/account/tokens"): "authenticated",
    ("POST", "/account/tokens/{token_id}/revoke"): "authenticated",
    ("GET", "/home"): "authenticated",
    # a member's submission
    ("GET", SUB): "read_submission",
    ("GET", SUB + "/outcomes/{outcome}"): "read_submission",
    ("POST", SUB + "/outcomes/{outcome}"): "edit",
    ("GET", SUB + "/template.xlsx"): "read_submission",
    ("POST", SUB + "/import"): "edit",
    ("POST", SUB + "/evidence"): "add_evidence",
    ("GET", SUB + "/evidence/{evidence_id}"): "read_submission",
    ("POST", SUB + "/explanations"): "explain",
    ("POST", SUB + "/comments"): "comment",
    ("POST", SUB + "/submit"): "submit",
    ("POST", SUB + "/request-review"): "request_review",
    ("POST", SUB + "/resubmit"): "resubmit",
    ("POST", SUB + "/assign"): "assign_reviewer",
    ("POST", SUB + "/review/start"): "start_review",
    ("POST", SUB + "/review/findings"): "add_finding",
    ("POST", SUB + "/review/request-changes"): "request_changes",
    ("POST", SUB + "/review/complete"): "complete_review",
    ("POST", SUB + "/validate"): "validate",
    ("POST", SUB + "/publish"): "publish",
    ("POST", SUB + "/reopen"): "reopen",
    # the Secretariat
    ("GET", "/secretariat"): "secretariat_views",
    ("GET", "/secretariat/cycles/{year}"): "secretariat_views",
    ("GET", "/secretariat/frameworks"): "secretariat_views",
    ("POST", "/secretariat/cycles"): "manage_cycles",
    ("POST", "/secretariat/cycles/{year}/state"): "manage_cycles",
    # framework versions in the making (issue 12, parts 5 and 6): a working-body member's KPI
    # proposals (the service shows each only its own), the Secretariat's queue and drafts
    ("GET", "/proposals"): "propose_kpi",
    ("GET", "/proposals/new"): "propose_kpi",
    ("POST", "/proposals"): "propose_kpi",
    ("GET", "/proposals/{proposal_id}"): "propose_kpi",
    ("GET", "/secretariat/proposals"): "manage_frameworks",
    ("GET", "/secretariat/proposals/{proposal_id}"): "manage_frameworks",
    ("POST", "/secretariat/proposals/{proposal_id}/accept"): "manage_frameworks",
    ("POST", "/secretariat/proposals/{proposal_id}/reject"): "manage_frameworks",
    ("GET", "/secretariat/drafts"): "manage_frameworks",
    ("POST", "/secretariat/drafts"): "manage_frameworks",
    ("POST", "/secretariat/drafts/upload"): "manage_frameworks",
    ("GET", "/secretariat/drafts/{draft_id}"): "manage_frameworks",
    ("GET", "/secretariat/drafts/{draft_id}/framework.yaml"): "manage_frameworks",
    ("POST", "/secretariat/drafts/{draft_id}/adopt"): "manage_frameworks",
    # the Secretariat: releases, demand, coverage, review assignments (secpages)
    ("GET", "/secretariat/releases"): "secretariat_views",
    ("POST", "/secretariat/releases/config"): "manage_releases",
    ("GET", "/secretariat/cycles/{year}/releases"): "secretariat_views",
    ("POST", "/secretariat/cycles/{year}/releases"): "manage_releases",
    ("GET", "/secretariat/cycles/{year}/releases/compare"): "secretariat_views",
    ("GET", "/secretariat/cycles/{year}/releases/{number}"): "secretariat_views",
    ("GET", "/secretariat/cycles/{year}/releases/{number}/withdraw"): "manage_releases",
    ("POST", "/secretariat/cycles/{year}/releases/{number}/withdraw"): "manage_releases",
    ("GET", "/secretariat/cycles/{year}/releases/{number}/report"): "secretariat_views",
    ("GET", "/secretariat/cycles/{year}/releases/{number}/report.pdf"): "secretariat_views",
    ("GET", "/secretariat/cycles/{year}/demand"): "secretariat_views",
    ("GET", "/secretariat/cycles/{year}/coverage"): "secretariat_views",
    ("GET", "/secretariat/cycles/{year}/reviews"): "secretariat_views",
    # reports on the web: the latest release's for the public, a review's for its readers
    ("GET", "/results/{year}/report"): "public",
    ("GET", "/results/{year}/report.pdf"): "public",
    ("GET", SUB + "/review-report"): "read_submission",
    ("GET", SUB + "/review-report.pdf"): "read_submission",
    # the JSON API
    ("GET", API + "/openapi.json"): "public",
    ("GET", API + "/framework/{fw}"): "public",
    ("GET", API + "/me"): "authenticated",
    ("GET", API + "/cycles"): "authenticated",
    ("GET", API + "/cycles/{year}/submissions"): "authenticated",
    ("GET", API_SUB): "read_submission",
    ("GET", API_SUB + "/values"): "read_submission",
    ("POST", API_SUB + "/values"): "edit",
    ("POST", API_SUB + "/import"): "edit",
    ("POST", API_SUB + "/submit"): "submit",
    # results in the API (what the caller may see: the public and members read releases)
    ("GET", API + "/cycles/{year}/releases"): "public",
    ("GET", API + "/cycles/{year}/statistics"): "public",
    ("GET", API_SUB + "/scores"): "read_submission",
}

SPECIAL = ("public", "authenticated")
UNKNOWN = {p for p in ROUTES.values() if p not in SPECIAL and p not in RULES}
assert not UNKNOWN, f"permissions not in pmm.access.RULES: {UNKNOWN}"


def permission(method: str, path: str) -> str | None:
    """The permission of a route (HEAD is GET's), None when the route is not in the table."""
    return ROUTES.get(("GET" if method == "HEAD" else method, path))


def check(who: Principal, needed: str, params: dict[str, str]) -> Decision:
    """May `who` use a route needing `needed`, with these path parameters?"""
    if needed == "public":
        return Decision(True)
    if who.role == "public":
        return Decision(False, _("Sign in first."))
    if needed == "authenticated":
        return Decision(True)
    member = params.get("member")
    year = params.get("year")
    return decide(who, needed, member=member.upper() if member else None,
                  year=int(year) if year and year.isdigit() else None)
