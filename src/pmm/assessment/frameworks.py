"""Framework versions in the making: drafts, uploads, differences and adoption (Secretariat).

A draft is a whole framework version stored in the database under its own id, next to the
version it revises (its base). It starts as a copy of a version (shipped or adopted), or as an
uploaded YAML file that passes the KPI criteria; accepted KPI proposals are added to it
(`pmm.assessment.proposals`). Adopting it freezes it: from then on it is a version like the
shipped ones, on which a cycle can be created. Every change is audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from pmm.access import Principal, require
from pmm.assessment.common import now_or
from pmm.errors import ConflictError, NotFound, PmmError
from pmm.framework.criteria import Finding, check
from pmm.framework.diff import Diff, diff
from pmm.framework.drafting import UploadCheck, check_upload, derive, endorsed
from pmm.framework.loader import load, shipped_ids
from pmm.framework.model import Framework
from pmm.i18n import _
from pmm.store.audit import entry, record
from pmm.store.models import FrameworkDraft

MAX_UPLOAD = 2 * 2**20  # bytes of an uploaded framework (the shipped one is about 150 kB)
MAX_NAME = 255
ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_.\-]*$"


@lru_cache(maxsize=16)
def _parsed(document: str) -> Framework:
    return Framework.model_validate_json(document)


def framework_of_draft(draft: FrameworkDraft) -> Framework:
    return _parsed(draft.document)


def digest(fw: Framework) -> str:
    return hashlib.sha256(fw.model_dump_json().encode()).hexdigest()[:16]


def versions(session: Session) -> dict[str, Framework]:
    """The versions in force, usable for a cycle or a proposal: shipped and adopted ones."""
    found = {ref: load(ref) for ref in shipped_ids()}
    for draft in session.scalars(select(FrameworkDraft).where(FrameworkDraft.state == "adopted")
                                 .order_by(FrameworkDraft.id)):
        found[draft.framework_id] = framework_of_draft(draft)
    return found


def version(session: Session, ref: str) -> Framework:
    """A version in force by id (shipped or adopted), else a clear refusal."""
    known = versions(session)
    if ref in known:
        return known[ref]
    draft = _find(session, ref)
    if draft is not None:
        raise PmmError(_("framework {ref} is a draft: the Secretariat adopts it before it can "
                         "be used").format(ref=ref))
    raise NotFound(_("no framework version {ref!r} (versions: {known})").format(
        ref=ref, known=", ".join(known)))


def adopted_framework(session: Session, ref: str) -> Framework | None:
    """An adopted draft by id, for a cycle; None when `ref` names no draft. A draft not yet
    adopted is refused."""
    draft = _find(session, ref)
    if draft is None:
        return None
    if draft.state != "adopted":
        raise PmmError(_("framework {ref} is a draft not yet adopted: a cycle can only be "
                         "created on an adopted version").format(ref=ref))
    return framework_of_draft(draft)


def _find(session: Session, ref: str) -> FrameworkDraft | None:
    return session.scalar(select(FrameworkDraft).where(FrameworkDraft.framework_id == ref))


def list_drafts(session: Session, who: Principal) -> list[FrameworkDraft]:
    require(who, "manage_frameworks")
    return list(session.scalars(select(FrameworkDraft).order_by(FrameworkDraft.id)))


def get_draft(session: Session, who: Principal, ref: str) -> FrameworkDraft:
    require(who, "manage_frameworks")
    draft = _find(session, ref)
    if draft is None:
        raise NotFound(_("no framework draft {ref!r}").format(ref=ref))
    return draft


def open_draft(session: Session, who: Principal, ref: str) -> FrameworkDraft:
    """A draft that may still change (not adopted)."""
    draft = get_draft(session, who, ref)
    if draft.state != "draft":
        raise PmmError(_("framework {ref} was adopted on {date}: an adopted version never "
                         "changes; start a new draft from it").format(
            ref=ref, date=draft.adopted_at.date() if draft.adopted_at else ""))
    return draft


def _check_new_id(session: Session, new_id: str) -> None:
    if not re.match(ID_PATTERN, new_id) or len(new_id) > 64:
        raise PmmError(_("version id {value!r}: expected a letter then letters, digits, '.', "
                         "'_' or '-' (at most 64), e.g. wco-pmm-v1.1").format(value=new_id))
    if new_id in shipped_ids() or _find(session, new_id) is not None:
        raise PmmError(_("version id {value!r} is taken; expected a new id").format(
            value=new_id))


def start_draft(session: Session, who: Principal, base: str, new_id: str, *,
                now: dt.datetime | None = None) -> FrameworkDraft:
    """A new draft `new_id`: a copy of the version `base` (shipped or adopted)."""
    require(who, "manage_frameworks")
    new_id = new_id.strip()
    _check_new_id(session, new_id)
    now = now_or(now)
    fw = derive(version(session, base), new_id, now.date())
    return _store(session, who, fw, base, "framework.draft", now)


def _store(session: Session, who: Principal, fw: Framework, base: str, action: str,
           now: dt.datetime) -> FrameworkDraft:
    draft = FrameworkDraft(framework_id=fw.id, base_id=base, document=fw.model_dump_json(),
                           state="draft", created_by=who.username, created_at=now, version=1)
    session.add(draft)
    session.flush()
    record(session, [entry(who.username, action, "framework", key=fw.id, field="base",
                           new=base, at=now),
                     entry(who.username, action, "framework", key=fw.id, field="document",
                           new=digest(fw), at=now)])
    return draft


def replace_document(session: Session, who: Principal, draft: FrameworkDraft, fw: Framework,
                     action: str, reason: str, now: dt.datetime) -> None:
    """Store a draft's new content (audited with the digests before and after)."""
    old = digest(framework_of_draft(draft))
    draft.document = fw.model_dump_json()
    draft.version += 1
    record(session, [entry(who.username, action, "framework", key=draft.framework_id,
                           field="document", old=old, new=digest(fw), reason=reason, at=now)])


