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
