"""Stored checks, their one-minute measurements, and SLOs evaluated over them.

Runs on SQLite and PostgreSQL (the ``store`` fixture).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from slm.domain.errors import SourceError
from slm.domain.model import MetricQuery
from slm.domain.probe import CheckResult, probe_series
from slm.domain.series import Buckets
from slm.services.evaluate import evaluate_workspace
from slm.services.probing import record_checks
from slm.sources.factory import SourceFactory
from slm.sources.probes.source import ProbeSource
from slm.spec.loader import load_workspace
from slm.store.db import Store
from slm.store.probes import ProbeRepository

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def check(
    minute: int, ok: bool, latency: float = 0.1, location: str = "eu", probe: str = "home"
) -> CheckResult:
    return CheckResult(
        probe=probe,
        location=location,
        started_at=T0 + minute * MIN + timedelta(seconds=7),
        latency=latency,
        success=ok,
        reason="" if ok else "status 500 != 200",
        details={"status": 200 if ok else 500},
    )


def measurements(store: Store, series: str, minutes: int = 4) -> tuple[list[float], list[bool]]:
    with store.transaction() as repos:
        b = repos.measurements.read(series, T0, T0 + minutes * MIN, MIN)
    return b.values.tolist(), b.present.tolist()


def test_checks_are_stored_with_their_reason(store: Store) -> None:
    record_checks(store, [check(0, True), check(1, False, 2.5)])
    with store.transaction() as repos:
        probes = ProbeRepository(repos.connection)
        newest, oldest = probes.recent("home")
        assert probes.count() == 2
        assert probes.recent("other") == []
    assert oldest == check(0, True)
    assert (newest.success, newest.reason, newest.latency) == (False, "status 500 != 200", 2.5)
    assert newest.details == {"status": 500}
    assert newest.started_at == T0 + MIN + timedelta(seconds=7)


def test_checks_aggregate_per_minute_and_location(store: Store) -> None:
    record_checks(store, [check(0, True, 0.2), check(0, False, 0.9), check(2, True, 0.1)])
    record_checks(store, [check(0, True, 0.4), check(0, True, 0.3, location="us")])
    good = probe_series("home", "good", "eu")
    assert good == 'probe:home:good{location="eu"}'
    assert measurements(store, good) == ([2, 0, 1, 0], [True, False, True, False])
    assert measurements(store, probe_series("home", "total", "eu"))[0] == [3, 0, 1, 0]
    assert measurements(store, probe_series("home", "latency", "eu"))[0] == [0.9, 0, 0.1, 0]
    assert measurements(store, probe_series("home", "total", "us"))[0] == [1, 0, 0, 0]
    with store.transaction() as repos:
        assert ProbeRepository(repos.connection).series("home", "good") == [
            'probe:home:good{location="eu"}',
            'probe:home:good{location="us"}',
        ]
        assert ProbeRepository(repos.connection).series("hom", "good") == []


def test_a_failing_store_write_leaves_nothing_half_written(store: Store) -> None:
    bad = CheckResult("home", "eu", T0, 0.1, True, "", {"x": object()})  # not JSON
    with pytest.raises(Exception):  # noqa: B017 (the driver's error type varies)
        record_checks(store, [check(0, True), bad])
    with store.transaction() as repos:
        assert ProbeRepository(repos.connection).count() == 0
        assert repos.measurements.count() == 0


def read(
    store: Store, start_min: int, minutes: int, *, step: timedelta = MIN, **spec: str
) -> Buckets:
    q = MetricQuery(source=None, source_type="Probe", spec=spec)
    return ProbeSource(store).read(q, T0 + start_min * MIN, T0 + (start_min + minutes) * MIN, step)


def test_probe_source_sums_locations_and_takes_the_worst_latency(store: Store) -> None:
    record_checks(
        store,
        [check(0, True, 0.2), check(0, False, 0.7, "us"), check(1, True, 0.3, "us")],
    )
    good = read(store, 0, 3, probe="home", field="good")
    assert good.values.tolist() == [1, 1, 0]
    assert good.present.tolist() == [True, True, False]
    assert read(store, 0, 3, probe="home", field="total").values.tolist() == [2, 1, 0]
    assert read(store, 0, 3, probe="home", field="latency").values.tolist() == [0.7, 0.3, 0]
    us = read(store, 0, 3, probe="home", field="good", location="us")
    assert us.values.tolist() == [0, 1, 0]
    five = read(store, 0, 5, step=5 * MIN, probe="home", field="latency")
    assert (five.values.tolist(), five.present.tolist()) == ([0.7], [True])
    nothing = read(store, 0, 3, probe="never-ran", field="good")
    assert not nothing.present.any()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param({"field": "good"}, "spec.probe must name a Probe", id="no-probe"),
        pytest.param(
            {"probe": "home", "field": "bad"},
            "spec.field must be one of good, total, latency",
            id="bad-field",
        ),
    ],
)
def test_probe_source_rejects_bad_specs(store: Store, spec: dict[str, str], message: str) -> None:
    q = MetricQuery(source=None, source_type="Probe", spec=spec)
    with pytest.raises(SourceError, match=message):
        ProbeSource(store).read(q, T0, T0 + MIN, MIN)


def test_factory_needs_a_store_for_probe_sources() -> None:
    q = MetricQuery(source=None, source_type="Probe", spec={"probe": "home", "field": "good"})
    with pytest.raises(SourceError, match="type Probe reads probe checks from the store"):
        SourceFactory().for_query(q, None)


SLOS = """\
apiVersion: openslo/v1
kind: DataSource
metadata: {name: probes}
spec: {type: Probe}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: home-availability}
spec:
  service: shop
  budgetingMethod: Occurrences
  timeWindow: [{duration: 1h, isRolling: true}]
  indicator:
    metadata: {name: home-checks}
    spec:
      ratioMetric:
        counter: false
        good: {metricSource: {metricSourceRef: probes, spec: {probe: home, field: good}}}
        total: {metricSource: {metricSourceRef: probes, spec: {probe: home, field: total}}}
  objectives: [{displayName: checks pass, target: 0.9}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: home-latency}
