"""Ports the services declare; adapters in ``sources/`` and ``store/`` implement them."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from slm.domain.model import DataSource, Group, MetricQuery
from slm.domain.series import Buckets
from slm.domain.window_totals import WindowPush, WindowTotal


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at


class MetricSource(Protocol):
    """Reads one metric query as buckets on the grid ``[start, end)`` of width ``step``.

    ``start`` and ``end`` are aligned to ``step``. Buckets with no data have
    ``present=False``. Counter queries (``counter: true``) are returned as increases per
    bucket. Raises ``slm.domain.errors.SourceError`` or ``DataError`` on failure.
    """

    def read(
        self, query: MetricQuery, start: datetime, end: datetime, step: timedelta
    ) -> Buckets: ...


@runtime_checkable
class GroupedSource(Protocol):
    """Optional port of a metric source: a query's buckets per group of label values (the
    groups of a grouped SLO). Buckets as ``MetricSource.read``; a group is the values of
    ``labels`` in that order (``""`` for a label a series lacks). A source that cannot
    group by a label (no such column) raises ``DataError`` naming it."""

    def read_groups(
        self,
        query: MetricQuery,
        labels: tuple[str, ...],
        start: datetime,
        end: datetime,
        step: timedelta,
    ) -> dict[Group, Buckets]: ...


@runtime_checkable
class WindowSource(Protocol):
    """Optional second port of a metric source: window sums computed by the backend.

    Windows are ``[end - w, end)`` with ``end`` aligned to the bucket grid. Sources with
    the same ``pushdown_group`` can answer for each other's queries in one batch.
    Returns one ``WindowPush`` per query, in order.
    """

    @property
    def pushdown_group(self) -> Hashable: ...

    def window_totals(
        self, queries: Sequence[MetricQuery], end: datetime, windows: Sequence[timedelta]
    ) -> list[WindowPush]: ...


__all__ = [
    "Clock",
    "FixedClock",
    "GroupedSource",
    "MetricSource",
    "Reader",
    "RecordedEnd",
    "SeriesIdentity",
    "SourceFactory",
    "SystemClock",
    "WindowPush",
    "WindowSource",
    "WindowTotal",
]


class SourceFactory(Protocol):
    """Builds the adapter for a DataSource (or for an inline source type)."""

    def for_query(self, query: MetricQuery, datasource: DataSource | None) -> MetricSource: ...


class Reader(Protocol):
    """How use cases read measurements: a query's buckets over ``[start, end)`` on the
    reader's ``step`` grid. ``services/reading.py`` has the one implementation
    (``SourceReader``) and the decorators that wrap it; errors name the source read."""

    @property
    def step(self) -> timedelta: ...

    def datasource(self, query: MetricQuery) -> DataSource | None: ...

    def source_type(self, query: MetricQuery) -> str: ...

    def label(self, query: MetricQuery) -> str: ...

    def read(self, query: MetricQuery, start: datetime, end: datetime) -> Buckets: ...

    def read_groups(
        self, query: MetricQuery, labels: tuple[str, ...], start: datetime, end: datetime
    ) -> dict[Group, Buckets]: ...


@runtime_checkable
class RecordedEnd(Protocol):
    """Optional port of a metric source that holds a finite record (measurement files):
    the end of the last bucket of ``step`` a query has data for, ``None`` without data."""

    def data_end(self, query: MetricQuery, step: timedelta) -> datetime | None: ...


@runtime_checkable
class SeriesIdentity(Protocol):
    """Optional port of a metric source whose reads can be kept in the store
    (``slm backfill``): what identifies a query's series on its backend (server, query
    text, flags), stable across runs."""

    def series_identity(self, query: MetricQuery) -> dict[str, object]: ...
