"""An in-memory metric source for tests and demos: a dict of series name -> ``Buckets``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import numpy as np

from slm.domain.errors import SourceError
from slm.domain.model import DataSource, MetricQuery
from slm.domain.series import Buckets
from slm.sources.grid import step_seconds, to_buckets, unix_seconds


class FakeSource:
    """Answers ``query.spec["series"]`` from ``series``, re-gridded to the request.

    Buckets of the stored series are summed into the requested step (present where any
    present stored bucket fell). ``reads`` records each query for assertions.
    """

    def __init__(self, series: Mapping[str, Buckets]):
        self.series = dict(series)
        self.reads: list[tuple[str, datetime, datetime, timedelta]] = []

    def read(self, query: MetricQuery, start: datetime, end: datetime, step: timedelta) -> Buckets:
        name = query.spec.get("series")
        if not isinstance(name, str) or name not in self.series:
            raise SourceError(f"fake source: no series {name!r}")
        self.reads.append((name, start, end, step))
        stored = self.series[name]
        offsets = np.arange(len(stored), dtype=np.int64) * step_seconds(stored.step)
        ts = (unix_seconds(stored.start) + offsets)[stored.present]
        return to_buckets(ts, stored.values[stored.present], start, end, step)


class FakeSourceFactory:
    """A ``SourceFactory`` that answers every query from one ``FakeSource``."""

    def __init__(self, source: FakeSource):
        self.source = source

    def for_query(self, query: MetricQuery, datasource: DataSource | None) -> FakeSource:
        return self.source
