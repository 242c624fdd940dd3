"""Roll-ups, deletion and reads across resolutions for retention (all of its SQL).

``measurement_rollups`` holds one row per (series, resolution, bucket start): the sum of
the values of the finer rows in the bucket, how many finer rows (``samples``) there were,
and whether the bucket is ``sealed`` (finer rows of it were deleted, so it is the only
complete record of its span and is never recomputed). See ``slm.domain.retention``.

Byte estimates (``row_bytes``) are per dialect and per series-name length. They model what
a row costs on disk with its primary-key index entry and were fitted on PostgreSQL 15 and
SQLite 3 files (``tests/retention/test_retention_bytes.py`` checks them against the real
size of inserted rows, within 25%). They estimate space made *reusable*: PostgreSQL reuses
it after (auto)vacuum, SQLite keeps the file size until ``VACUUM``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from slm.domain.retention import Step, StoredBuckets, merge_rollups
from slm.store.measurements import MeasurementRepository
from slm.store.schema import measurement_rollups as r
from slm.store.schema import measurements as m
from slm.store.schema import retention_runs

Span = tuple[int, int]
"""[start, end) in Unix seconds."""

# bytes per row = slope * len(series in UTF-8) + base, (slope, base) by dialect and table.
_ROW_BYTES: dict[tuple[str, str], tuple[float, float]] = {
    ("sqlite", "measurements"): (2.2, 38.0),
    ("sqlite", "rollups"): (2.2, 46.0),
    ("postgresql", "measurements"): (2.9, 92.0),
    ("postgresql", "rollups"): (2.9, 108.0),
}
_GENERIC = (2.5, 100.0)  # other dialects: between the two measured ones


def row_bytes(dialect: str, table: str, series: str) -> int:
    """Estimated bytes one row of ``table`` (``measurements`` or ``rollups``) takes."""
    slope, base = _ROW_BYTES.get((dialect, table), _GENERIC)
    return round(slope * len(series.encode("utf-8")) + base)


@dataclass(frozen=True)
class StepResult:
    """What one retention step did to one series (all counts are rows)."""

    new_rollups: int  # roll-up rows that did not exist before
    sealed: int  # roll-up buckets sealed because finer rows of them were deleted
    deleted: int  # rows deleted (rolled up, or expired at the last tier)
    held: int  # rows past the cutoff kept because a legal hold covers them
    deleted_bytes: int
    rollup_bytes: int


class RetentionRepository:
    def __init__(self, connection: Connection):
        self._conn = connection
        self.dialect = connection.dialect.name

    # --- applying a policy ------------------------------------------------------------

    def series_names(self) -> list[str]:
        """Every series with fine rows or roll-ups, sorted."""
        q = sa.union(sa.select(m.c.series), sa.select(r.c.series))
        return sorted({row[0] for row in self._conn.execute(q)})

    def apply_step(self, series: str, step: Step, holds: Sequence[Span]) -> StepResult:
        """Roll up, seal and delete the rows of one step (see ``slm.domain.retention``)."""
        source = m if step.source == 0 else r
        old = sa.and_(
            source.c.series == series,
            source.c.bucket_start < step.before,
            *([] if source is m else [r.c.resolution == step.source]),
        )
        held = _overlaps(source.c.bucket_start, step.span, holds)
        doomed = sa.and_(old, sa.not_(held)) if holds else old
        new_rollups = sealed = 0
        if step.target is not None:
            before = self._count_rollups(series, step.target)
            self._roll_up(series, step, source, old)
            new_rollups = self._count_rollups(series, step.target) - before
            sealed = self._seal(series, step.target, source, doomed)
        deleted = self._conn.execute(sa.delete(source).where(doomed)).rowcount
        kept = (
            int(self._conn.execute(sa.select(sa.func.count()).where(old)).scalar_one())
            if holds
            else 0
        )
        table = "measurements" if step.source == 0 else "rollups"
        return StepResult(
            new_rollups=new_rollups,
            sealed=sealed,
            deleted=deleted,
            held=kept,
            deleted_bytes=deleted * row_bytes(self.dialect, table, series),
            rollup_bytes=new_rollups * row_bytes(self.dialect, "rollups", series),
        )

    def _count_rollups(self, series: str, resolution: int) -> int:
        q = sa.select(sa.func.count()).where(r.c.series == series, r.c.resolution == resolution)
        return int(self._conn.execute(q).scalar_one())

    def _roll_up(self, series: str, step: Step, source: Any, old: ColumnElement[bool]) -> None:
        """Upsert the sums of ``source`` rows before the cutoff into unsealed roll-ups."""
        assert step.target is not None
        target = step.target
        bucket = ((source.c.bucket_start // target) * target).label("bucket_start")
        samples = sa.func.count() if source is m else sa.func.sum(source.c.samples)
        select = (
            sa.select(
                sa.literal(series, sa.String).label("series"),
                sa.literal(target, sa.Integer).label("resolution"),
                bucket,
                sa.func.sum(source.c.value).label("value"),
                samples.label("samples"),
                sa.false().label("sealed"),
            )
            .where(old)
            .group_by(bucket)
        )
        columns = ["series", "resolution", "bucket_start", "value", "samples", "sealed"]
        if self.dialect == "postgresql":
            pg = postgresql.insert(r).from_select(columns, select)
            stmt: Any = pg.on_conflict_do_update(
                index_elements=[r.c.series, r.c.resolution, r.c.bucket_start],
                set_={"value": pg.excluded.value, "samples": pg.excluded.samples},
                where=sa.and_(
                    sa.not_(r.c.sealed),
                    sa.or_(r.c.value != pg.excluded.value, r.c.samples != pg.excluded.samples),
                ),
            )
        elif self.dialect == "sqlite":
            lite = sqlite.insert(r).from_select(columns, select)
            stmt = lite.on_conflict_do_update(
                index_elements=[r.c.series, r.c.resolution, r.c.bucket_start],
                set_={"value": lite.excluded.value, "samples": lite.excluded.samples},
                where=sa.and_(
                    sa.not_(r.c.sealed),
                    sa.or_(r.c.value != lite.excluded.value, r.c.samples != lite.excluded.samples),
                ),
            )
        else:
            raise NotImplementedError(f"no roll-up upsert for the {self.dialect} dialect")
        self._conn.execute(stmt)

    def _seal(self, series: str, target: int, source: Any, doomed: ColumnElement[bool]) -> int:
        """Seal the roll-up buckets that are about to lose finer rows."""
        losing = (
            sa.select(((source.c.bucket_start // target) * target).label("b"))
            .where(doomed)
            .distinct()
        )
        stmt = (
            sa.update(r)
            .where(
                r.c.series == series,
                r.c.resolution == target,
                sa.not_(r.c.sealed),
                r.c.bucket_start.in_(losing.scalar_subquery()),
            )
            .values(sealed=True)
        )
        return int(self._conn.execute(stmt).rowcount)

    # --- reading across resolutions ---------------------------------------------------

    def read(self, series: str, start: datetime, end: datetime, step: timedelta) -> StoredBuckets:
        """Buckets of ``series`` on ``[start, end)``, from roll-ups where fine rows are gone.

        Without sealed roll-ups in the range this is ``MeasurementRepository.read``.
        """
        s, e = int(start.timestamp()), int(end.timestamp())
        widest = self._conn.execute(
            sa.select(sa.func.max(r.c.resolution)).where(r.c.series == series, r.c.sealed)
        ).scalar_one()
        sealed = (
            self._conn.execute(
                sa.select(r.c.resolution, r.c.bucket_start, r.c.value).where(
                    r.c.series == series,
                    r.c.sealed,
                    r.c.bucket_start >= s - int(widest),
                    r.c.bucket_start < e,
                )
            ).all()
            if widest is not None
            else []
        )
        if not sealed:
            b = MeasurementRepository(self._conn).read(series, start, end, step)
            return StoredBuckets(b.start, b.step, b.values, b.present)
        fine = self._conn.execute(
            sa.select(m.c.bucket_start, m.c.value).where(
                m.c.series == series, m.c.bucket_start >= s, m.c.bucket_start < e
            )
        ).all()
        return merge_rollups(
            np.array([f[0] for f in fine], dtype=np.int64),
            np.array([f[1] for f in fine], dtype=np.float64),
            np.array([x[0] for x in sealed], dtype=np.int64),
            np.array([x[1] for x in sealed], dtype=np.int64),
            np.array([x[2] for x in sealed], dtype=np.float64),
            start,
            end,
            step,
        )

    def rollup_counts(self, series: str | None = None) -> dict[tuple[int, bool], int]:
        """Roll-up rows by (resolution, sealed), of one series or of all."""
        q = sa.select(r.c.resolution, r.c.sealed, sa.func.count()).group_by(
            r.c.resolution, r.c.sealed
        )
        if series is not None:
            q = q.where(r.c.series == series)
        return {(int(a), bool(b)): int(n) for a, b, n in self._conn.execute(q)}

    # --- the run log --------------------------------------------------------------------

    def record_run(
        self,
        at: datetime,
        applied_at: datetime,
        *,
        rows_deleted: int,
        rollup_rows: int,
        bytes_freed: int,
        report: dict[str, Any],
    ) -> int:
        result = self._conn.execute(
            sa.insert(retention_runs).values(
                at=at,
                applied_at=applied_at,
                rows_deleted=rows_deleted,
                rollup_rows=rollup_rows,
                bytes_freed=bytes_freed,
                report=report,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def runs(self) -> list[dict[str, Any]]:
        """Every recorded run, oldest first."""
        rows = self._conn.execute(sa.select(retention_runs).order_by(retention_runs.c.id))
        return [dict(row._mapping) for row in rows]


def _overlaps(bucket_start: Any, span: int, holds: Sequence[Span]) -> ColumnElement[bool]:
    """Rows whose ``[bucket_start, bucket_start + span)`` overlaps any hold."""
    if not holds:
        return sa.false()
    return sa.or_(*(sa.and_(bucket_start < hi, bucket_start + span > lo) for lo, hi in holds))
