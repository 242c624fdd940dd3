"""The Prometheus source against a real Prometheus holding known samples.

Every bucket must equal the reference counts computed from the same samples by the rule of
measurement files (a sample's increase belongs to the bucket that contains the sample).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from prom_helpers import END, GOOD, START, TOTAL, History

from slm.domain.model import MetricQuery
from slm.domain.series import Buckets
from slm.sources.prometheus import PrometheusSource, client_for
from slm.sources.prometheus_config import config_for

STEP = timedelta(minutes=1)
FROM = START + STEP  # the first minute holds each counter's baseline sample


def source(history: History, **details: object) -> PrometheusSource:
    return PrometheusSource(client_for(config_for(None, {"url": history.url, **details})))


def query(text: str, *, counter: bool = False, **spec: object) -> MetricQuery:
    return MetricQuery(None, "Prometheus", {"query": text, **spec}, counter=counter)


def expected(history: History, name: str, b: Buckets) -> np.ndarray:
    t0 = int(b.start.timestamp())
    ref = history.counts[name]
    return np.array([ref.get(t0 + 60 * i, np.nan) for i in range(len(b))])


def observed(b: Buckets) -> np.ndarray:
    return np.where(b.present, b.values, np.nan)


@pytest.mark.parametrize(
    ("name", "promql", "counter"),
    [
        pytest.param("good", GOOD, True, id="counter-good-two-instances-with-restarts"),
        pytest.param("total", TOTAL, True, id="counter-total-four-series"),
        pytest.param("last", "queue_depth", False, id="gauge-value-at-bucket-end"),
        pytest.param("max", "max_over_time(queue_depth[1m])", False, id="range-covers-bucket"),
    ],
)
def test_buckets_equal_the_reference_counts(
    history: History, name: str, promql: str, counter: bool
) -> None:
    b = source(history).read(query(promql, counter=counter), FROM, END, STEP)
    assert len(b) == (END - FROM) // STEP
    np.testing.assert_array_equal(observed(b), expected(history, name, b))
    assert b.present.all()


def test_restarts_inside_a_bucket_are_counted_exactly(history: History) -> None:
    # instance b restarts mid-minute 3 times: those buckets are re-read at 1 s resolution
    src = source(history)
    before = src.client.requests
    b = src.read(query('http_requests_total{instance="b"}', counter=True), FROM, END, STEP)
    plain = source(history, maxPointsPerQuery=11000)  # same config -> same shared client
    assert plain.client is src.client
    assert src.client.requests - before == 1 + 3  # one range query, three refinements
    total_b = b.values.sum()
    a = src.read(query('http_requests_total{instance="a"}', counter=True), FROM, END, STEP)
    np.testing.assert_array_equal(
        a.values + b.values, src.read(query(TOTAL, counter=True), FROM, END, STEP).values
    )
    assert total_b > 0


def test_long_ranges_are_chunked_below_the_point_limit(history: History) -> None:
    # 10 days of minutes = 14,400 instants: more than Prometheus's 11,000 per query
    end = END + timedelta(days=7)
    src = source(history)
    before = src.client.requests
    b = src.read(query(GOOD, counter=True), FROM, end, STEP)
    assert src.client.requests - before == 2 + 3
    inside = (END - FROM) // STEP + 1  # the last sample is at END
    np.testing.assert_array_equal(observed(b)[:inside], expected(history, "good", b)[:inside])
    # after the last sample Prometheus repeats it for its lookback delta (5m): no increase
    assert (b.values[inside : inside + 4] == 0).all() and b.present[inside : inside + 4].all()
    assert not b.present[inside + 5 :].any()  # then gaps


def test_small_chunks_give_the_same_buckets(history: History) -> None:
    small = source(history, maxPointsPerQuery=500, maxConcurrentQueries=3)
    big = source(history)
    q = query(TOTAL, counter=True)
    a, b = small.read(q, FROM, END, STEP), big.read(q, FROM, END, STEP)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.present, b.present)


def test_coarser_steps_sum_the_minutes(history: History) -> None:
    hour = timedelta(hours=1)
    start = START + hour
    b = source(history).read(query(GOOD, counter=True), start, END, hour)
    t0 = int(start.timestamp())
    ref = history.counts["good"]
    want = [sum(ref.get(t0 + 3600 * i + 60 * m, 0.0) for m in range(60)) for i in range(len(b))]
    np.testing.assert_array_equal(b.values, np.array(want))


def test_sloth_window_placeholder_and_per_second_rates(history: History) -> None:
    src = source(history)
    rate = src.read(
        query('sum(rate(http_requests_total{code="200"}[{{.window}}]))', perSecond=True),
        FROM,
        END,
        STEP,
    )
    increase = src.read(
        query('sum(increase(http_requests_total{code="200"}[{{ .window }}]))'), FROM, END, STEP
    )
    np.testing.assert_allclose(rate.values, increase.values, rtol=1e-9)
    assert rate.present.all()


def test_a_query_without_data_is_all_gaps(history: History) -> None:
    b = source(history).read(query("no_such_metric", counter=True), FROM, END, STEP)
    assert not b.present.any()
    assert (b.values == 0).all()


def test_nan_values_are_gaps(history: History) -> None:
    b = source(history).read(query("queue_depth / 0 * 0"), FROM, FROM + 10 * STEP, STEP)
    assert not b.present.any()
