"""Measurements: one value per (series, bucket start); bucket starts are Unix seconds UTC.

Writes are idempotent upserts (the last write of a bucket wins), batched with
``executemany`` in chunks. Reads aggregate in SQL: each requested step bucket is the sum of
the stored buckets that start inside it, and is present when at least one stored row does.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from slm.domain.series import Buckets
from slm.store.schema import measurements as t

MeasurementRow = tuple[str, int, float]
"""(series, bucket start in Unix seconds UTC, value)."""

CHUNK = 50_000
_COLUMNS = ("series", "bucket_start", "value")


class MeasurementRepository:
    def __init__(self, connection: Connection):
        self._conn = connection
        self._write = _writer(connection)

    def upsert(self, rows: Iterable[MeasurementRow]) -> int:
        """Insert or replace rows; returns how many rows were written.

        Each (series, bucket_start) must appear at most once in ``rows``.
        """
        written = 0
        for chunk in _chunks(rows, CHUNK):
            self._write(chunk)
            written += len(chunk)
        return written

    def read(self, series: str, start: datetime, end: datetime, step: timedelta) -> Buckets:
        """Buckets of ``series`` on the grid ``[start, end)`` of width ``step``."""
        out = Buckets.empty(start.astimezone(UTC), end, step)
        s, e, w = _seconds(start), _seconds(end), int(step.total_seconds())
        if len(out) == 0:
            return out
        idx = ((t.c.bucket_start - s) // w).label("idx")
        rows = self._conn.execute(
            sa.select(idx, sa.func.sum(t.c.value))
            .where(t.c.series == series, t.c.bucket_start >= s, t.c.bucket_start < e)
            .group_by(idx)
        ).all()
        if rows:
            where = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            out.values[where] = np.fromiter((r[1] for r in rows), np.float64, len(rows))
            out.present[where] = True
        return out

    def series_names(self) -> list[str]:
        """Every series with at least one stored bucket, sorted."""
        rows = self._conn.execute(sa.select(t.c.series).distinct().order_by(t.c.series))
        return [r[0] for r in rows]

    def count(self, series: Collection[str] | None = None) -> int:
        """Number of stored buckets, of the given series or of all."""
        q = sa.select(sa.func.count()).select_from(t)
        if series is not None:
            if not series:
                return 0
            q = q.where(t.c.series.in_(sorted(series)))
        return int(self._conn.execute(q).scalar_one())


def _writer(conn: Connection) -> Callable[[list[MeasurementRow]], None]:
    """A function upserting one chunk of rows, the fastest way the dialect allows.

    The statements are SQLAlchemy dialect inserts (``ON CONFLICT DO UPDATE``); SQLite runs
    the compiled statement with the driver's ``executemany`` (no per-row SQLAlchemy
    parameter processing), PostgreSQL sends each chunk as three arrays through ``unnest``
    in one statement. Rows whose value is unchanged are not rewritten.
    """
    if conn.dialect.name == "sqlite":
        lite = sqlite.insert(t)
        stmt = lite.on_conflict_do_update(
            index_elements=[t.c.series, t.c.bucket_start],
            set_={"value": lite.excluded.value},
            where=t.c.value != lite.excluded.value,
        )
        compiled = stmt.compile(dialect=conn.dialect, column_keys=list(_COLUMNS))
        assert compiled.positiontup == list(_COLUMNS)
        sql = str(compiled)

        def write_sqlite(chunk: list[MeasurementRow]) -> None:
            conn.exec_driver_sql(sql, chunk)

        return write_sqlite
    if conn.dialect.name == "postgresql":
        arrays = (
            sa.func.unnest(
                sa.bindparam("series", type_=postgresql.ARRAY(sa.Text)),
                sa.bindparam("bucket_start", type_=postgresql.ARRAY(sa.BigInteger)),
                sa.bindparam("value", type_=postgresql.ARRAY(sa.Double)),
            )
            .table_valued(*_COLUMNS)
            .render_derived(name="incoming")
        )
        pg = postgresql.insert(t).from_select(
            list(_COLUMNS), sa.select(*(arrays.c[name] for name in _COLUMNS))
        )
        pg_stmt = pg.on_conflict_do_update(
            index_elements=[t.c.series, t.c.bucket_start],
            set_={"value": pg.excluded.value},
            where=t.c.value != pg.excluded.value,
        )

        def write_postgresql(chunk: list[MeasurementRow]) -> None:
            series, starts, values = zip(*chunk, strict=True)
            conn.execute(
                pg_stmt,
                {"series": list(series), "bucket_start": list(starts), "value": list(values)},
            )

        return write_postgresql
    raise NotImplementedError(f"no upsert for the {conn.dialect.name} dialect")


def _chunks(rows: Iterable[MeasurementRow], size: int) -> Iterator[list[MeasurementRow]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _seconds(t: datetime) -> int:
    if t.tzinfo is None:
        raise ValueError("naive datetime: every instant must carry a time zone")
    return int(t.timestamp())
