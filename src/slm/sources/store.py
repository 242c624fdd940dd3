"""The ``Store`` metric source: series loaded into the slm store with ``slm ingest``.

A DataSource of ``type: Store`` needs no connection details: it reads the store slm was
started with. An SLI picks a series with ``metricSource.spec.series`` (for exposition
files the PromQL-style name, e.g. ``http_requests_total{code="200"}``). A series that was
never ingested reads as all gaps (``present`` false), like a period without data.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from slm.domain.errors import SourceError
from slm.domain.model import MetricQuery
from slm.domain.series import Buckets
from slm.store.db import Store
from slm.store.retention import RetentionRepository


class StoreSource:
    def __init__(self, store: Store):
        self.store = store

    def read(self, query: MetricQuery, start: datetime, end: datetime, step: timedelta) -> Buckets:
        series = query.spec.get("series")
        if not isinstance(series, str) or not series:
            raise SourceError(
                f"DataSource {query.source or '(inline Store)'}: spec.series must name a "
                "series loaded with `slm ingest`"
            )
        with self.store.transaction() as repos:  # roll-ups where retention removed rows
            return RetentionRepository(repos.connection).read(series, start, end, step)