def upload(session: Session, who: Principal, name: str, data: bytes, *,
           now: dt.datetime | None = None) -> tuple[UploadCheck, FrameworkDraft | None]:
    """Read and check an uploaded YAML framework. When it passes (no reading problem and no
    criteria error) it becomes a new draft; otherwise nothing is stored and the check says
    why, with file and line."""
    require(who, "manage_frameworks")
    name = (name or "upload.yaml").strip()[-MAX_NAME:] or "upload.yaml"
    if len(data) > MAX_UPLOAD:
        return UploadCheck(None, [_("{file}: {size} bytes; a framework file may have at most "
                                    "{limit} bytes").format(file=name, size=len(data),
                                                            limit=MAX_UPLOAD)]), None
    if not data.strip():
        return UploadCheck(None, [_("{file}: the file is empty").format(file=name)]), None
    result = check_upload(name, data)
    fw = result.framework
    if fw is None:
        return result, None
    result.problems.extend(_version_problems(session, name, fw))
    if not result.ok:
        return result, None
    draft = _store(session, who, fw, fw.framework.parent or "", "framework.upload",
                   now_or(now))
    return result, draft


def _version_problems(session: Session, name: str, fw: Framework) -> list[str]:
    problems = []
    known = versions(session)
    if fw.id in shipped_ids() or _find(session, fw.id) is not None:
        problems.append(_("{file}: framework id {id!r} is taken; a new version needs a new id "
                          "(e.g. {id}.1)").format(file=name, id=fw.id))
    parent = fw.framework.parent
    if not parent or parent not in known:
        problems.append(_("{file}: framework.parent {value!r}: expected the version this one "
                          "revises, one of {known}").format(
            file=name, value=parent or "", known=", ".join(known)))
    return problems


def draft_diff(session: Session, who: Principal, ref: str) -> Diff | None:
    """What the draft changes against its base (None when the base is unknown)."""
    draft = get_draft(session, who, ref)
    base = versions(session).get(draft.base_id)
    return None if base is None else diff(base, framework_of_draft(draft))


def findings(draft: FrameworkDraft) -> list[Finding]:
    return check(framework_of_draft(draft))


def adopt(session: Session, who: Principal, ref: str, *, expected_version: int | None = None,
          now: dt.datetime | None = None) -> FrameworkDraft:
    """Adopt a draft: it must pass the KPI criteria (errors; warnings do not stop it). It
    becomes an endorsed version, frozen, on which cycles can be created."""
    draft = open_draft(session, who, ref)
    if expected_version is not None and draft.version != expected_version:
        raise ConflictError(_("framework draft {ref} was changed by someone else (version "
                              "{found}, you had {expected}); reload and try again").format(
            ref=ref, found=draft.version, expected=expected_version))
    fw = framework_of_draft(draft)
    errors = [f for f in check(fw) if f.severity == "error"]
    if errors:
        raise PmmError(_("framework draft {ref} does not pass the KPI criteria ({n} errors); "
                         "it cannot be adopted").format(ref=ref, n=len(errors)),
                       *(str(f) for f in errors))
    now = now_or(now)
    replace_document(session, who, draft, endorsed(fw, now.date()), "framework.adopt", "", now)
    record(session, [entry(who.username, "framework.adopt", "framework", key=ref,
                           field="state", old="draft", new="adopted", at=now)])
    draft.state = "adopted"
    draft.adopted_by = who.username
    draft.adopted_at = now
    return draft
