"""Rendered fragments of the pages that read a release, shared by every web worker.

Revision ID: 0004_fragments
Revises: 0003_proposals
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_fragments"
down_revision = "0003_proposals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fragments",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_fragments")),
    )
    op.create_index(op.f("ix_fragments_created_at"), "fragments", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_fragments_created_at"), table_name="fragments")
    op.drop_table("fragments")
