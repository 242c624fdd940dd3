"""Where a workspace's recorded data ends: the instant ``slm evaluate`` falls back to when
it is run without ``--at`` on data that stops before now (the bundled examples end on
2026-11-01). Only sources that hold a finite record answer (the optional ``RecordedEnd``
port of ``services/ports.py``: measurement files, ``File``); live sources (Prometheus, SQL,
probes) and the store do not, because their data runs up to now.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from slm.services.evaluate import queries
from slm.services.ports import RecordedEnd, SourceFactory
from slm.services.reading import SourceReader
from slm.spec.workspace import Workspace

BUCKET = timedelta(minutes=1)


def data_end(ws: Workspace, factory: SourceFactory) -> datetime | None:
    """The end of the last one-minute bucket any finite source of ``ws`` has data for, or
    ``None`` when no source can tell (or one has no data at all)."""
    reader = SourceReader(ws, factory, BUCKET)
    ends: list[datetime] = []
    for q in queries(ws):
        if reader.source_type(q).lower() != "file" or not isinstance(q.spec.get("series"), str):
            continue
        source = reader.source(q)
        if isinstance(source, RecordedEnd):
            end = source.data_end(q, BUCKET)
            if end is not None:
                ends.append(end)
    return max(ends) if ends else None
