"""Importing a submission file: a CSV or a workbook, validated whole, then written all or nothing.

It sits above both readers (`exchange` for CSV, `workbook` for xlsx) so that neither imports
the other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from pmm.access import Principal
from pmm.assessment.common import now_or
from pmm.assessment.cycles import framework_of, get_cycle
from pmm.assessment.exchange import Progress, read_csv
from pmm.assessment.limits import (
    PROGRESS_BYTES,
    capped,
    check_size,
    in_file_order,
    limits,
)
from pmm.assessment.submissions import (
    check_editable,
    commit_plan,
    find_submission,
    lock,
    plan_changes,
    start_submission,
)
from pmm.assessment.workbook import read_workbook
from pmm.errors import ConflictError, PmmError
from pmm.i18n import _
from pmm.store.models import Submission
from pmm.store.users import check_member


def is_workbook(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PK\x03\x04"
    except OSError:
        return False


@dataclass
class ImportResult:
    submission: Submission
    changes: int


def import_file(session: Session, actor: Principal, year: int, member: str, path: Path, *,
                expected_version: int | None = None, reason: str = "",
                now: dt.datetime | None = None, progress: Progress | None = None
                ) -> ImportResult:
    """Validate a whole CSV or workbook, then write all of it or nothing (caller's transaction).

    A workbook remembers the submission version it was made from: if the submission changed
    since, the import is refused as a conflict rather than overwriting those changes. Files
    beyond the limits of `pmm.assessment.limits` are refused before they are read; `progress`
    receives a line now and then while a big file is read and checked.
    """
    now = now_or(now)
    cycle = get_cycle(session, year)
    member = check_member(member)
    fw = framework_of(cycle)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PmmError(f"{path}: {exc.strerror}") from None
    check_size(str(path), size, limits().import_bytes, "PMM_IMPORT_MAX_BYTES")
    sheets: list[str] = []
    if is_workbook(path):
        parsed = read_workbook(path, fw)
        sheets = parsed.sheets
    else:
        parsed = read_csv(path, fw, progress)
    if parsed.meta:
        for fld, wanted in (("cycle", str(year)), ("member", member)):
            got = parsed.meta.get(fld)
            if got and got != wanted:
                raise PmmError(_("{file}: this workbook is for {fld} {got}, not {wanted}").format(
                    file=path, fld=fld, got=got, wanted=wanted))
    existing = find_submission(session, cycle, member)
    if existing is not None:
        lock(session, existing)  # wait for another writer: check against what it committed
    if expected_version is None and parsed.meta.get("version") and existing is not None:
        made_from = int(parsed.meta["version"])
        fresh = made_from == 0 and existing.version == 1  # started since, nothing saved yet
        if made_from > existing.version:
            raise ConflictError(_(
                "Conflict: {file} was made from version {made} of {member}'s submission, but "
                "the database holds only version {now}: the workbook is newer than the database "
                "(was the database restored from an older backup, or is this another "
                "database?). Nothing was imported.").format(
                file=path, made=made_from, member=member, now=existing.version))
        if made_from != existing.version and not fresh:
            raise ConflictError(_(
                "Conflict: {file} was made from version {made} of {member}'s submission, which "
                "has since been changed (now version {now}). Nothing was imported: make a new "
                "template, copy your values into it and import that.").format(
                file=path, made=made_from, member=member, now=existing.version))
    sub = existing or start_submission(session, actor, year, member, now=now)
    check_editable(session, actor, sub, now, "edit")
    if progress is not None and size >= PROGRESS_BYTES:
        progress(_("{file}: checking {n} values").format(file=path,
                                                         n=len(parsed.items) + len(parsed.kpis)))
    plan = plan_changes(session, sub, fw, year, parsed.items, parsed.kpis, parsed.locate)
    errors = in_file_order(parsed.errors + plan.errors, sheets)
    if errors:
        raise PmmError(*capped(errors))
    changes = commit_plan(session, actor, sub, plan, expected_version=expected_version,
                          reason=reason or _("import of {file}").format(file=path.name), now=now)
    return ImportResult(sub, changes)
