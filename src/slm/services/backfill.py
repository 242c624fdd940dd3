"""Backfill (``slm backfill``): read every Prometheus-backed SLI query over a past range and
keep its buckets in the store's measurements table.

Each distinct query is stored under a stable series key (``series_key``):
``prometheus/<DataSource name or "inline">/<16 hex digits>``, the digits being the start of
the SHA-256 of the server URL, the PromQL text as written, and the ``counter`` and
``perSecond`` flags. Buckets are one ``step`` wide (one minute by default) and hold exactly
what a live read of the same range returns; buckets without data are not written (a gap
stays a gap). Writes are upserts, so running a backfill again, or over an overlapping
range, is idempotent. Each query is read completely (in slices, concurrently with other
queries) and then written in one transaction: a query that fails writes nothing and is
reported, the others are still stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from slm.domain.errors import DataError, SourceError
from slm.domain.model import DataSource, MetricQuery
from slm.domain.series import DEFAULT_STEP, Buckets, floor_to_step
from slm.services.evaluate import queries
from slm.services.ports import SeriesIdentity, SourceFactory
from slm.services.reading import SourceReader
from slm.spec.workspace import Workspace
from slm.store.db import Store

SLICE = timedelta(days=7)
"""Each query is read this much at a time (one progress step)."""
WORKERS = 4
"""Queries read at the same time (each server also bounds its requests in flight)."""


@dataclass(frozen=True)
class BackfillQuery:
    key: str
    query: MetricQuery
    datasource: DataSource | None

    @property
    def promql(self) -> str:
        return str(self.query.spec.get("query", ""))


@dataclass(frozen=True)
class Stored:
    key: str
    promql: str
    buckets: int  # buckets in the range
    present: int  # of those, with data (the rows written)


@dataclass
class BackfillReport:
    start: datetime
    end: datetime
    stored: list[Stored] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (key, message)
    skipped_types: set[str] = field(default_factory=set)  # non-Prometheus source types


def is_prometheus(query: MetricQuery, datasource: DataSource | None) -> bool:
    kind = datasource.type if datasource is not None else query.source_type
    return kind.lower() == "prometheus"


def series_key(source: SeriesIdentity, query: MetricQuery, datasource: DataSource | None) -> str:
    """The stable name a backfilled query is stored under (see the module docstring)."""
    payload = source.series_identity(query)
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return f"prometheus/{datasource.name if datasource else 'inline'}/{digest[:16]}"


def plan(ws: Workspace, factory: SourceFactory) -> tuple[list[BackfillQuery], set[str]]:
    """The distinct Prometheus queries of the workspace, and the other source types seen."""
    found: dict[str, BackfillQuery] = {}
    others: set[str] = set()
    reader = SourceReader(ws, factory)
    for q in queries(ws):
        ds = reader.datasource(q)
        if not is_prometheus(q, ds):
            others.add(reader.source_type(q))
            continue
        source = reader.source(q)
        if not isinstance(source, SeriesIdentity):
            raise SourceError(f"{reader.label(q)}: its reads cannot be kept (no series identity)")
        key = series_key(source, q, ds)
        found.setdefault(key, BackfillQuery(key, q, ds))
    return [found[k] for k in sorted(found)], others


def slices(
    start: datetime, end: datetime, size: timedelta = SLICE
) -> list[tuple[datetime, datetime]]:
    out = []
    t = start
    while t < end:
        out.append((t, min(end, t + size)))
        t += size
    return out


def backfill(
    ws: Workspace,
    store: Store,
    factory: SourceFactory,
    start: datetime,
    end: datetime,
    *,
    step: timedelta = DEFAULT_STEP,
    on_plan: Callable[[int], None] | None = None,
    advance: Callable[[int], None] | None = None,
) -> BackfillReport:
    """Read and store every Prometheus query of ``ws`` over ``[start, end)``.

    ``start`` is rounded down and ``end`` up to the step. ``on_plan(total)`` is called once
    with the number of slices to read, ``advance(1)`` after each (from worker threads).
    """
    start = floor_to_step(start, step)
    end = floor_to_step(end, step) + (step if floor_to_step(end, step) < end else timedelta())
    if start >= end:
        raise DataError(f"empty range: --from {start.isoformat()} is not before --to")
    items, others = plan(ws, factory)
    report = BackfillReport(start, end, skipped_types=others)
    parts = slices(start, end)
    if on_plan is not None:
        on_plan(len(items) * len(parts))

    def read(item: BackfillQuery) -> list[Buckets]:
        reader = SourceReader(ws, factory, step)  # one per query: each runs in its own thread
        out = []
        for lo, hi in parts:
            out.append(reader.read(item.query, lo, hi))
            if advance is not None:
                advance(1)
        return out

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures: dict[Future[list[Buckets]], BackfillQuery] = {
            pool.submit(read, item): item for item in items
        }
        for done in as_completed(futures):
            item = futures[done]
            try:
                read_parts = done.result()
            except (SourceError, DataError) as e:
                report.failures.append((item.key, str(e)))
                continue
            report.stored.append(_write(store, item, read_parts))
    report.stored.sort(key=lambda s: s.key)
    report.failures.sort()
    return report


def _write(store: Store, item: BackfillQuery, parts: list[Buckets]) -> Stored:
    rows: list[tuple[str, int, float]] = []
    buckets = 0
    for b in parts:
        buckets += len(b)
        secs = int(b.step.total_seconds())
        t0 = int(b.start.timestamp())
        (idx,) = np.nonzero(b.present)
        starts = (t0 + idx * secs).tolist()
        rows.extend(zip([item.key] * len(starts), starts, b.values[idx].tolist(), strict=True))
    with store.transaction() as repos:
        repos.measurements.upsert(rows)
    return Stored(item.key, item.promql, buckets, len(rows))
