"""probes: one row per synthetic probe check (``probe_checks``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "probe_checks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("probe", sa.String(400), nullable=False),
        sa.Column("location", sa.String(100), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latency", sa.Double, nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_probe_checks"),
    )
    op.create_index(
        "ix_probe_checks_probe_location_started_at",
        "probe_checks",
        ["probe", "location", "started_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_probe_checks_probe_location_started_at", table_name="probe_checks")
    op.drop_table("probe_checks")
