"""The Secretariat's releases: list per cycle, create, show (rules, what was withheld and why),
compare two, withdraw (with a reason, after a confirmation step), and the disclosure-control
configuration used by the next release.

Pages mirror `pmm release list|create|show|diff|withdraw|config`; every change goes through
`pmm.analysis.release`, which checks the principal again and writes the audit trail.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections import Counter

import pandas as pd
from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from pmm.analysis import release as rel_mod
from pmm.analysis.sdc import Rules
from pmm.assessment.cycles import framework_of, list_cycles
from pmm.errors import PmmError
from pmm.i18n import _
from pmm.members import REGIONS
from pmm.publish.tables import indicator_name
from pmm.store.models import Cycle, Release, ReleaseConfig, Submission
from pmm.web.core import Ctx, RowId, Year, guard, redirect, render
from pmm.web.submission_view import cycle_or_404

router = APIRouter(include_in_schema=False)  # pages: not part of the JSON API
AUDIENCES = ("public", "wco")
LEVELS = ("kpi", "outcome", "dimension", "sdg_target", "sdg_goal")
DIFF_ROWS = 500  # a longer comparison is downloaded as CSV


def audience_label(audience: str) -> str:
    return {"public": _("the public"), "wco": _("WCO level (NCPs and peer reviewers)")}.get(
        audience, audience)


def level_label(level: str) -> str:
    return {"kpi": _("KPI values"), "outcome": _("outcome scores"),
            "dimension": _("dimension scores"), "sdg_target": _("SDG targets"),
            "sdg_goal": _("SDG goals")}.get(level, level)


def when(moment) -> str:  # type: ignore[no-untyped-def]
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else ""


def number_text(value: object) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{float(value):.4g}"  # type: ignore[arg-type]


def _releases(session: Session, year: int | None = None) -> list[tuple[int, Release]]:
    """(cycle year, release) pairs, oldest first, without their snapshots (megabytes each)."""
    query = select(Cycle.year, Release).join(Cycle, Cycle.id == Release.cycle_id).options(
        defer(Release.snapshot))
    if year is not None:
        query = query.where(Cycle.year == year)
    return [(int(y), r) for y, r in session.execute(query.order_by(Cycle.year, Release.number))]


def _row(session: Session, year: int, rel: Release) -> dict:
    counts = rel_mod.counts(session, rel)
    return {"year": year, "number": rel.number, "created_at": when(rel.created_at),
            "created_by": rel.created_by, "members": rel.members,
            "framework": rel.framework_id,
            "rules": Rules(rel.min_n, rel.dominance_p, rel.protection_p),
            "public_released": counts.get("public_released", 0),
            "public_withheld": counts.get("public_withheld", 0),
            "wco_released": counts.get("wco_released", 0),
            "wco_withheld": counts.get("wco_withheld", 0),
            "withdrawn": rel.withdrawn_at is not None,
            "withdrawn_at": when(rel.withdrawn_at), "withdrawn_by": rel.withdrawn_by or "",
            "reason": rel.withdraw_reason}


# ---------------------------------------------------------------- overview and configuration


@router.get("/secretariat/releases")
def overview(ctx: Ctx = Depends(guard)) -> Response:
    return _overview(ctx)


def _overview(ctx: Ctx, status: int = 200, errors: dict[str, str] | None = None,
              form: dict[str, str] | None = None) -> Response:
    with ctx.read() as session:
        cycles = list_cycles(session)
        per_cycle: dict[int, list[Release]] = {}
        for year, rel in _releases(session):
            per_cycle.setdefault(year, []).append(rel)
        validated = dict(session.execute(
            select(Submission.cycle_id, func.count()).where(
                Submission.state.in_(("validated", "published")))
            .group_by(Submission.cycle_id)).all())
        rules = rel_mod.current_rules(session)
        history = list(session.scalars(select(ReleaseConfig).order_by(
            ReleaseConfig.id.desc()).limit(10)))
    rows = []
    for c in cycles:
        rels = per_cycle.get(c.year, [])
        active = [r for r in rels if r.withdrawn_at is None]
        rows.append({"year": c.year, "state": c.state, "validated": validated.get(c.id, 0),
                     "releases": len(rels), "latest": active[-1].number if active else None,
                     "latest_at": when(active[-1].created_at) if active else ""})
    current = {"min_n": str(rules.min_n), "dominance": f"{rules.dominance_p:g}",
               "protection": f"{rules.protection_p:g}"}
    return render(ctx, "secretariat/releases.html", status=status, cycles=rows, rules=rules,
                  history=[{"at": when(h.set_at), "by": h.set_by, "min_n": h.min_n,
                            "dominance": f"{h.dominance_p:g}",
                            "protection": f"{h.protection_p:g}"} for h in history],
                  errors=errors or {}, form=form or current,
                  title=_("Releases"))


def parse_rules(min_n: str, dominance: str, protection: str
                ) -> tuple[dict[str, int | float], dict[str, str]]:
    """The form's three parameters, or a message per field that is not acceptable."""
    values: dict[str, int | float] = {}
    errors: dict[str, str] = {}
    text = min_n.strip()
    if text.isdigit() and int(text) >= 1:
        values["min_n"] = int(text)
    else:
        errors["min_n"] = _("{value!r}: expected a whole number of at least 1").format(
            value=min_n)
    for name, raw in (("dominance", dominance), ("protection", protection)):
        try:
            number = float(raw.strip().replace(",", "."))
        except ValueError:
            number = math.nan
        if math.isfinite(number) and 0 <= number <= 100:
            values[name] = number
        else:
            errors[name] = _("{value!r}: expected a percentage from 0 to 100").format(value=raw)
    return values, errors


