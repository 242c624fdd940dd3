"""Buckets kept between evaluations, so that ``slm serve`` reads only what is new.

``slm serve`` evaluates every SLO each minute (or at its own interval) over its whole
window plus the longest alert window: without a cache a 30-day SLO on Prometheus reads
43,200 one-minute buckets per query per evaluation. ``CachedSource`` wraps a source and
keeps, per query and step, the buckets of the last read. The next read of a span that
starts inside the kept one re-reads only its last ``recent`` part (late scrapes, remote
write behind, recording rules catching up) and what is new, and splices the kept buckets
in front. Every ``full_every`` (and whenever a read starts before the kept span, or ends
before it), the whole span is read again, so a change further back is picked up within
that time. A read that starts at or after the kept span's end (the look-ahead read for
future buckets) goes to the source and is not kept.

``slm serve`` uses it through the reading path: ``services/reading.BucketCached`` wraps
the reader of each evaluation. ``CachedSource``/``CachingFactory`` put the same cache in
front of a source or a factory, for callers that hold one of those.

Splicing is exact for sources whose bucket ``i`` depends only on data at or inside its
own boundaries, as the Prometheus adapter's buckets do (values just before each
boundary; counters as increases between consecutive boundaries).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from slm.domain.model import DataSource, MetricQuery
from slm.domain.series import Buckets

RECENT = timedelta(minutes=10)
FULL_EVERY = timedelta(hours=1)


class _Reader(Protocol):
    def read(
        self, query: MetricQuery, start: datetime, end: datetime, step: timedelta
    ) -> Buckets: ...


@dataclass
class _Entry:
    buckets: Buckets
    full_at: float  # monotonic seconds of the last whole read


@dataclass
class CacheStats:
    full_reads: int = 0
    partial_reads: int = 0
    bypassed: int = 0
    buckets_read: int = 0  # buckets asked of the source
    buckets_served: int = 0  # buckets returned


class BucketCache:
    """The kept buckets of one DataSource's queries; safe to share between threads."""

    def __init__(
        self,
        *,
        recent: timedelta = RECENT,
        full_every: timedelta = FULL_EVERY,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        if recent < timedelta(0) or full_every <= timedelta(0):
            raise ValueError("recent must be >= 0 and full_every > 0")
        self.recent, self.full_every, self._now = recent, full_every, monotonic
        self._entries: dict[tuple[str, timedelta], _Entry] = {}
        self._lock = threading.Lock()
        self.stats = CacheStats()

    def read(
        self,
        source: _Reader,
        query: MetricQuery,
        start: datetime,
        end: datetime,
        step: timedelta,
    ) -> Buckets:
        key = (query.key, step)
        with self._lock:
            entry = self._entries.get(key)
        now = self._now()
        if entry is not None and start >= entry.buckets.end:
            self._count(bypassed=1, read=_n(start, end, step))
            return source.read(query, start, end, step)
        whole = (
            entry is None
            or start < entry.buckets.start
            or end < entry.buckets.end
            or now - entry.full_at >= self.full_every.total_seconds()
        )
        if whole or entry is None:
            got = source.read(query, start, end, step)
            with self._lock:
                self._entries[key] = _Entry(got, now)
            self._count(full=1, read=len(got), served=len(got))
            return got
        kept = entry.buckets
        cut = max(start, kept.end - self.recent)
        cut = start + (cut - start) // step * step  # on the grid of this read
        tail = source.read(query, cut, end, step)
        lo, hi = (start - kept.start) // step, (cut - kept.start) // step
        got = Buckets(
            start,
            step,
            np.concatenate([kept.values[lo:hi], tail.values]),
            np.concatenate([kept.present[lo:hi], tail.present]),
        )
        with self._lock:
            self._entries[key] = _Entry(got, entry.full_at)
        self._count(partial=1, read=len(tail), served=len(got))
        return got

    def _count(
        self, *, full: int = 0, partial: int = 0, bypassed: int = 0, read: int = 0, served: int = 0
    ) -> None:
        with self._lock:
            s = self.stats
            s.full_reads += full
            s.partial_reads += partial
            s.bypassed += bypassed
            s.buckets_read += read
            s.buckets_served += served


class CachedSource:
    """A source whose reads go through a ``BucketCache`` (the ``MetricSource`` port)."""

    def __init__(self, source: _Reader, cache: BucketCache):
        self.source, self.cache = source, cache

    def read(self, query: MetricQuery, start: datetime, end: datetime, step: timedelta) -> Buckets:
        return self.cache.read(self.source, query, start, end, step)


def _n(start: datetime, end: datetime, step: timedelta) -> int:
    return max(0, (end - start) // step)


class _Factory(Protocol):
    def for_query(self, query: MetricQuery, datasource: DataSource | None) -> _Reader: ...


class CachingFactory:
    """A source factory whose sources of the given types read through one ``BucketCache``
    (``slm serve`` gives each DataSource its own factory, so its own cache)."""

    def __init__(
        self,
        inner: _Factory,
        types: tuple[str, ...] = ("prometheus",),
        cache: BucketCache | None = None,
    ):
        self.inner, self.types = inner, tuple(t.lower() for t in types)
        self.cache = cache or BucketCache()

    def for_query(self, query: MetricQuery, datasource: DataSource | None) -> _Reader:
        source = self.inner.for_query(query, datasource)
        kind = datasource.type if datasource is not None else query.source_type
        return CachedSource(source, self.cache) if kind.lower() in self.types else source
