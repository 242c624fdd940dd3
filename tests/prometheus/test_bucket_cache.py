"""Buckets kept between evaluations (``slm serve``): every read equals a fresh read of the
whole span, while the source is asked only for the recent tail. Against the real
Prometheus of ``prom_helpers`` (counters with restarts, a gauge) and the fake source."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from prom_helpers import END, History

from slm.domain.model import DataSource, MetricQuery
from slm.domain.series import Buckets
from slm.sources.bucket_cache import BucketCache, CachedSource, CachingFactory
from slm.sources.fake import FakeSource, FakeSourceFactory
from slm.sources.prometheus import PrometheusSource, client_for
from slm.sources.prometheus_config import config_for

MIN, H, D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


def same(a: Buckets, b: Buckets) -> bool:
    return (
        a.start == b.start
        and a.step == b.step
        and np.array_equal(a.present, b.present)
        and np.array_equal(a.values[a.present], b.values[b.present])
    )


class Recording:
    def __init__(self, inner: PrometheusSource):
        self.inner = inner
        self.reads: list[tuple[datetime, datetime]] = []

    def read(self, query: MetricQuery, start: datetime, end: datetime, step: timedelta) -> Buckets:
        self.reads.append((start, end))
        return self.inner.read(query, start, end, step)


@pytest.mark.parametrize(
    ("text", "counter"),
    [
        pytest.param("http_requests_total", True, id="counters-with-restarts"),
        pytest.param('sum(increase(http_requests_total{code="500"}[1m]))', False, id="per-bucket"),
        pytest.param("max_over_time(queue_depth[1m])", False, id="gauge"),
    ],
)
def test_every_read_equals_a_fresh_read_and_only_the_tail_is_asked(
    history: History, text: str, counter: bool
) -> None:
    """An SLO evaluated every minute (and once after a 7-minute pause) over a day."""
    prom = PrometheusSource(client_for(config_for(None, {"url": history.url})))
    q = MetricQuery(None, "Prometheus", {"query": text}, counter=counter)
    recording = Recording(prom)
    cached = CachedSource(recording, BucketCache())
    end = END - 2 * H
    for advance in [MIN] * 5 + [7 * MIN] + [MIN] * 3:
        end += advance
        got = cached.read(q, end - D, end, MIN)
        assert same(got, prom.read(q, end - D, end, MIN)), end
    first, *rest = recording.reads
    assert first == (END - 2 * H + MIN - D, END - 2 * H + MIN)
    # later reads: the last 10 minutes of what was kept, and what is new
    assert [e - s for s, e in rest] == [11 * MIN] * 4 + [17 * MIN] + [11 * MIN] * 3
    assert cached.cache.stats.buckets_read == 1440 + 11 * 7 + 17


def test_a_whole_read_every_hour_and_when_the_span_moves_back() -> None:
    start = datetime.fromisoformat("2026-10-31T00:00:00+00:00")
    values = np.arange(3 * 1440, dtype=np.float64)
    fake = FakeSource({"s": Buckets(start, MIN, values, np.ones(len(values), dtype=np.bool_))})
    now = [0.0]
    cache = BucketCache(monotonic=lambda: now[0])
    src = CachedSource(fake, cache)
    q = MetricQuery(None, "Fake", {"series": "s"})
    t = start + D
    src.read(q, t - H, t, MIN)
    src.read(q, t - H + MIN, t + MIN, MIN)  # partial
    now[0] = 3600.0
    src.read(q, t - H + 2 * MIN, t + 2 * MIN, MIN)  # an hour later: whole
    src.read(q, t - 2 * H, t + 2 * MIN, MIN)  # starts before what is kept: whole
    got = src.read(q, t + 3 * MIN, t + D, MIN)  # the look-ahead read: passed through
    assert got.values[0] == values[1440 + 3]
    spans = [(s - start, e - start) for _, s, e, _ in fake.reads]
    assert spans == [
        (D - H, D),
        (D - 10 * MIN, D + MIN),
        (D - H + 2 * MIN, D + 2 * MIN),
        (D - 2 * H, D + 2 * MIN),
        (D + 3 * MIN, 2 * D),
    ]
    s = cache.stats
    assert (s.full_reads, s.partial_reads, s.bypassed) == (3, 1, 1)
    # the look-ahead read was not kept: the next read is still partial
    src.read(q, t - 2 * H + MIN, t + 3 * MIN, MIN)
    assert fake.reads[-1][1:3] == (t - 8 * MIN, t + 3 * MIN)


def test_the_caching_factory_wraps_only_the_named_types() -> None:
    fake = FakeSource({})
    factory = CachingFactory(FakeSourceFactory(fake), types=("Prometheus",))
    prom = DataSource("p", "Prometheus")
    files = DataSource("f", "File")
    q = MetricQuery("p", None, {"series": "s"})
    assert isinstance(factory.for_query(q, prom), CachedSource)
    assert factory.for_query(q, files) is fake
    inline = MetricQuery(None, "prometheus", {"query": "x"})
    assert isinstance(factory.for_query(inline, None), CachedSource)
