"""Submissions: one member's data for one cycle, edited in revisions, every change audited.

Values live in rows keyed by (submission, revision, data item, year, breakdown). While a
submission is a draft (or changes were requested) its current revision is edited; submitting
seals it, and the next editable state starts a new revision as a copy, so a submitted value is
never overwritten. Every write is planned first (checked against the framework, diffed against
what is stored), then written in the caller's transaction with one conditional version bump:
a stale write (someone else saved since the caller read) fails with `ConflictError` and writes
nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd
from sqlalchemy import and_, bindparam, delete, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pmm.access import EDITABLE, Principal, require, state_label
from pmm.assessment.common import KPI_STATUSES, item_key, now_or
from pmm.assessment.cycles import accepting, check_kpi, framework_of, get_cycle
from pmm.assessment.limits import Defect
from pmm.assessment.validation import VALUE_COLUMNS, check_values, did_you_mean, empty_values
from pmm.errors import ConflictError, NotFound, PmmError
from pmm.framework.model import DISCLOSURE_LEVELS, Framework
from pmm.i18n import _
from pmm.store.audit import entry, record
from pmm.store.models import (
    Comment,
    Cycle,
    Explanation,
    ItemValue,
    KpiStatus,
    Submission,
)
from pmm.store.users import check_member

Key = tuple[str, int, str]


@dataclass(frozen=True)
class ItemChange:
    """A value to set: `value` None with status reported means the value is missing (removed)."""

    data_item: str
    year: int
    breakdown: str
    value: float | None
    status: str = "reported"
    note: str = ""

    @property
    def key(self) -> Key:
        return (self.data_item, self.year, self.breakdown)


@dataclass(frozen=True)
class KpiChange:
    """A KPI's status, disclosure and note (None: leave as it is)."""

    kpi: str
    status: str | None = None
    disclosure: str | None = None
    note: str | None = None


Locate = Callable[[tuple, str], str | None]  # (key, field) → "FILE:LINE" or a cell; None: unknown


@dataclass
class Plan:
    """What a write would change, and why it cannot (errors), before anything is written."""

    errors: list[str] = field(default_factory=list)
    upserts: list[dict] = field(default_factory=list)
    deletes: list[Key] = field(default_factory=list)
    kpi_rows: list[dict] = field(default_factory=list)
    audit: list[dict] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return len(self.audit)


def clean_text(text: str) -> str:
    """Line ends as \\n only (spreadsheets and XML keep no \\r), so files round-trip."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def find_submission(session: Session, cycle: Cycle, member: str) -> Submission | None:
    return session.scalar(select(Submission).where(Submission.cycle_id == cycle.id,
                                                   Submission.member == member))


def lock(session: Session, sub: Submission) -> None:
    """Wait for any other writer of this submission, then read it afresh.

    A command that changes a submission calls this before reading what it changes, so writers
    queue and each applies on top of the previous one, on both backends: PostgreSQL locks the
    row (SELECT ... FOR UPDATE); SQLite already holds the database lock (BEGIN IMMEDIATE).
    """
    session.refresh(sub, with_for_update=True)


def get_submission(session: Session, year: int, member: str) -> Submission:
    """The submission of `member` to cycle `year` (a clear error if there is none)."""
    cycle = get_cycle(session, year)
    member = check_member(member)
    found = find_submission(session, cycle, member)
    if found is None:
        raise NotFound(_("{member} has no submission to cycle {year} yet: it starts with the "
                         "first data saved (e.g. `pmm submission import`).").format(
            member=member, year=year))
    return found


def start_submission(session: Session, actor: Principal, year: int, member: str, *,
                     now: dt.datetime | None = None) -> Submission:
    """The member's submission to the cycle, created as a draft if it does not exist yet."""
    cycle = get_cycle(session, year)
    member = check_member(member)
    found = find_submission(session, cycle, member)
    if found is not None:
        return found
    require(actor, "start_submission", member=member)
    now = now_or(now)
    why = accepting(cycle, now)
    if why:
        raise PmmError(_("{member} cannot start a submission: {why}").format(member=member,
                                                                             why=why))
    # INSERT ... ON CONFLICT DO NOTHING: if another writer is creating it right now, this waits
    # for it (PostgreSQL) and then carries on with its submission, as SQLite's queue does.
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    created = session.execute(
        dialect.insert(Submission)
        .values(cycle_id=cycle.id, member=member, state="draft", revision=1, sealed_revision=0,
                review_requested=False, version=1, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["cycle_id", "member"])).rowcount == 1
    sub = session.scalars(select(Submission).where(Submission.cycle_id == cycle.id,
                                                   Submission.member == member)
                          .with_for_update().execution_options(populate_existing=True)).one()
    if not created:
        return sub
    record(session, [entry(actor.username, "submission.create", "submission", key=member,
                           field="state", new="draft", cycle=year, member=member, at=now)])
    return sub


