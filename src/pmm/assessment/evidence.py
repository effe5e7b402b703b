"""Evidence files attached to a submission.

Contents are stored in the database, once per SHA-256 (table `evidence_blobs`), rather than in a
folder: a backup then holds them, the record and its file are written in one transaction, and a
web server on another host needs no shared disk. The size limit keeps the database small.
The type is sniffed from the bytes, never taken from the name or the uploader; active content
(HTML, SVG, XML, scripts, executables) is refused, and a file is only ever served back as an
attachment with `X-Content-Type-Options: nosniff` (see `download_headers`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from urllib.parse import quote

import filetype
from sqlalchemy import select
from sqlalchemy.orm import Session

from pmm.access import Principal, require
from pmm.assessment.common import now_or
from pmm.assessment.cycles import check_kpi
from pmm.assessment.limits import check_size, limits
from pmm.assessment.submissions import check_editable, cycle_of
from pmm.errors import NotFound, PmmError
from pmm.i18n import _
from pmm.store.audit import entry, record
from pmm.store.models import Evidence, EvidenceBlob, Submission

ALLOWED = {
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "image/tiff",
    "image/bmp", "application/msword", "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint", "application/rtf", "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
ACTIVE_NAMES = re.compile(r"\.(html?|xhtml|svgz?|xml|xsl|js|mjs|hta|swf|exe|dll|bat|cmd|ps1|sh)$",
                          re.IGNORECASE)
ACTIVE_TEXT = re.compile(rb"^\s*(<\?xml|<!doctype|<html|<svg|<script|<head|<body|<iframe)",
                         re.IGNORECASE)
# a script whatever its name: shebang, PHP, ASP/JSP, Windows batch, PowerShell, VBScript
SCRIPT = re.compile(rb"^\s*(#!|<\?php|<%|@echo\s+off|Set-ExecutionPolicy|Option\s+Explicit)",
                    re.IGNORECASE)
TEXT_NAMES = re.compile(r"\.(txt|csv|md|text)$", re.IGNORECASE)
MARKUP = re.compile(rb"<(script|svg|html|iframe|object|embed)[\s>/]", re.IGNORECASE)


def sniff(name: str, content: bytes) -> str:
    """The content type of a file, from its bytes; raises PmmError for refused content."""
    if ACTIVE_NAMES.search(name):
        raise PmmError(_("{name}: files of this kind (web pages, SVG, XML, scripts, programs) "
                         "can carry active content and are not accepted as evidence").format(
            name=name))
    kind = filetype.guess(content)
    if kind is not None:
        if kind.mime in ALLOWED:
            return kind.mime
        raise PmmError(_("{name}: {mime} files are not accepted as evidence (accepted: PDF, "
                         "images, office documents, ZIP, plain text, CSV)").format(
            name=name, mime=kind.mime))
    head = content[:4096].lstrip(b"\xef\xbb\xbf")
    if ACTIVE_TEXT.match(head) or MARKUP.search(content[:65536]):
        raise PmmError(_("{name}: the file holds HTML, SVG, XML or script markup, which is not "
                         "accepted as evidence").format(name=name))
    if SCRIPT.match(head):
        raise PmmError(_("{name}: the file is a script or program (it starts with {start!r}), "
                         "which is not accepted as evidence").format(
            name=name, start=head[:12].decode("utf-8", "replace")))
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        content = b"\x00"  # refused below as unknown binary
    if b"\x00" in content or not TEXT_NAMES.search(name):
        # the allow-list: only what the bytes show to be an accepted type is kept
        raise PmmError(_("{name}: the content is not of an accepted type (PDF, images, office "
                         "documents, ZIP, or UTF-8 plain text named .txt, .csv or .md), whatever "
                         "its name says").format(name=name))
    return "text/csv" if name.lower().endswith(".csv") else "text/plain"


def safe_name(name: str) -> str:
    """The original file name without any folder part or control characters."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:255] or "evidence"


def add_evidence(session: Session, actor: Principal, sub: Submission, name: str, content: bytes,
                 *, kpi: str | None = None, now: dt.datetime | None = None) -> Evidence:
    """Attach a file (the member's NCP, while the submission can be edited)."""
    now = now_or(now)
    cycle = check_editable(session, actor, sub, now, "add_evidence")
    name = safe_name(name)
    if not content:
        raise PmmError(_("{name}: the file is empty").format(name=name))
    check_size(name, len(content), limits().evidence_bytes, "PMM_EVIDENCE_MAX_BYTES")
    check_kpi(cycle, kpi)
    mime = sniff(name, content)
    digest = hashlib.sha256(content).hexdigest()
    if session.get(EvidenceBlob, digest) is None:
        session.add(EvidenceBlob(sha256=digest, size=len(content), content=content))
        session.flush()  # the blob first: the evidence row refers to it
    ev = Evidence(submission_id=sub.id, kpi=kpi, sha256=digest, original_name=name,
                  content_type=mime, size=len(content), uploaded_by=actor.username, at=now)
    session.add(ev)
    session.flush()
    record(session, [entry(actor.username, "evidence.add", "evidence", key=kpi or "",
                           field="file", new=f"{name} sha256:{digest}", cycle=cycle.year,
                           member=sub.member, at=now)])
    return ev


def list_evidence(session: Session, actor: Principal, sub: Submission) -> list[Evidence]:
    """The submission's evidence files (for those who may read the submission in full)."""
    require(actor, "read_submission", member=sub.member, year=cycle_of(session, sub).year)
    return list(session.scalars(select(Evidence).where(Evidence.submission_id == sub.id)
                                .order_by(Evidence.id)).all())


def get_evidence(session: Session, actor: Principal, sub: Submission,
                 evidence_id: int) -> tuple[Evidence, bytes]:
    """An evidence record and its bytes, for those who may read the submission in full."""
    require(actor, "read_submission", member=sub.member, year=cycle_of(session, sub).year)
    ev = session.get(Evidence, evidence_id)
    if ev is None or ev.submission_id != sub.id:
        raise NotFound(_("no evidence #{id} in {member}'s submission to cycle {year}").format(
            id=evidence_id, member=sub.member, year=cycle_of(session, sub).year))
    blob = session.get(EvidenceBlob, ev.sha256)
    assert blob is not None  # a foreign key guarantees it
    return ev, bytes(blob.content)


def download_headers(ev: Evidence) -> dict[str, str]:
    """HTTP headers for serving a file: always an attachment, never rendered in the page."""
    ascii_name = ev.original_name.encode("ascii", "replace").decode().replace('"', "'")
    return {
        "Content-Type": ev.content_type if ev.content_type != "text/plain"
        else "text/plain; charset=utf-8",
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; "
                               f"filename*=UTF-8''{quote(ev.original_name)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
