"""Releases: the Secretariat's disclosure-control parameters, releases of a cycle and their
statistics per audience.

Revision ID: 0002_releases
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_releases"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "release_config",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("min_n", sa.Integer(), nullable=False),
        sa.Column("dominance_p", sa.Double(), nullable=False),
        sa.Column("protection_p", sa.Double(), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_config")),
    )
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.String(length=64), nullable=False),
        sa.Column("framework_digest", sa.String(length=64), nullable=False),
        sa.Column("data_digest", sa.String(length=64), nullable=False),
        sa.Column("min_n", sa.Integer(), nullable=False),
        sa.Column("dominance_p", sa.Double(), nullable=False),
        sa.Column("protection_p", sa.Double(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=64), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"],
                                name=op.f("fk_releases_cycle_id_cycles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
        sa.UniqueConstraint("cycle_id", "number", name=op.f("uq_releases_cycle_id")),
    )
    op.create_table(
        "release_statistics",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=8), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("variant", sa.String(length=32), nullable=False),
        sa.Column("breakdown", sa.String(length=200), nullable=False),
        sa.Column("grouping", sa.String(length=16), nullable=False),
        sa.Column("grp", sa.String(length=32), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("mean", sa.Double(), nullable=True),
        sa.Column("median", sa.Double(), nullable=True),
        sa.Column("q1", sa.Double(), nullable=True),
        sa.Column("q3", sa.Double(), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("withheld", sa.String(length=32), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"],
                                name=op.f("fk_release_statistics_release_id_releases")),
        sa.PrimaryKeyConstraint("release_id", "audience", "level", "code", "variant",
                                "breakdown", "grouping", "grp",
                                name=op.f("pk_release_statistics")),
    )


def downgrade() -> None:
    op.drop_table("release_statistics")
    op.drop_table("releases")
    op.drop_table("release_config")
