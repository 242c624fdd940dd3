"""Initial schema: spec documents, measurements, ingests, evaluations.

Revision ID: 0001
Revises:
Create Date: 2026-05-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spec_documents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("api_version", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(200), nullable=False),
        sa.Column("name", sa.String(400), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_spec_documents"),
        sa.UniqueConstraint("kind", "name", "version", name="uq_spec_documents_kind_name_version"),
    )
    op.create_table(
        "measurements",
        sa.Column("series", sa.String(1000), nullable=False),
        sa.Column("bucket_start", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("series", "bucket_start", name="pk_measurements"),
    )
    op.create_table(
        "ingests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("series", sa.JSON, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ingests"),
        sa.UniqueConstraint("sha256", name="uq_ingests_sha256"),
    )
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("slo", sa.String(400), nullable=False),
        sa.Column("objective", sa.String(400), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("sli", sa.Double, nullable=True),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evaluations"),
    )
    op.create_index("ix_evaluations_slo_objective_at", "evaluations", ["slo", "objective", "at"])


def downgrade() -> None:
    op.drop_index("ix_evaluations_slo_objective_at", table_name="evaluations")
    op.drop_table("evaluations")
    op.drop_table("ingests")
    op.drop_table("measurements")
    op.drop_table("spec_documents")
