"""serve: push batches (idempotency keys) and provenance/superseding on evaluations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_batches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("items", sa.Integer, nullable=False),
        sa.Column("series", sa.JSON, nullable=False),
        sa.Column("min_bucket", sa.BigInteger, nullable=True),
        sa.Column("max_bucket", sa.BigInteger, nullable=True),
        sa.Column("late_items", sa.Integer, nullable=False),
        sa.Column("out_of_order_items", sa.Integer, nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_push_batches"),
        sa.UniqueConstraint("idempotency_key", name="uq_push_batches_idempotency_key"),
    )
    with op.batch_alter_table("evaluations") as batch:
        batch.add_column(sa.Column("provenance", sa.JSON, nullable=True))
        batch.add_column(sa.Column("span_start", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("superseded_by", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evaluations") as batch:
        batch.drop_column("superseded_by")
        batch.drop_column("superseded_at")
        batch.drop_column("span_start")
        batch.drop_column("provenance")
    op.drop_table("push_batches")
