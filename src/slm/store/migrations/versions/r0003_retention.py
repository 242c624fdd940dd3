"""retention: roll-ups of measurements (sealed when finer rows are gone) and retention runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "measurement_rollups",
        sa.Column("series", sa.String(1000), nullable=False),
        sa.Column("resolution", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("bucket_start", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("samples", sa.BigInteger, nullable=False),
        sa.Column("sealed", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint(
            "series", "resolution", "bucket_start", name="pk_measurement_rollups"
        ),
    )
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows_deleted", sa.BigInteger, nullable=False),
        sa.Column("rollup_rows", sa.BigInteger, nullable=False),
        sa.Column("bytes_freed", sa.BigInteger, nullable=False),
        sa.Column("report", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_retention_runs"),
    )


def downgrade() -> None:
    op.drop_table("retention_runs")
    op.drop_table("measurement_rollups")