def cycle_of(session: Session, sub: Submission) -> Cycle:
    return session.get(Cycle, sub.cycle_id)  # type: ignore[return-value]


def current_values(session: Session, sub: Submission, revision: int | None = None
                   ) -> pd.DataFrame:
    """The values of the current (or given) revision: `data_item, year, breakdown, value,
    status, note`."""
    query = (select(ItemValue.data_item, ItemValue.year, ItemValue.breakdown, ItemValue.value,
                    ItemValue.status, ItemValue.note)
             .where(ItemValue.submission_id == sub.id,
                    ItemValue.revision == (revision or sub.revision))
             .order_by(ItemValue.data_item, ItemValue.year, ItemValue.breakdown))
    rows = session.execute(query).all()
    if not rows:
        return empty_values()
    frame = pd.DataFrame(rows, columns=VALUE_COLUMNS)
    frame["value"] = frame["value"].astype("float64")
    frame["year"] = frame["year"].astype("int64")
    return frame


def stored_kpis(session: Session, sub: Submission) -> dict[str, tuple[str, str, str]]:
    """KPI rows stored for the current revision: kpi → (status, disclosure, note)."""
    rows = session.execute(select(KpiStatus.kpi, KpiStatus.status, KpiStatus.disclosure,
                                  KpiStatus.note)
                           .where(KpiStatus.submission_id == sub.id,
                                  KpiStatus.revision == sub.revision)).all()
    return {k: (s, d, n) for k, s, d, n in rows}


def effective_kpis(fw: Framework, stored: dict[str, tuple[str, str, str]]
                   ) -> dict[str, tuple[str, str, str]]:
    """Every KPI's status, disclosure, note: stored, else reported with the framework default."""
    return {k.code: stored.get(k.code, ("reported", k.disclosure, "")) for k in fw.kpis}


def explanations(session: Session, sub: Submission) -> dict[str, str]:
    rows = session.execute(select(Explanation.warning, Explanation.text)
                           .where(Explanation.submission_id == sub.id,
                                  Explanation.revision == sub.revision)).all()
    return dict(rows)


def _where(locate: Locate | None, keys: tuple, fld: str, fallback: str) -> str:
    if locate is not None:
        for key in keys:
            found = locate(key, fld)
            if found:
                return found
    return fallback


