"""The record of loaded files, keyed by the SHA-256 of their bytes (idempotent ingest)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from slm.store.schema import ingests as t


@dataclass(frozen=True)
class IngestRecord:
    sha256: str
    path: str
    format: str
    rows: int
    series: tuple[str, ...]
    loaded_at: datetime


class IngestRepository:
    def __init__(self, connection: Connection):
        self._conn = connection

    def find(self, sha256: str) -> IngestRecord | None:
        row = self._conn.execute(sa.select(t).where(t.c.sha256 == sha256)).first()
        return None if row is None else _record(row)

    def add(self, record: IngestRecord) -> None:
        self._conn.execute(
            t.insert().values(
                sha256=record.sha256,
                path=record.path,
                format=record.format,
                rows=record.rows,
                series=list(record.series),
                loaded_at=record.loaded_at,
            )
        )

    def all(self) -> list[IngestRecord]:
        """Every loaded file, oldest first."""
        return [_record(r) for r in self._conn.execute(sa.select(t).order_by(t.c.id))]


def _record(row: sa.Row[tuple[object, ...]]) -> IngestRecord:
    m = row._mapping
    series: Sequence[str] = m["series"]
    return IngestRecord(
        sha256=m["sha256"],
        path=m["path"],
        format=m["format"],
        rows=m["rows"],
        series=tuple(series),
        loaded_at=m["loaded_at"],
    )
