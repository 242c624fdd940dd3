"""The one reading path (``services/reading.py``): one read per query for every span
inside it, errors labelled once with their source, decorators that keep the port."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from slm.domain.errors import DataError, MissingExtraError, SourceError
from slm.domain.model import DataSource, MetricQuery
from slm.domain.series import Buckets
from slm.services.provenance import Traced
from slm.services.reading import BucketCached, SourceReader
from slm.sources.bucket_cache import BucketCache
from slm.sources.fake import FakeSource, FakeSourceFactory
from slm.spec.workspace import Workspace

MIN, H = timedelta(minutes=1), timedelta(hours=1)
T0 = datetime(2026, 10, 1, tzinfo=UTC)


def _series(n: int = 600) -> Buckets:
    values = np.arange(n, dtype=np.float64)
    return Buckets(T0, MIN, values, np.ones(n, dtype=np.bool_))


def _ws(*datasources: DataSource) -> Workspace:
    ws = Workspace()
    for ds in datasources:
        ws.datasources[ds.name] = ds
    return ws


def test_spans_inside_a_held_read_are_sliced_not_read_again() -> None:
    fake = FakeSource({"s": _series()})
    reader = SourceReader(_ws(), FakeSourceFactory(fake), MIN)
    q = MetricQuery(None, "Fake", {"series": "s"})
    whole = reader.read(q, T0, T0 + 5 * H)
    inner = reader.read(q, T0 + H, T0 + 2 * H)
    assert len(fake.reads) == 1
    assert inner.start == T0 + H and len(inner) == 60
    np.testing.assert_array_equal(inner.values, whole.values[60:120])
    # the same query with another key (counter) is another query: read on its own
    reader.read(MetricQuery(None, "Fake", {"series": "s"}, counter=True), T0 + H, T0 + 2 * H)
    # a span reaching past what is held is read
    reader.read(q, T0 + H, T0 + 6 * H)
    assert len(fake.reads) == 3
    assert len(reader.held()) == 3


class _Failing:
    def __init__(self, error: Exception):
        self.error = error

    def read(self, query: MetricQuery, start: datetime, end: datetime, step: timedelta) -> Buckets:
        raise self.error


class _Factory:
    def __init__(self, source: object):
        self.source = source

    def for_query(self, query: MetricQuery, datasource: DataSource | None) -> object:
        return self.source


def _read_error(error: Exception, query: MetricQuery, ws: Workspace) -> BaseException:
    reader = SourceReader(ws, _Factory(_Failing(error)), MIN)  # type: ignore[arg-type]
    with pytest.raises(Exception) as info:
        reader.read(query, T0, T0 + H)
    return info.value


def test_errors_name_their_source_once() -> None:
    ws = _ws(DataSource("shop", "File"))
    named = MetricQuery("shop", "File", {"series": "s"})
    inline = MetricQuery(None, "SQL", {"query": "select"})
    e = _read_error(DataError("data/x.csv: row 3: bad value"), named, ws)
    assert type(e) is DataError
    assert str(e) == "DataSource shop (File): data/x.csv: row 3: bad value"
    e = _read_error(SourceError("DataSource shop: timed out"), named, ws)
    assert str(e) == "DataSource shop: timed out"  # already says where: not said twice
    e = _read_error(SourceError("connection refused"), inline, ws)
    assert str(e) == "inline SQL source: connection refused"
    # an adapter bug is a source failure of this source, not a traceback
    e = _read_error(KeyError("x"), inline, ws)
    assert type(e) is SourceError and str(e) == "inline SQL source: KeyError: 'x'"
    # an error with its own meaning (a missing extra: exit code 2) is left alone
    missing = MissingExtraError("parquet", "reading files", "pyarrow")
    assert _read_error(missing, named, ws) is missing


def test_bucket_cache_wraps_only_the_named_types_and_keeps_the_port() -> None:
    fake = FakeSource({"s": _series(3 * 1440)})
    ws = _ws(DataSource("prom", "Prometheus"), DataSource("files", "File"))
    cache = BucketCache()
    prom = MetricQuery("prom", "Prometheus", {"series": "s"})
    files = MetricQuery("files", "File", {"series": "s"})
    end = T0 + 24 * H
    for t in (end, end + MIN, end + 2 * MIN):  # three evaluations, each with a fresh reader
        reader = BucketCached(SourceReader(ws, FakeSourceFactory(fake), MIN), cache)
        assert reader.step == MIN and reader.label(prom) == "DataSource prom (Prometheus)"
        got = reader.read(prom, t - 6 * H, t)
        fresh = FakeSource({"s": _series(3 * 1440)}).read(prom, t - 6 * H, t, MIN)
        assert got.start == fresh.start
        np.testing.assert_array_equal(got.values, fresh.values)
        np.testing.assert_array_equal(got.present, fresh.present)
        reader.read(files, t - 6 * H, t)
    spans = [(s - T0, e - T0) for _, s, e, _ in fake.reads]
    prom_reads = spans[0::2]
    assert prom_reads[0] == (18 * H, 24 * H)
    assert [e - s for s, e in prom_reads[1:]] == [11 * MIN, 11 * MIN]  # only the tail
    assert all(e - s == 6 * H for s, e in spans[1::2])  # files: never cached
    assert cache.stats.partial_reads == 2


def test_traces_are_kept_per_query_key_counter_included() -> None:
    fake = FakeSource({"s": _series()})
    reader = Traced(SourceReader(_ws(), FakeSourceFactory(fake), MIN), T0 + 2 * H, MIN, H)
    plain = MetricQuery(None, "Fake", {"series": "s"})
    counter = MetricQuery(None, "Fake", {"series": "s"}, counter=True)
    reader.read(plain, T0, T0 + 2 * H)
    reader.read(counter, T0 + H, T0 + 2 * H)
    assert set(reader.traces) == {plain.key, counter.key}
    assert reader.traces[plain.key].expected == 120
    assert reader.traces[counter.key].expected == 60
    # the look-ahead read (for future buckets) went through the same reader
    assert reader.traces[plain.key].future_buckets == 60


class _Grouping:
    """A source with two groups (the ``GroupedSource`` port), counting its reads."""

    def __init__(self) -> None:
        self.reads = 0

    def read_groups(
        self,
        query: MetricQuery,
        labels: tuple[str, ...],
        start: datetime,
        end: datetime,
        step: timedelta,
    ) -> dict[tuple[tuple[str, str], ...], Buckets]:
        self.reads += 1
        whole = FakeSource({"s": _series()})
        return {
            ((labels[0], "eu"),): whole.read(query, start, end, step),
            ((labels[0], "us"),): Buckets.empty(start, end, step),
        }

    def read(self, query: MetricQuery, start: datetime, end: datetime, step: timedelta) -> Buckets:
        raise AssertionError("a grouped SLO is never read as one sum")


def test_groups_are_read_once_and_sliced_and_refused_where_a_source_has_none() -> None:
    source = _Grouping()
    reader = SourceReader(_ws(), _Factory(source), MIN)  # type: ignore[arg-type]
    q = MetricQuery(None, "SQL", {"series": "s"})
    whole = reader.read_groups(q, ("region",), T0, T0 + 5 * H)
    part = reader.read_groups(q, ("region",), T0 + H, T0 + 2 * H)
    assert source.reads == 1 and list(part) == [(("region", "eu"),), (("region", "us"),)]
    eu = part[(("region", "eu"),)]
    np.testing.assert_array_equal(eu.values, whole[(("region", "eu"),)].values[60:120])
    plain = SourceReader(_ws(), FakeSourceFactory(FakeSource({"s": _series()})), MIN)
    with pytest.raises(DataError) as info:
        plain.read_groups(MetricQuery(None, "Fake", {"series": "s"}), ("region",), T0, T0 + H)
    assert str(info.value).startswith("inline Fake source: a Fake source cannot tell groups apart")
