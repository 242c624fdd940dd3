"""Where a workspace's recorded data ends: the instant ``slm evaluate`` falls back to when
it is run without ``--at`` on data that stops before now (the bundled examples end on
2026-11-01). Only sources that hold a finite record answer: measurement files (``File``)
and series ingested into the store (``Store``); live sources (Prometheus, SQL, probes) do
not, because their data runs up to now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slm.domain.model import MetricQuery
from slm.services.evaluate import queries
from slm.sources.factory import SourceFactory
from slm.sources.files import FileSource
from slm.spec.workspace import Workspace

BUCKET = timedelta(minutes=1)


def data_end(ws: Workspace, factory: SourceFactory) -> datetime | None:
    """The end of the last one-minute bucket any finite source of ``ws`` has data for, or
    ``None`` when no source can tell (or one has no data at all)."""
    ends: list[datetime] = []
    for q in queries(ws):
        end = _end_of(q, ws, factory)
        if end is not None:
            ends.append(end)
    return max(ends) if ends else None


def _end_of(q: MetricQuery, ws: Workspace, factory: SourceFactory) -> datetime | None:
    ds = ws.datasources.get(q.source) if q.source else None
    kind = (ds.type if ds is not None else q.source_type).lower()
    series = q.spec.get("series")
    if kind != "file" or not isinstance(series, str):
        return None
    source = factory.for_query(q, ds)
    if not isinstance(source, FileSource):
        return None
    table = source.cache.table(source.path_for(q))
    timestamps, _ = table.rows_of(series)
    if len(timestamps) == 0:
        return None
    last = datetime.fromtimestamp(int(timestamps.max()), UTC)
    return last.replace(second=0, microsecond=0) + BUCKET