def plan_changes(session: Session, sub: Submission, fw: Framework, year: int,
                 items: list[ItemChange], kpis: list[KpiChange],
                 locate: Locate | None = None) -> Plan:
    """Check and diff a batch of changes against the current revision; writes nothing."""
    plan = Plan()
    stored = current_values(session, sub)
    stored_idx = {(r.data_item, int(r.year), r.breakdown): r
                  for r in stored.itertuples(index=False)}
    incoming: dict[Key, ItemChange] = {}
    for change in items:
        # the last one wins, like a spreadsheet row read later; notes keep \n line ends only
        incoming[change.key] = replace(change, note=clean_text(change.note))
    kpis = [replace(k, note=None if k.note is None else clean_text(k.note)) for k in kpis]
    merged = stored[[k not in incoming for k in zip(
        stored["data_item"], stored["year"].astype(int), stored["breakdown"], strict=True)]]
    new_rows = pd.DataFrame([{"data_item": c.data_item, "year": c.year,
                              "breakdown": c.breakdown,
                              "value": float("nan") if c.value is None else c.value,
                              "status": c.status, "note": c.note}
                             for c in incoming.values()
                             if not (c.value is None and c.status == "reported")],
                            columns=VALUE_COLUMNS)
    if not new_rows.empty:
        new_rows["value"] = new_rows["value"].astype("float64")
        merged = pd.concat([merged, new_rows], ignore_index=True) if not merged.empty \
            else new_rows
    for issue in check_values(fw, year, merged):
        if not any(k in incoming for k in issue.keys):
            continue  # concerns stored values only (cannot happen: every write is checked)
        where = _where(locate, issue.keys, issue.field, issue.where)
        plan.errors.append(Defect(f"{where}: {issue.message}", issue.rule))

    codes = {k.code: k for k in fw.kpis}
    effective = effective_kpis(fw, stored_kpis(session, sub))
    for change in kpis:
        key = ("kpi", change.kpi)
        if change.kpi not in codes:
            plan.errors.append(Defect(_("{where}: {value!r} is not a KPI of framework {fw}")
                                      .format(where=_where(locate, (key,), "kpi", change.kpi),
                                              value=change.kpi, fw=fw.id)
                                      + did_you_mean(change.kpi, codes), "unknown_kpi"))
            continue
        if change.status is not None and change.status not in KPI_STATUSES:
            plan.errors.append(Defect(_("{where}: status {value!r}: expected {allowed}").format(
                where=_where(locate, (key,), "status", change.kpi), value=change.status,
                allowed=_(" or ").join(KPI_STATUSES)), "status"))
        if change.disclosure is not None and change.disclosure not in DISCLOSURE_LEVELS:
            plan.errors.append(Defect(_("{where}: disclosure {value!r}: expected {allowed}")
                                      .format(where=_where(locate, (key,), "disclosure",
                                                           change.kpi), value=change.disclosure,
                                              allowed=_(" or ").join(DISCLOSURE_LEVELS)),
                                      "status"))
    if plan.errors:
        return plan

    cycle_year = year
    member = sub.member
    for key, change in incoming.items():
        old = stored_idx.get(key)
        label = item_key(*key)
        remove = change.value is None and change.status == "reported"
        if remove:
            if old is not None:
                plan.deletes.append(key)
                plan.audit.append(entry("", "value.remove", "value", key=label, field="value",
                                        old=_num(old.value), cycle=cycle_year, member=member))
            continue
        new_value = change.value
        if old is not None and _same(old.value, new_value) and old.status == change.status \
                and (old.note or "") == change.note:
            continue
        if old is not None:
            plan.deletes.append(key)
        plan.upserts.append({"data_item": key[0], "year": key[1], "breakdown": key[2],
                             "value": new_value, "status": change.status, "note": change.note})
        old_value = None if old is None else _num(old.value)
        if old is None or not _same(old.value, new_value):
            plan.audit.append(entry("", "value.set", "value", key=label, field="value",
                                    old=old_value, new=new_value, cycle=cycle_year,
                                    member=member))
        if (old is None and change.status != "reported") or (
                old is not None and old.status != change.status):
            plan.audit.append(entry("", "value.status", "value", key=label, field="status",
                                    old=None if old is None else old.status, new=change.status,
                                    cycle=cycle_year, member=member))
        if (old.note if old is not None else "") != change.note:
            plan.audit.append(entry("", "value.note", "value", key=label, field="note",
                                    old=None if old is None else old.note, new=change.note,
                                    cycle=cycle_year, member=member))
    for change in kpis:
        status, disclosure, note = effective[change.kpi]
        new = (change.status or status, change.disclosure or disclosure,
               note if change.note is None else change.note)
        if new == (status, disclosure, note):
            continue
        plan.kpi_rows.append({"kpi": change.kpi, "status": new[0], "disclosure": new[1],
                              "note": new[2]})
        for fld, before, after in zip(("status", "disclosure", "note"),
                                      (status, disclosure, note), new, strict=True):
            if before != after:
                plan.audit.append(entry("", f"kpi.{fld}", "kpi", key=change.kpi, field=fld,
                                        old=before, new=after, cycle=cycle_year,
                                        member=member))
    return plan


