"""Evaluation results: one row per (SLO, objective, instant) evaluated, result kept as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from slm.store.schema import evaluations as t


@dataclass(frozen=True)
class EvaluationRecord:
    slo: str
    objective: str
    at: datetime
    status: str
    sli: float | None
    result: Mapping[str, Any]
    created_at: datetime


class EvaluationRepository:
    def __init__(self, connection: Connection):
        self._conn = connection

    def add(self, record: EvaluationRecord) -> None:
        self._conn.execute(
            t.insert().values(
                slo=record.slo,
                objective=record.objective,
                at=record.at,
                status=record.status,
                sli=record.sli,
                result=dict(record.result),
                created_at=record.created_at,
            )
        )

    def latest(self, slo: str, objective: str | None = None) -> EvaluationRecord | None:
        """The evaluation with the latest ``at`` (then latest written) of an SLO/objective."""
        q = sa.select(t).where(t.c.slo == slo)
        if objective is not None:
            q = q.where(t.c.objective == objective)
        row = self._conn.execute(q.order_by(t.c.at.desc(), t.c.id.desc()).limit(1)).first()
        return None if row is None else _record(row)

    def history(
        self, slo: str, objective: str, *, since: datetime | None = None
    ) -> list[EvaluationRecord]:
        """Evaluations of one objective, oldest first."""
        q = sa.select(t).where(t.c.slo == slo, t.c.objective == objective)
        if since is not None:
            q = q.where(t.c.at >= since)
        return [_record(r) for r in self._conn.execute(q.order_by(t.c.at, t.c.id))]


def _record(row: sa.Row[tuple[object, ...]]) -> EvaluationRecord:
    m = row._mapping
    return EvaluationRecord(
        slo=m["slo"],
        objective=m["objective"],
        at=m["at"],
        status=m["status"],
        sli=m["sli"],
        result=m["result"],
        created_at=m["created_at"],
    )
