"""The schema: what the platform records. Submitted data items are the only truth.

Values are keyed by (submission, revision, data item, calendar year, breakdown text). A submitted
revision is never written again: editing after a submission starts a new revision (see
`pmm.assessment.submissions`). The `audit` table is append-only (triggers refuse UPDATE and DELETE
on both SQLite and PostgreSQL). Timestamps are stored as naive UTC and read back as aware UTC.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, naive UTC in the database, aware UTC out (same on both backends)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        return None if value is None else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    member: Mapped[str | None] = mapped_column(String(3))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Cycle(Base):
    __tablename__ = "cycles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)  # the reporting year T names it
    framework_id: Mapped[str] = mapped_column(String(64))
    framework_json: Mapped[str] = mapped_column(Text)  # the framework as it was at creation
    opens_on: Mapped[dt.date] = mapped_column(Date)
    closes_on: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10))  # planned, open, closed
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("cycle_id", "member"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    member: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(Integer, default=1)  # the current revision
    sealed_revision: Mapped[int] = mapped_column(Integer, default=0)  # last submitted one
    review_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic concurrency
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ItemValue(Base):
    __tablename__ = "item_values"
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    data_item: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)  # calendar year
    breakdown: Mapped[str] = mapped_column(String(200), primary_key=True)  # "" for the total
    value: Mapped[float | None] = mapped_column(Double)
    status: Mapped[str] = mapped_column(String(16))  # reported, not_available
    note: Mapped[str] = mapped_column(Text, default="")


class KpiStatus(Base):
    __tablename__ = "kpi_statuses"
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    kpi: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # reported, not_applicable, not_available
    disclosure: Mapped[str] = mapped_column(String(16))  # public, wco, restricted
    note: Mapped[str] = mapped_column(Text, default="")


class Explanation(Base):
    __tablename__ = "explanations"
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    warning: Mapped[str] = mapped_column(String(300), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class EvidenceBlob(Base):
    """File contents, stored once per SHA-256 (in the database: backed up and transactional)."""

    __tablename__ = "evidence_blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Evidence(Base):
    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    kpi: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(ForeignKey("evidence_blobs.sha256"))
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Comment(Base):
    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    kpi: Mapped[str | None] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ReviewAssignment(Base):
    __tablename__ = "review_assignments"
    __table_args__ = (UniqueConstraint("submission_id", "reviewer"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    reviewer: Mapped[str] = mapped_column(String(64))
    assigned_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Review(Base):
    """One round of peer review of a submission's revision."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    revision: Mapped[int] = mapped_column(Integer)
    reviewer: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))  # accepted, changes_requested
    summary: Mapped[str] = mapped_column(Text, default="")


class Finding(Base):
    __tablename__ = "review_findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"))
    kpi: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Append-only: who changed what, when, from which value to which, and why."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    cycle: Mapped[int | None] = mapped_column(Integer, index=True)
    member: Mapped[str | None] = mapped_column(String(3), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(300), default="")
    field: Mapped[str] = mapped_column(String(64), default="")
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")


class ReleaseConfig(Base):
    """The Secretariat's disclosure-control parameters; the newest row is in force."""

    __tablename__ = "release_config"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    min_n: Mapped[int] = mapped_column(Integer)
    dominance_p: Mapped[float] = mapped_column(Double)
    protection_p: Mapped[float] = mapped_column(Double)
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(64))


class Release(Base):
    """A frozen, numbered publication of a cycle: the values as validated (a Parquet snapshot),
    the framework, the disclosure-control parameters, and its statistics per audience."""

    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("cycle_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    number: Mapped[int] = mapped_column(Integer)
    framework_id: Mapped[str] = mapped_column(String(64))
    framework_digest: Mapped[str] = mapped_column(String(64))
    data_digest: Mapped[str] = mapped_column(String(64))  # of the submissions' versions
    min_n: Mapped[int] = mapped_column(Integer)
    dominance_p: Mapped[float] = mapped_column(Double)
    protection_p: Mapped[float] = mapped_column(Double)
    members: Mapped[int] = mapped_column(Integer)  # validated members in it
    # observations and groups, Parquet; loaded only when read (pages ask for releases often and
    # read the snapshot once per process: `pmm.analysis.release.snapshot` keeps it)
    snapshot: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(String(64))
    withdraw_reason: Mapped[str] = mapped_column(Text, default="")


class ReleaseStatistic(Base):
    """One released group statistic of one measure for one audience (NaN: withheld)."""

    __tablename__ = "release_statistics"
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), primary_key=True)
    audience: Mapped[str] = mapped_column(String(8), primary_key=True)  # public, wco
    level: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    variant: Mapped[str] = mapped_column(String(32), primary_key=True)
    breakdown: Mapped[str] = mapped_column(String(200), primary_key=True)
    grouping: Mapped[str] = mapped_column(String(16), primary_key=True)
    grp: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    mean: Mapped[float | None] = mapped_column(Double)
    median: Mapped[float | None] = mapped_column(Double)
    q1: Mapped[float | None] = mapped_column(Double)
    q3: Mapped[float | None] = mapped_column(Double)
    reason: Mapped[str] = mapped_column(String(16), default="")  # min_n, single, ...
    withheld: Mapped[str] = mapped_column(String(32), default="")  # quantiles withheld
    basis: Mapped[str] = mapped_column(String(16), default="")  # members, outcome means, ...
class WebSession(Base):
    """A signed-in browser: the cookie holds the token, the database only its SHA-256."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A user's API token (`Authorization: Bearer`), stored as its SHA-256; revocable."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown to its owner to tell tokens apart
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class LoginAttempt(Base):
    """Sign-in attempts, read to throttle guessing per user and per address."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    success: Mapped[bool] = mapped_column(Boolean)


class WebSecret(Base):
    """The platform's signing key, made once and shared by every worker and restart."""

    __tablename__ = "web_secrets"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class FrameworkDraft(Base):
    """A framework version in the making (from a version, an upload or accepted proposals),
    until the Secretariat adopts it; an adopted version never changes again."""

    __tablename__ = "framework_drafts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    framework_id: Mapped[str] = mapped_column(String(64), unique=True)  # the version's id
    base_id: Mapped[str] = mapped_column(String(64))  # the version it revises
    document: Mapped[str] = mapped_column(Text)  # the framework as JSON
    state: Mapped[str] = mapped_column(String(10))  # draft, adopted
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    adopted_by: Mapped[str | None] = mapped_column(String(64))
    adopted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class KpiProposal(Base):
    """A KPI a working-body member proposes for a tool, checked against a framework version,
    and the Secretariat's decision (accepted into a draft, or rejected with a reason)."""

    __tablename__ = "kpi_proposals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    framework_id: Mapped[str] = mapped_column(String(64))  # the version it was checked against
    kpi_code: Mapped[str] = mapped_column(String(64))
    working_body: Mapped[str] = mapped_column(String(64))
    tool: Mapped[str] = mapped_column(String(64))
    kpi: Mapped[str] = mapped_column(Text)  # the proposed KPI, the framework's KPI as JSON
    rationale: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # submitted, accepted, rejected
    reason: Mapped[str] = mapped_column(Text, default="")  # the Secretariat's reason
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("framework_drafts.id"))
    proposed_by: Mapped[str] = mapped_column(String(64), index=True)
    proposed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Fragment(Base):
    """A rendered part of a page that reads a release, shared by every web worker
    (`pmm.web.fragments`): under the SHA-256 of everything it derives from, raw deflate."""

    __tablename__ = "fragments"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)  # bytes of HTML before compression
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