spec:
  service: shop
  budgetingMethod: Timeslices
  timeWindow: [{duration: 1h, isRolling: true}]
  indicator:
    metadata: {name: home-latency}
    spec:
      thresholdMetric:
        metricSource: {type: Probe, spec: {probe: home, field: latency, location: eu}}
  objectives:
    - {displayName: fast, op: lte, value: 0.5, target: 0.9, timeSliceTarget: 0.9,
       timeSliceWindow: 1m}
---
apiVersion: openslo/v1
kind: Service
metadata: {name: shop}
spec: {}
"""


def test_slos_evaluate_over_probe_checks(store: Store, tmp_path: Path) -> None:
    (tmp_path / "slos.yaml").write_text(SLOS)
    ws = load_workspace([tmp_path])
    factory = SourceFactory(store=store)
    at = T0 + 10 * MIN
    empty = evaluate_workspace(ws, at, factory)
    assert not empty.failures
    assert {r.status for r in empty.results} == {"no_data"}

    rng = np.random.default_rng(7)
    checks = [check(m, ok=m != 3, latency=float(rng.uniform(0.1, 0.4))) for m in range(10)]
    checks[5] = check(5, True, latency=0.9)  # passed, but slow
    checks.append(check(4, False, 0.2, location="us"))
    record_checks(store, checks)

    report = evaluate_workspace(ws, at, factory)
    assert not report.failures
    by_slo = {r.slo: r for r in report.results}
    avail = by_slo["home-availability"]
    assert (avail.good, avail.total, avail.status) == (9, 11, "ok")
    latency = by_slo["home-latency"]
    assert (latency.good, latency.total) == (9, 10)  # minute 5 was slow at eu