@router.post("/secretariat/releases/config")
def config(min_n: str = Form("", max_length=20), dominance: str = Form("", max_length=20),
           protection: str = Form("", max_length=20), ctx: Ctx = Depends(guard)) -> Response:
    form = {"min_n": min_n, "dominance": dominance, "protection": protection}
    values, errors = parse_rules(min_n, dominance, protection)
    if errors:
        return _overview(ctx, 422, errors, form)
    with ctx.db() as session:
        rules = rel_mod.set_rules(session, ctx.principal, min_n=int(values["min_n"]),
                                  dominance=float(values["dominance"]),
                                  protection=float(values["protection"]))
    return redirect(ctx, "/secretariat/releases", _(
        "The disclosure-control configuration was saved: minimum group size {n}, dominance "
        "p = {p:g}, protection {q:g}%. It applies to the next release.").format(
        n=rules.min_n, p=rules.dominance_p, q=rules.protection_p))


# ---------------------------------------------------------------- one cycle's releases


@router.get("/secretariat/cycles/{year}/releases")
def cycle_releases(year: Year, ctx: Ctx = Depends(guard)) -> Response:
    return _cycle_page(ctx, year)


def _cycle_page(ctx: Ctx, year: int, status: int = 200, errors: list[str] | None = None
                ) -> Response:
    with ctx.read() as session:
        cycle = cycle_or_404(session, year)
        rows = [_row(session, y, r) for y, r in _releases(session, year)]
        validated = session.scalar(select(func.count()).select_from(Submission).where(
            Submission.cycle_id == cycle.id,
            Submission.state.in_(("validated", "published")))) or 0
        rules = rel_mod.current_rules(session)
    return render(ctx, "secretariat/cycle_releases.html", status=status, cycle=cycle,
                  rows=rows, validated=validated, rules=rules, errors=errors or [],
                  regions=REGIONS, title=_("Releases of cycle {year}").format(year=year))


@router.post("/secretariat/cycles/{year}/releases")
def create(year: Year, ctx: Ctx = Depends(guard)) -> Response:
    started = time.perf_counter()
    try:
        with ctx.db() as session:
            rel = rel_mod.create(session, ctx.principal, year)
            counts = rel_mod.counts(session, rel)
            number, members = rel.number, rel.members
    except PmmError as exc:
        if exc.http_status != 422:  # no such cycle, not allowed: the one error page
            raise
        return _cycle_page(ctx, year, 422, exc.lines)
    seconds = time.perf_counter() - started
    return redirect(ctx, f"/secretariat/cycles/{year}/releases/{number}", _(
        "Release {number} of cycle {year} was created in {seconds:.0f} s: {members} validated "
        "members; public: {pr} statistics released, {pw} withheld; WCO level: {wr} released, "
        "{ww} withheld.").format(
        number=number, year=year, seconds=max(seconds, 1), members=members,
        pr=counts.get("public_released", 0), pw=counts.get("public_withheld", 0),
        wr=counts.get("wco_released", 0), ww=counts.get("wco_withheld", 0)))


