"""Agreement statements: the exact JSON bytes of each statement with the inputs it came from.

A statement is keyed by (agreement, period, inputs hash). Saving the same statement again
is a no-op; saving different bytes for the same inputs is refused, because a statement
must be reproducible from its inputs. A statement stored in an earlier JSON version
(docs/json.md) counts as the same when its upgrade says exactly the same; the stored
bytes are kept as recorded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from slm.domain.errors import StoreError
from slm.domain.statement import upgrade_statement
from slm.store.schema import sla_statements as t


@dataclass(frozen=True)
class StatementRecord:
    agreement: str
    period: str
    inputs_sha256: str
    inputs: Mapping[str, Any]
    body: str
    total_credit: str
    currency: str
    created_at: datetime

    @property
    def body_sha256(self) -> str:
        return hashlib.sha256(self.body.encode("utf-8")).hexdigest()


SaveState = Literal["new", "unchanged"]


class StatementRepository:
    def __init__(self, connection: Connection):
        self._conn = connection

    def save(self, record: StatementRecord) -> SaveState:
        """Store ``record``; ``unchanged`` if the same inputs already gave the same bytes."""
        existing = self._find(record.agreement, record.period, record.inputs_sha256)
        if existing is not None:
            if existing.body_sha256 != record.body_sha256 and not _same_statement(
                existing.body, record.body
            ):
                raise StoreError(
                    f"statement {record.agreement} {record.period}: recomputed from the same "
                    f"inputs ({record.inputs_sha256[:12]}) but the bytes differ from the stored "
                    f"statement ({existing.body_sha256[:12]} vs {record.body_sha256[:12]})"
                )
            return "unchanged"
        self._conn.execute(
            t.insert().values(
                agreement=record.agreement,
                period=record.period,
                inputs_sha256=record.inputs_sha256,
                body_sha256=record.body_sha256,
                inputs=dict(record.inputs),
                body=record.body,
                total_credit=record.total_credit,
                currency=record.currency,
                created_at=record.created_at,
            )
        )
        return "new"

    def _find(self, agreement: str, period: str, inputs_sha256: str) -> StatementRecord | None:
        q = sa.select(t).where(
            t.c.agreement == agreement, t.c.period == period, t.c.inputs_sha256 == inputs_sha256
        )
        row = self._conn.execute(q).first()
        return None if row is None else _record(row)

    def latest(self, agreement: str, period: str) -> StatementRecord | None:
        q = sa.select(t).where(t.c.agreement == agreement, t.c.period == period)
        row = self._conn.execute(q.order_by(t.c.id.desc()).limit(1)).first()
        return None if row is None else _record(row)

    def history(self, agreement: str) -> list[StatementRecord]:
        q = sa.select(t).where(t.c.agreement == agreement).order_by(t.c.period, t.c.id)
        return [_record(r) for r in self._conn.execute(q)]


def _same_statement(stored: str, new: str) -> bool:
    """Whether ``stored``, recorded under an earlier JSON version (docs/json.md), says
    exactly what ``new`` says: the earlier version is upgraded, numbers compared exactly."""
    old_doc = json.loads(stored, parse_float=Decimal)
    new_doc = json.loads(new, parse_float=Decimal)
    if old_doc.get("schema") == new_doc.get("schema"):
        return False  # same version, different bytes
    return bool(upgrade_statement(old_doc) == new_doc)


def _record(row: sa.Row[tuple[object, ...]]) -> StatementRecord:
    m = row._mapping
    return StatementRecord(
        agreement=m["agreement"],
        period=m["period"],
        inputs_sha256=m["inputs_sha256"],
        inputs=m["inputs"],
        body=m["body"],
        total_credit=m["total_credit"],
        currency=m["currency"],
        created_at=m["created_at"],
    )