def _num(value: float | None) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _same(a: float | None, b: float | None) -> bool:
    a, b = _num(a), _num(b)
    return a == b if a is not None and b is not None else a is None and b is None


def check_editable(session: Session, actor: Principal, sub: Submission, now: dt.datetime,
                   action: str = "edit") -> Cycle:
    """The submission's cycle, if `actor` may take the editing `action` on it now."""
    cycle = cycle_of(session, sub)
    require(actor, action, member=sub.member, year=cycle.year)
    lock(session, sub)
    if sub.state not in EDITABLE:
        raise PmmError(_("{member}'s submission to cycle {year} is {state}: it can be edited "
                         "only as a draft or when changes are requested (the Secretariat can "
                         "reopen it).").format(member=sub.member, year=cycle.year,
                                               state=state_label(sub.state)))
    why = accepting(cycle, now)
    if why:
        raise PmmError(_("{member} cannot change its submission: {why}").format(
            member=sub.member, why=why))
    return cycle


def bump_version(session: Session, sub: Submission, expected: int | None, now: dt.datetime,
                 **values: object) -> None:
    """Advance the version if it is still `expected` (the version read before editing)."""
    expected = sub.version if expected is None else expected
    done = session.execute(update(Submission)
                           .where(Submission.id == sub.id, Submission.version == expected)
                           .values(version=Submission.version + 1, updated_at=now, **values)
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        session.refresh(sub)
        if expected > sub.version:
            raise ConflictError(_(
                "Conflict: your copy of {member}'s submission to cycle {year} is version "
                "{expected}, newer than the database's version {found} (was the database "
                "restored from an older backup, or is this another database?). Nothing was "
                "saved.").format(member=sub.member, year=cycle_of(session, sub).year,
                                 found=sub.version, expected=expected))
        raise ConflictError(_(
            "Conflict: {member}'s submission to cycle {year} was changed by someone else "
            "(now version {found}; your copy is version {expected}). Nothing was saved: "
            "export it again, re-apply your changes and retry.").format(
            member=sub.member, year=cycle_of(session, sub).year, found=sub.version,
            expected=expected))
    session.refresh(sub)


def commit_plan(session: Session, actor: Principal, sub: Submission, plan: Plan, *,
                expected_version: int | None = None, reason: str = "",
                now: dt.datetime | None = None) -> int:
    """Write a checked plan in the current transaction; returns the number of changes."""
    if plan.errors:
        raise PmmError(*plan.errors)
    if not plan.changes:
        return 0
    now = now_or(now)
    bump_version(session, sub, expected_version, now)
    table = ItemValue.__table__
    if plan.deletes:
        session.execute(delete(table).where(and_(
            table.c.submission_id == sub.id, table.c.revision == sub.revision,
            table.c.data_item == bindparam("k_item"), table.c.year == bindparam("k_year"),
            table.c.breakdown == bindparam("k_breakdown"))),
            [{"k_item": k[0], "k_year": k[1], "k_breakdown": k[2]} for k in plan.deletes])
    if plan.upserts:
        session.execute(insert(table), [{"submission_id": sub.id, "revision": sub.revision, **row}
                                        for row in plan.upserts])
    if plan.kpi_rows:
        ktable = KpiStatus.__table__
        session.execute(delete(ktable).where(and_(
            ktable.c.submission_id == sub.id, ktable.c.revision == sub.revision,
            ktable.c.kpi == bindparam("k_kpi"))), [{"k_kpi": r["kpi"]} for r in plan.kpi_rows])
        session.execute(insert(ktable), [{"submission_id": sub.id, "revision": sub.revision, **r}
                                         for r in plan.kpi_rows])
    record(session, [{**e, "actor": actor.username, "at": now, "reason": reason}
                     for e in plan.audit])
    return plan.changes


def apply_changes(session: Session, actor: Principal, sub: Submission, items: list[ItemChange],
                  kpis: list[KpiChange] | None = None, *, expected_version: int | None = None,
                  reason: str = "", locate: Locate | None = None,
                  now: dt.datetime | None = None) -> int:
    """Check, then write, a batch of changes (all or nothing); returns the number of changes."""
    now = now_or(now)
    cycle = check_editable(session, actor, sub, now, "edit")
    plan = plan_changes(session, sub, framework_of(cycle), cycle.year, items, kpis or [], locate)
    return commit_plan(session, actor, sub, plan, expected_version=expected_version,
                       reason=reason, now=now)


def new_revision(session: Session, sub: Submission) -> None:
    """Start revision n+1 as a copy of n (values, KPI statuses, explanations)."""
    old, new = sub.revision, sub.revision + 1
    for model in (ItemValue, KpiStatus, Explanation):
        table = model.__table__
        columns = list(table.columns)
        source = select(*[literal(new).label("revision") if c.name == "revision" else c
                          for c in columns]).where(table.c.submission_id == sub.id,
                                                   table.c.revision == old)
        session.execute(insert(table).from_select([c.name for c in columns], source))
    sub.revision = new


def explain(session: Session, actor: Principal, sub: Submission, warning: str, text: str, *,
            expected_version: int | None = None, now: dt.datetime | None = None) -> None:
    """Attach (or replace) the explanation of a warning, named by its id (see `Issue.id`)."""
    now = now_or(now)
    cycle = check_editable(session, actor, sub, now, "explain")
    text = text.strip()
    if not text:
        raise PmmError(_("an explanation cannot be empty"))
    old = session.get(Explanation, (sub.id, sub.revision, warning))
    if old is not None and old.text == text:
        return
    bump_version(session, sub, expected_version, now)
    record(session, [entry(actor.username, "explanation.set", "explanation", key=warning,
                           field="text", old=None if old is None else old.text, new=text,
                           cycle=cycle.year, member=sub.member, at=now)])
    if old is not None:
        old.text, old.author, old.at = text, actor.username, now
    else:
        session.add(Explanation(submission_id=sub.id, revision=sub.revision, warning=warning,
                                text=text, author=actor.username, at=now))
    session.flush()


def readable_submission(session: Session, actor: Principal, year: int,
                        member: str) -> Submission:
    """The member's submission to cycle `year`, if `actor` may read it in full (its own
    member's users, the Secretariat, or an assigned peer reviewer); refused before anything
    is looked up, so a refusal does not tell whether the submission exists."""
    member = check_member(member)
    require(actor, "read_submission", member=member, year=year)
    return get_submission(session, year, member)


def comment(session: Session, actor: Principal, sub: Submission, text: str, *,
            kpi: str | None = None, now: dt.datetime | None = None) -> Comment:
    """Add a comment (members' NCPs and viewers, the Secretariat, assigned peer reviewers)."""
    cycle = cycle_of(session, sub)
    require(actor, "comment", member=sub.member, year=cycle.year)
    text = text.strip()
    if not text:
        raise PmmError(_("a comment cannot be empty"))
    check_kpi(cycle, kpi)
    now = now_or(now)
    note = Comment(submission_id=sub.id, kpi=kpi, author=actor.username, text=text, at=now)
    session.add(note)
    session.flush()
    record(session, [entry(actor.username, "comment.add", "comment", key=kpi or "",
                           field="text", new=text, cycle=cycle.year, member=sub.member, at=now)])
    return note


def comments(session: Session, sub: Submission) -> list[Comment]:
    return list(session.scalars(select(Comment).where(Comment.submission_id == sub.id)
                                .order_by(Comment.id)).all())
