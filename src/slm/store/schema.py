"""The store's tables (SQLAlchemy Core), the one description of the current schema.

Migrations in ``migrations/versions`` create and evolve these tables; a test checks that the
migrated database matches this metadata. Instants are UTC: measurement buckets are integer
Unix seconds, other instants ``UTCDateTime`` (timezone-aware in and out, on every dialect).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC; naive values are refused, read values are aware (UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every instant must carry a time zone")
        utc = value.astimezone(UTC)
        # SQLite has no time zone type: store naive UTC there.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


spec_documents = sa.Table(
    "spec_documents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("api_version", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(200), nullable=False),
    sa.Column("name", sa.String(400), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("kind", "name", "version"),
)

measurements = sa.Table(
    "measurements",
    metadata,
    sa.Column("series", sa.String(1000), primary_key=True),
    sa.Column("bucket_start", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("value", sa.Double, nullable=False),
)

ingests = sa.Table(
    "ingests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("format", sa.String(32), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("series", sa.JSON, nullable=False),
    sa.Column("loaded_at", UTCDateTime, nullable=False),
)

evaluations = sa.Table(
    "evaluations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("slo", sa.String(400), nullable=False),
    sa.Column("objective", sa.String(400), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("sli", sa.Double, nullable=True),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "slo", "objective", "at"),
)

# --- slm serve (migration 0002): push batches and evaluation provenance -------------------

push_batches = sa.Table(
    "push_batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("items", sa.Integer, nullable=False),
    sa.Column("series", sa.JSON, nullable=False),
    sa.Column("min_bucket", sa.BigInteger, nullable=True),
    sa.Column("max_bucket", sa.BigInteger, nullable=True),
    sa.Column("late_items", sa.Integer, nullable=False),
    sa.Column("out_of_order_items", sa.Integer, nullable=False),
    sa.Column("origin", sa.String(32), nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
)

# Columns ``slm serve`` adds to ``evaluations``: where the numbers came from, the span of
# buckets read, and whether late data has superseded the row.
evaluations.append_column(sa.Column("provenance", sa.JSON, nullable=True))
evaluations.append_column(sa.Column("span_start", UTCDateTime, nullable=True))
evaluations.append_column(sa.Column("superseded_at", UTCDateTime, nullable=True))
evaluations.append_column(sa.Column("superseded_by", sa.Integer, nullable=True))

probe_checks = sa.Table(
    "probe_checks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("probe", sa.String(400), nullable=False),
    sa.Column("location", sa.String(100), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("latency", sa.Double, nullable=False),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Index(None, "probe", "location", "started_at"),
)

# --- retention (migration 0003): roll-ups of measurements and the log of retention runs ---

measurement_rollups = sa.Table(
    "measurement_rollups",
    metadata,
    sa.Column("series", sa.String(1000), primary_key=True),
    sa.Column("resolution", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("bucket_start", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("value", sa.Double, nullable=False),
    sa.Column("samples", sa.BigInteger, nullable=False),
    sa.Column("sealed", sa.Boolean, nullable=False),
)

retention_runs = sa.Table(
    "retention_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
    sa.Column("rows_deleted", sa.BigInteger, nullable=False),
    sa.Column("rollup_rows", sa.BigInteger, nullable=False),
    sa.Column("bytes_freed", sa.BigInteger, nullable=False),
    sa.Column("report", sa.JSON, nullable=False),
)

# --- alerting (migration 0005): the state of every alert key and the log of transitions ---

alert_states = sa.Table(
    "alert_states",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(1000), nullable=False, unique=True),
    sa.Column("slo", sa.String(400), nullable=False),
    sa.Column("objective", sa.String(400), nullable=False),
    sa.Column("rule", sa.String(400), nullable=False),
    sa.Column("policy", sa.String(400), nullable=False),
    sa.Column("severity", sa.String(100), nullable=False),
    sa.Column("service", sa.String(400), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("episode", sa.Integer, nullable=False),
    sa.Column("pending_since", UTCDateTime, nullable=True),
    sa.Column("fired_at", UTCDateTime, nullable=True),
    sa.Column("resolved_at", UTCDateTime, nullable=True),
    sa.Column("evaluated_at", UTCDateTime, nullable=True),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

alert_events = sa.Table(
    "alert_events",
    metadata,
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
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("group_key", sa.String(1000), nullable=False),
    sa.Column("leader", sa.String(1000), nullable=True),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "slo", "at"),
)

# --- agreements (migration 0006): period statements with their inputs -------------------

sla_statements = sa.Table(
    "sla_statements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("agreement", sa.String(400), nullable=False),
    sa.Column("period", sa.String(16), nullable=False),
    sa.Column("inputs_sha256", sa.String(64), nullable=False),
    sa.Column("body_sha256", sa.String(64), nullable=False),
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("total_credit", sa.String(40), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("agreement", "period", "inputs_sha256"),
)

# --- notifications (migration 0007): the outbox, its delivery log, escalation states ------

notification_outbox = sa.Table(
    "notification_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(36), nullable=False, unique=True),
    sa.Column("dedup_key", sa.String(1000), nullable=False, unique=True),
    sa.Column("policy", sa.String(400), nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("level_name", sa.String(200), nullable=False),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("slo", sa.String(400), nullable=False),
    sa.Column("objective", sa.String(400), nullable=False),
    sa.Column("service", sa.String(400), nullable=False),
    sa.Column("recipient", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(200), nullable=False),
    sa.Column("channel_config", sa.JSON, nullable=False),
    sa.Column("recipients_to", sa.JSON, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("lease_owner", sa.String(200), nullable=True),
    sa.Column("lease_until", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Index(None, "status", "next_attempt_at"),
)

notification_attempts = sa.Table(
    "notification_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("outbox_id", sa.Integer, nullable=False),
    sa.Column("message_id", sa.String(36), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("worker", sa.String(200), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("status", sa.String(100), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index(None, "outbox_id"),
)

escalation_states = sa.Table(
    "escalation_states",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("policy", sa.String(400), nullable=False),
    sa.Column("slo", sa.String(400), nullable=False),
    sa.Column("objective", sa.String(400), nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("period", sa.String(64), nullable=False),
    sa.Column("episode", sa.Integer, nullable=False),
    sa.Column("armed", sa.Boolean, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("policy", "slo", "objective", "level"),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("service", sa.String(400), nullable=False),
    sa.Column("slo", sa.String(400), nullable=False),
    sa.Column("priority", sa.String(4), nullable=False),
    sa.Column("base_priority", sa.String(4), nullable=False),
    sa.Column("criticality", sa.String(100), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("resolved_at", UTCDateTime, nullable=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("external_id", sa.String(200), nullable=False),
    sa.Column("external_status", sa.String(100), nullable=False),
    sa.Column("alert_group", sa.String(1000), nullable=False),
    sa.Column("root_cause", sa.JSON, nullable=True),
    sa.Column("signed_off_by", sa.String(200), nullable=True),
    sa.Column("signed_off_at", UTCDateTime, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index(None, "alert_group", "status"),
)

incident_events = sa.Table(
    "incident_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.String(100), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("team", sa.String(200), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Index(None, "incident_id", "at"),
)

incident_impacts = sa.Table(
    "incident_impacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.String(100), nullable=False),
    sa.Column("service", sa.String(400), nullable=False),
    sa.Column("start", UTCDateTime, nullable=False),
    sa.Column("end", UTCDateTime, nullable=True),
    sa.Index(None, "incident_id"),
)

incident_alerts = sa.Table(
    "incident_alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_key", sa.String(1000), nullable=False),
    sa.Column("episode", sa.Integer, nullable=False),
    sa.Column("incident_id", sa.String(100), nullable=False),
    sa.UniqueConstraint("alert_key", "episode"),
)

incident_exclusions = sa.Table(
    "incident_exclusions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.String(100), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("exclusion", sa.JSON, nullable=False),
    sa.Column("decided_by", sa.String(200), nullable=True),
    sa.Column("decided_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "incident_id"),
)

major_events = sa.Table(
    "major_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("set_by", sa.String(200), nullable=False),
    sa.Column("set_at", UTCDateTime, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)
