"""Framework drafts and KPI proposals: versions in the making, and the KPIs working bodies
propose for them.

Revision ID: 0003_proposals
Revises: 0002_web
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_proposals"
down_revision = "0002_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "framework_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.String(length=64), nullable=False),
        sa.Column("base_id", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("adopted_by", sa.String(length=64), nullable=True),
        sa.Column("adopted_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_framework_drafts")),
        sa.UniqueConstraint("framework_id", name=op.f("uq_framework_drafts_framework_id")),
    )
    op.create_table(
        "kpi_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.String(length=64), nullable=False),
        sa.Column("kpi_code", sa.String(length=64), nullable=False),
        sa.Column("working_body", sa.String(length=64), nullable=False),
        sa.Column("tool", sa.String(length=64), nullable=False),
        sa.Column("kpi", sa.Text(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["draft_id"], ["framework_drafts.id"],
                                name=op.f("fk_kpi_proposals_draft_id_framework_drafts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_proposals")),
    )
    op.create_index(op.f("ix_kpi_proposals_proposed_by"), "kpi_proposals", ["proposed_by"])


def downgrade() -> None:
    op.drop_index(op.f("ix_kpi_proposals_proposed_by"), table_name="kpi_proposals")
    op.drop_table("kpi_proposals")
    op.drop_table("framework_drafts")
