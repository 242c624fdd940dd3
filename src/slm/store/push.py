"""Pushed measurement batches: idempotency keys and additive bucket counts.

Push *adds* counts to a bucket (``value = value + pushed``), unlike file ingest, which
replaces a bucket's value. A retry must therefore never be applied twice: every batch
claims its ``idempotency_key`` (with the SHA-256 of its normalised items) in the same
transaction that adds its counts, so the key exists if and only if the counts were added.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from slm.store.schema import measurements, push_batches

CountRow = tuple[str, int, float]
"""(series, bucket start in Unix seconds UTC, count to add)."""


@dataclass(frozen=True)
class PushBatchRecord:
    id: int
    idempotency_key: str
    sha256: str
    items: int
    series: tuple[str, ...]
    min_bucket: int | None
    max_bucket: int | None
    late_items: int
    out_of_order_items: int
    origin: str
    received_at: datetime


class PushRepository:
    def __init__(self, connection: Connection):
        self._conn = connection

    def claim(self, key: str, sha256: str, origin: str, received_at: datetime) -> int | None:
        """Record the key; its id, or ``None`` when the key was already claimed.

        The insert takes the write lock first (SQLite) or waits on a concurrent insert of
        the same key (PostgreSQL), so two racing retries cannot both claim it.
        """
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        stmt = (
            dialect.insert(push_batches)
            .values(
                idempotency_key=key,
                sha256=sha256,
                items=0,
                series=[],
                late_items=0,
                out_of_order_items=0,
                origin=origin,
                received_at=received_at,
            )
            .on_conflict_do_nothing(index_elements=[push_batches.c.idempotency_key])
            .returning(push_batches.c.id)
        )
        row = self._conn.execute(stmt).first()
        return None if row is None else int(row[0])

    def complete(
        self,
        batch_id: int,
        *,
        items: int,
        series: Sequence[str],
        min_bucket: int | None,
        max_bucket: int | None,
        late_items: int,
        out_of_order_items: int,
    ) -> None:
        self._conn.execute(
            push_batches.update()
            .where(push_batches.c.id == batch_id)
            .values(
                items=items,
                series=list(series),
                min_bucket=min_bucket,
                max_bucket=max_bucket,
                late_items=late_items,
                out_of_order_items=out_of_order_items,
            )
        )

    def find(self, key: str) -> PushBatchRecord | None:
        q = sa.select(push_batches).where(push_batches.c.idempotency_key == key)
        row = self._conn.execute(q).first()
        return None if row is None else _record(row)

    def since(self, batch_id: int, limit: int = 500) -> list[PushBatchRecord]:
        """Batches with an id above ``batch_id``, oldest first."""
        q = (
            sa.select(push_batches)
            .where(push_batches.c.id > batch_id)
            .order_by(push_batches.c.id)
            .limit(limit)
        )
        return [_record(r) for r in self._conn.execute(q)]

    def latest_buckets(self, series: Collection[str]) -> dict[str, int]:
        """The newest stored bucket start of each series that has one."""
        if not series:
            return {}
        m = measurements
        q = (
            sa.select(m.c.series, sa.func.max(m.c.bucket_start))
            .where(m.c.series.in_(sorted(series)))
            .group_by(m.c.series)
        )
        return {r[0]: int(r[1]) for r in self._conn.execute(q)}

    def add_counts(self, rows: Sequence[CountRow]) -> None:
        """Add each count to its bucket (a new bucket starts at the count).

        Each (series, bucket) must appear at most once in ``rows``.
        """
        if not rows:
            return
        m = measurements
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        ins = dialect.insert(m)
        stmt = ins.on_conflict_do_update(
            index_elements=[m.c.series, m.c.bucket_start],
            set_={"value": m.c.value + ins.excluded.value},
        )
        self._conn.execute(stmt, [{"series": s, "bucket_start": b, "value": v} for s, b, v in rows])

    def above(self, rows: Sequence[CountRow], limit: float) -> list[CountRow]:
        """The buckets of ``rows`` whose stored value is above ``limit`` (or not a number),
        with that value."""
        if not rows:
            return []
        m = measurements
        wanted = {(s, b) for s, b, _ in rows}
        q = sa.select(m.c.series, m.c.bucket_start, m.c.value).where(
            m.c.series.in_(sorted({s for s, _ in wanted})),
            m.c.bucket_start.between(min(b for _, b in wanted), max(b for _, b in wanted)),
            sa.or_(m.c.value > limit, m.c.value.is_(None)),
        )
        found = [
            (r[0], int(r[1]), float("nan") if r[2] is None else float(r[2]))
            for r in self._conn.execute(q)
        ]
        return sorted(r for r in found if (r[0], r[1]) in wanted)


def _record(row: sa.Row[tuple[object, ...]]) -> PushBatchRecord:
    m = row._mapping
    series: Sequence[str] = m["series"]
    return PushBatchRecord(
        id=m["id"],
        idempotency_key=m["idempotency_key"],
        sha256=m["sha256"],
        items=m["items"],
        series=tuple(series),
        min_bucket=m["min_bucket"],
        max_bucket=m["max_bucket"],
        late_items=m["late_items"],
        out_of_order_items=m["out_of_order_items"],
        origin=m["origin"],
        received_at=m["received_at"],
    )