# ---------------------------------------------------------------- compare two releases


@router.get("/secretariat/cycles/{year}/releases/compare")
def compare(year: Year, a: int = Query(..., ge=1, le=2**31 - 1),
            b: int = Query(..., ge=1, le=2**31 - 1), audience: str = "",
            format: str = "html", ctx: Ctx = Depends(guard)) -> Response:
    if audience and audience not in AUDIENCES:
        raise PmmError(_("audience {value!r}: expected one of {expected}").format(
            value=audience, expected=", ".join(AUDIENCES)))
    if format not in ("html", "csv"):
        raise PmmError(_("format {value!r}: expected html or csv").format(value=format))
    with ctx.read() as session:
        cycle = cycle_or_404(session, year)
        frame = rel_mod.diff(session, year, a, b)
        fw = framework_of(cycle)
    if audience:
        frame = frame[frame["audience"] == audience]
    if format == "csv":
        out = io.StringIO()
        frame.to_csv(out, index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        name = f"pmm-{year}-release-{a}-to-{b}.csv"
        return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    changes = Counter(zip(frame["audience"], frame["change"], strict=True))
    rows = [{"audience": r.audience, "level": level_label(r.level), "code": r.code,
             "name": indicator_name(fw, r.level, r.code, ctx.lang),
             "detail": " ".join(p for p in (r.variant, r.breakdown) if p),
             "group": f"{r.grouping}: {r.group}", "n_a": _count(r.n_a),
             "mean_a": number_text(r.mean_a), "n_b": _count(r.n_b),
             "mean_b": number_text(r.mean_b), "change": change_label(r.change)}
            for r in frame.head(DIFF_ROWS).itertuples(index=False)]
    return render(ctx, "secretariat/release_compare.html", year=year, a=a, b=b,
                  audience=audience, audiences=AUDIENCES, rows=rows, total=len(frame),
                  shown=len(rows),
                  changes=sorted((audience_label(k[0]), change_label(k[1]), n)
                                 for k, n in changes.items()),
                  title=_("Release {a} to {b}, cycle {year}").format(a=a, b=b, year=year))


def _count(value: object) -> str:
    return "–" if value is None or pd.isna(value) else str(int(value))  # type: ignore[arg-type]


def change_label(change: str) -> str:
    return {"new": _("new"), "gone": _("gone"), "released": _("now released"),
            "withheld": _("now withheld"), "changed": _("changed")}.get(change, change)


# ---------------------------------------------------------------- one release


@router.get("/secretariat/cycles/{year}/releases/{number}")
def show(year: Year, number: RowId, audience: str = "public", level: str = "kpi",
         breakdowns: bool = False, ctx: Ctx = Depends(guard)) -> Response:
    if audience not in AUDIENCES:
        raise PmmError(_("audience {value!r}: expected one of {expected}").format(
            value=audience, expected=", ".join(AUDIENCES)))
    if level not in LEVELS:
        raise PmmError(_("level {value!r}: expected one of {expected}").format(
            value=level, expected=", ".join(LEVELS)))
    with ctx.read() as session:
        cycle = cycle_or_404(session, year)
        rel = rel_mod.get(session, year, number)
        info = _row(session, year, rel)
        info.update(data_digest=rel.data_digest, framework_digest=rel.framework_digest)
        stats = rel_mod.statistics(session, rel)
        others = [r.number for _y, r in _releases(session, year) if r.number != number]
        fw = framework_of(cycle)
    rules = info["rules"]
    reasons = {a: sorted(Counter(
        stats.loc[(stats["audience"] == a) & (stats["n"] > 0) & stats["mean"].isna(),
                  "reason"]).items()) for a in AUDIENCES}
    reasons = {a: [(rel_mod.reason_text(code, "", rules) if code else _("no reason recorded"),
                    n) for code, n in rows] for a, rows in reasons.items()}
    picked = stats[(stats["audience"] == audience) & (stats["level"] == level)
                   & (stats["n"] > 0)]
    if not breakdowns:
        picked = picked[(picked["variant"] == "") & (picked["breakdown"] == "")]
    measures = _withheld(picked, fw, rules, ctx.lang)
    return render(ctx, "secretariat/release.html", info=info, reasons=reasons,
                  measures=measures, withheld=sum(len(m["groups"]) for m in measures),
                  audience=audience, level=level, breakdowns=breakdowns,
                  audiences=AUDIENCES, levels=LEVELS, others=others, regions=REGIONS,
                  audience_label=audience_label, level_label=level_label,
                  title=_("Release {number} of cycle {year}").format(number=number, year=year))


# ---------------------------------------------------------------- withdraw


@router.get("/secretariat/cycles/{year}/releases/{number}/withdraw")
def withdraw_page(year: Year, number: RowId, ctx: Ctx = Depends(guard)) -> Response:
    return _withdraw_page(ctx, year, number)


def _withdraw_page(ctx: Ctx, year: int, number: int, status: int = 200,
                   errors: dict[str, str] | None = None, reason: str = "") -> Response:
    with ctx.read() as session:
        rel = rel_mod.get(session, year, number)
        info = _row(session, year, rel)
        after = [r.number for _y, r in _releases(session, year)
                 if r.withdrawn_at is None and r.number != number]
    return render(ctx, "secretariat/release_withdraw.html", status=status, info=info,
                  after=after[-1] if after else None, errors=errors or {}, reason=reason,
                  title=_("Withdraw release {number} of cycle {year}").format(number=number,
                                                                              year=year))


@router.post("/secretariat/cycles/{year}/releases/{number}/withdraw")
def withdraw(year: Year, number: RowId, reason: str = Form("", max_length=2000),
             ctx: Ctx = Depends(guard)) -> Response:
    if not reason.strip():
        return _withdraw_page(ctx, year, number, 422, {"reason": _(
            "Say why the release is withdrawn: the reason is kept in the audit trail and shown "
            "with the release.")}, reason)
    try:
        with ctx.db() as session:
            rel_mod.withdraw(session, ctx.principal, year, number, reason.strip())
    except PmmError as exc:
        if exc.http_status != 422:
            raise
        return _withdraw_page(ctx, year, number, 422, {"form": " ".join(exc.lines)}, reason)
    return redirect(ctx, f"/secretariat/cycles/{year}/releases", _(
        "Release {number} of cycle {year} was withdrawn.").format(number=number, year=year))


def _withheld(stats: pd.DataFrame, fw, rules: Rules, lang: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """Per measure (KPI, outcome... with its variant and breakdown): the groups whose statistics
    were withheld, wholly or in part (quantiles), each with its reason, and a count per reason."""
    partial = (stats["withheld"] != "") & ~stats["withheld"].str.contains("/", regex=False)
    hidden = stats["mean"].isna() | partial
    out = []
    for (code, variant, breakdown), rows in stats.groupby(["code", "variant", "breakdown"],
                                                          sort=True):
        mask = hidden[rows.index]
        if not mask.any():
            continue
        groups = []
        for r in rows[mask].sort_values(["grouping", "group"]).itertuples(index=False):
            whole = pd.isna(r.mean)
            groups.append({"group": f"{r.grouping}: {r.group}", "n": int(r.n),
                           "what": _("every statistic") if whole
                           else r.withheld.replace(",", ", "),
                           "why": rel_mod.reason_text(r.reason, "" if whole else r.withheld,
                                                      rules) or _("no reason recorded"),
                           "code": r.reason})
        level = rows["level"].iloc[0]
        reasons = Counter(g["why"] if not g["code"] else
                          rel_mod.reason_text(g["code"], "", rules) for g in groups)
        out.append({"code": code, "name": indicator_name(fw, level, code, lang),
                    "detail": " ".join(p for p in (variant, breakdown) if p),
                    "groups": groups, "total": len(rows),
                    "reasons": sorted(reasons.items(), key=lambda kv: -kv[1])})
    return out
