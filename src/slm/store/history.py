"""Evaluations written by ``slm serve``: with provenance, the span read, and superseding.

Rows live in the ``evaluations`` table (``slm.store.evaluations`` reads them too); the
columns ``provenance``, ``span_start``, ``superseded_at`` and ``superseded_by`` were added
by migration 0002. A row is *superseded* when data arrived later for buckets inside the
span it read: its numbers were right for what was known then, but are no longer the
answer for its instant. Superseded rows are kept (history is never rewritten in place).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from slm.store.schema import evaluations as t


@dataclass(frozen=True)
class ServedEvaluation:
    slo: str
    objective: str
    at: datetime
    status: str
    sli: float | None
    result: Mapping[str, Any]
    provenance: Mapping[str, Any]
    span_start: datetime
    created_at: datetime


@dataclass(frozen=True)
class HistoryRow:
    id: int
    slo: str
    objective: str
    at: datetime
    sli: float | None
    provenance: Mapping[str, Any] | None
    superseded_at: datetime | None
    superseded_by: int | None


class HistoryRepository:
    def __init__(self, connection: Connection):
        self._conn = connection

    def add(self, e: ServedEvaluation) -> None:
        self._conn.execute(
            t.insert().values(
                slo=e.slo,
                objective=e.objective,
                at=e.at,
                status=e.status,
                sli=e.sli,
                result=dict(e.result),
                created_at=e.created_at,
                provenance=dict(e.provenance),
                span_start=e.span_start,
            )
        )

    def supersede(
        self,
        slos: Collection[str],
        *,
        first_bucket_end: datetime,
        last_bucket: datetime,
        received_at: datetime,
        batch_id: int,
        now: datetime,
    ) -> int:
        """Mark the current rows of ``slos`` whose span holds a bucket in
        ``[first bucket, last_bucket]`` and that were computed before the data arrived.

        A row at instant ``at`` read the buckets in ``[span_start, floor(at))``: it holds
        the first late bucket when ``at >= first_bucket_end`` and the last one when
        ``span_start <= last_bucket``. Returns how many rows were marked.
        """
        if not slos:
            return 0
        result = self._conn.execute(
            t.update()
            .where(
                t.c.slo.in_(sorted(slos)),
                t.c.superseded_at.is_(None),
                t.c.span_start.is_not(None),
                t.c.at >= first_bucket_end,
                t.c.span_start <= last_bucket,
                t.c.created_at <= received_at,
            )
            .values(superseded_at=now, superseded_by=batch_id)
        )
        return int(result.rowcount or 0)

    def rows(self, slo: str) -> list[HistoryRow]:
        """Every row of an SLO, oldest first (superseded ones included)."""
        q = sa.select(t).where(t.c.slo == slo).order_by(t.c.at, t.c.id)
        return [
            HistoryRow(
                id=m["id"],
                slo=m["slo"],
                objective=m["objective"],
                at=m["at"],
                sli=m["sli"],
                provenance=m["provenance"],
                superseded_at=m["superseded_at"],
                superseded_by=m["superseded_by"],
            )
            for m in (r._mapping for r in self._conn.execute(q))
        ]
