"""Probe checks: one row per check in ``probe_checks``, aggregated into ``measurements``.

``add`` inserts checks and, in the same transaction, recomputes the one-minute buckets they
fall in (``probe:NAME:good|total|latency{location="LOC"}``, see ``slm.domain.probe``) from
every stored check of those buckets, so adding checks in any order or batch size gives the
same measurements.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from slm.domain.probe import BUCKET, CheckResult, aggregate, bucket_of, series_prefix
from slm.store.measurements import MeasurementRepository
from slm.store.schema import measurements
from slm.store.schema import probe_checks as t


class ProbeRepository:
    def __init__(self, connection: Connection):
        self._conn = connection

    def add(self, results: Sequence[CheckResult]) -> int:
        """Store the checks and refresh their buckets' measurements; returns rows written."""
        if not results:
            return 0
        self._conn.execute(t.insert(), [_row(r) for r in results])
        spans: dict[tuple[str, str], tuple[int, int]] = {}
        for r in results:
            b = bucket_of(r.started_at)
            lo, hi = spans.get((r.probe, r.location), (b, b))
            spans[(r.probe, r.location)] = (min(lo, b), max(hi, b))
        checks: list[CheckResult] = []
        for (probe, location), (lo, hi) in spans.items():
            checks += self.between(probe, location, _at(lo), _at(hi) + BUCKET)
        MeasurementRepository(self._conn).upsert(aggregate(checks))
        return len(results)

    def between(
        self, probe: str, location: str | None, start: datetime, end: datetime
    ) -> list[CheckResult]:
        """Checks of ``probe`` (at ``location``, or anywhere) started in ``[start, end)``."""
        q = sa.select(t).where(t.c.probe == probe, t.c.started_at >= start, t.c.started_at < end)
        if location is not None:
            q = q.where(t.c.location == location)
        return [_result(row) for row in self._conn.execute(q.order_by(t.c.started_at, t.c.id))]

    def recent(self, probe: str | None = None, *, limit: int = 50) -> list[CheckResult]:
        """The newest checks (of one probe, or of all), newest first."""
        q = sa.select(t).order_by(t.c.started_at.desc(), t.c.id.desc()).limit(limit)
        if probe is not None:
            q = q.where(t.c.probe == probe)
        return [_result(row) for row in self._conn.execute(q)]

    def count(self, probe: str | None = None) -> int:
        q = sa.select(sa.func.count()).select_from(t)
        if probe is not None:
            q = q.where(t.c.probe == probe)
        return int(self._conn.execute(q).scalar_one())

    def series(self, probe: str, field: str) -> list[str]:
        """The measurement series of ``probe``/``field`` at every location, sorted."""
        prefix = series_prefix(probe, field)
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        m = measurements
        rows = self._conn.execute(
            sa.select(m.c.series)
            .where(m.c.series.like(escaped + "%", escape="\\"))
            .distinct()
            .order_by(m.c.series)
        )
        return [r[0] for r in rows]


def _row(r: CheckResult) -> dict[str, Any]:
    return {
        "probe": r.probe,
        "location": r.location,
        "started_at": r.started_at,
        "latency": float(r.latency),
        "success": bool(r.success),
        "reason": r.reason,
        "details": dict(r.details),
    }


def _result(row: Any) -> CheckResult:
    return CheckResult(
        probe=row.probe,
        location=row.location,
        started_at=row.started_at,
        latency=float(row.latency),
        success=bool(row.success),
        reason=row.reason,
        details=dict(row.details or {}),
    )


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
