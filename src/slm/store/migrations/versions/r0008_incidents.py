"""incidents: incidents (and imported problems and changes), their timeline events, impact
intervals, alert links, proposed exclusions, and the major-event flag log.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("service", sa.String(400), nullable=False),
        sa.Column("slo", sa.String(400), nullable=False),
        sa.Column("priority", sa.String(4), nullable=False),
        sa.Column("base_priority", sa.String(4), nullable=False),
        sa.Column("criticality", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("resolved_at", TZ, nullable=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("external_status", sa.String(100), nullable=False),
        sa.Column("alert_group", sa.String(1000), nullable=False),
        sa.Column("root_cause", sa.JSON, nullable=True),
        sa.Column("signed_off_by", sa.String(200), nullable=True),
        sa.Column("signed_off_at", TZ, nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
    )
    op.create_index("ix_incidents_alert_group_status", "incidents", ["alert_group", "status"])
    op.create_table(
        "incident_events",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(100), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("team", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incident_events"),
    )
    op.create_index("ix_incident_events_incident_id_at", "incident_events", ["incident_id", "at"])
    op.create_table(
        "incident_impacts",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(100), nullable=False),
        sa.Column("service", sa.String(400), nullable=False),
        sa.Column("start", TZ, nullable=False),
        sa.Column("end", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_incident_impacts"),
    )
    op.create_index("ix_incident_impacts_incident_id", "incident_impacts", ["incident_id"])
    op.create_table(
        "incident_alerts",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("alert_key", sa.String(1000), nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("incident_id", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incident_alerts"),
        sa.UniqueConstraint("alert_key", "episode", name="uq_incident_alerts_alert_key_episode"),
    )
    op.create_table(
        "incident_exclusions",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(100), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("exclusion", sa.JSON, nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incident_exclusions"),
    )
    op.create_index("ix_incident_exclusions_incident_id", "incident_exclusions", ["incident_id"])
    op.create_table(
        "major_events",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("set_by", sa.String(200), nullable=False),
        sa.Column("set_at", TZ, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_major_events"),
    )


def downgrade() -> None:
    op.drop_table("major_events")
    op.drop_index("ix_incident_exclusions_incident_id", table_name="incident_exclusions")
    op.drop_table("incident_exclusions")
    op.drop_table("incident_alerts")
    op.drop_index("ix_incident_impacts_incident_id", table_name="incident_impacts")
    op.drop_table("incident_impacts")
    op.drop_index("ix_incident_events_incident_id_at", table_name="incident_events")
    op.drop_table("incident_events")
    op.drop_index("ix_incidents_alert_group_status", table_name="incidents")
    op.drop_table("incidents")
