"""alerting: alert states (one row per alert key) and the log of their transitions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_states",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(1000), nullable=False),
        sa.Column("slo", sa.String(400), nullable=False),
        sa.Column("objective", sa.String(400), nullable=False),
        sa.Column("rule", sa.String(400), nullable=False),
        sa.Column("policy", sa.String(400), nullable=False),
        sa.Column("severity", sa.String(100), nullable=False),
        sa.Column("service", sa.String(400), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("pending_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_states"),
        sa.UniqueConstraint("key", name="uq_alert_states_key"),
    )
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(1000), nullable=False),
        sa.Column("slo", sa.String(400), nullable=False),
        sa.Column("objective", sa.String(400), nullable=False),
        sa.Column("rule", sa.String(400), nullable=False),
        sa.Column("severity", sa.String(100), nullable=False),
        sa.Column("service", sa.String(400), nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("from_status", sa.String(16), nullable=False),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("group_key", sa.String(1000), nullable=False),
        sa.Column("leader", sa.String(1000), nullable=True),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_events"),
    )
    op.create_index("ix_alert_events_slo_at", "alert_events", ["slo", "at"])


def downgrade() -> None:
    op.drop_index("ix_alert_events_slo_at", table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_table("alert_states")
