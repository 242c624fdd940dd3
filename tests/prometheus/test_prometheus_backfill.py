"""``slm backfill``: stored buckets equal live reads, idempotently, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from prom_helpers import END, START, History
from typer.testing import CliRunner

from slm.cli import app
from slm.services.backfill import backfill, plan, series_key
from slm.services.ports import SeriesIdentity
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace
from slm.store.db import Store

STEP = timedelta(minutes=1)
SPEC = """\
apiVersion: openslo/v1
kind: DataSource
metadata: {{name: prom}}
spec:
  type: Prometheus
  connectionDetails: {{url: "{url}", maxPointsPerQuery: 2000}}
---
apiVersion: openslo/v1
kind: SLI
metadata: {{name: requests}}
spec:
  ratioMetric:
    counter: true
    good:
      metricSource: {{metricSourceRef: prom, spec: {{query: 'http_requests_total{{code="200"}}'}}}}
    total:
      metricSource: {{metricSourceRef: prom, spec: {{query: http_requests_total}}}}
---
apiVersion: openslo/v1
kind: SLI
metadata: {{name: depth}}
spec:
  thresholdMetric:
    metricSource: {{metricSourceRef: prom, spec: {{query: queue_depth}}}}
---
apiVersion: openslo/v1
kind: SLI
metadata: {{name: same-total-again}}
spec:
  ratioMetric:
    counter: true
    bad:
      metricSource: {{metricSourceRef: prom, spec: {{query: 'http_requests_total{{code="500"}}'}}}}
    total:
      metricSource: {{metricSourceRef: prom, spec: {{query: http_requests_total}}}}
"""
SLOS = """\
---
apiVersion: openslo/v1
kind: Service
metadata: {name: web}
spec: {}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: availability}
spec:
  service: web
  indicatorRef: requests
  timeWindow: [{duration: 1d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: errors}
spec:
  service: web
  indicatorRef: same-total-again
  timeWindow: [{duration: 1d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: depth}
spec:
  service: web
  indicatorRef: depth
  timeWindow: [{duration: 1d, isRolling: true}]
  budgetingMethod: Timeslices
  objectives: [{target: 0.9, op: lt, value: 90, timeSliceTarget: 0.9, timeSliceWindow: 1m}]
"""


@pytest.fixture
def specs(history: History, tmp_path: Path) -> Path:
    path = tmp_path / "specs.yaml"
    path.write_text(SPEC.format(url=history.url) + SLOS, encoding="utf-8")
    return path


def test_stored_buckets_equal_live_reads(specs: Path, store: Store) -> None:
    ws = load_workspace([specs])
    factory = SourceFactory()
    items, others = plan(ws, factory)
    assert len(items) == 4 and not others  # the shared total query is read once
    start, end = START + timedelta(minutes=7), END - timedelta(hours=1, minutes=3)
    planned: list[int] = []
    steps: list[int] = []
    report = backfill(ws, store, factory, start, end, on_plan=planned.append, advance=steps.append)
    assert not report.failures
    assert planned == [4 * 1] and len(steps) == 4  # under 7 days: one slice per query
    for item in items:
        live = factory.for_query(item.query, item.datasource).read(item.query, start, end, STEP)
        with store.transaction() as repos:
            stored = repos.measurements.read(item.key, start, end, STEP)
        np.testing.assert_array_equal(stored.present, live.present)
        np.testing.assert_array_equal(stored.values, live.values)
        assert live.present.sum() > 3000
    again = backfill(ws, store, factory, start, end)  # idempotent
    assert [s.present for s in again.stored] == [s.present for s in report.stored]
    with store.transaction() as repos:
        assert repos.measurements.count([i.key for i in items]) == sum(
            s.present for s in report.stored
        )


def test_series_keys_are_stable_and_distinct(specs: Path, history: History) -> None:
    ws = load_workspace([specs])
    keys = [i.key for i in plan(ws, SourceFactory())[0]]
    assert len(set(keys)) == 4
    assert all(
        k.startswith("prometheus/prom/") and len(k) == len("prometheus/prom/") + 16 for k in keys
    )
    again = plan(load_workspace([specs]), SourceFactory())[0]
    assert keys == [i.key for i in again]
    for i in again:  # the key is the source's identity of the query, hashed
        source = SourceFactory().for_query(i.query, i.datasource)
        assert isinstance(source, SeriesIdentity)
        assert series_key(source, i.query, i.datasource) == i.key


def test_cli_backfill_and_bad_ranges(specs: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade", "--db", db]).exit_code == 0
    args = ["backfill", str(specs), "--db", db]
    ok = runner.invoke(app, [*args, "--from", "2026-10-30T00:00:00Z", "--to", "2026-10-30T12:00Z"])
    assert ok.exit_code == 0, ok.output
    assert "stored" in ok.stdout and "prometheus/prom/" in ok.stdout
    backwards = runner.invoke(
        app, [*args, "--from", "2026-10-31T00:00:00Z", "--to", "2026-10-30T00:00:00Z"]
    )
    assert backwards.exit_code == 2 and "is not before --to" in backwards.output
    naive = runner.invoke(
        app, [*args, "--from", "2026-10-30T00:00:00", "--to", "2026-10-31T00:00:00Z"]
    )
    assert naive.exit_code == 2 and "no UTC offset" in naive.output


def test_cli_reports_a_server_that_is_down(tmp_path: Path) -> None:
    spec = tmp_path / "down.yaml"
    spec.write_text(
        SPEC.format(url="http://127.0.0.1:9").replace(
            "maxPointsPerQuery: 2000", "retry: {attempts: 1}"
        )
        + SLOS,
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'down.db'}"
    runner = CliRunner()
    runner.invoke(app, ["db", "upgrade", "--db", db])
    result = runner.invoke(
        app,
        [
            "backfill",
            str(spec),
            "--db",
            db,
            "--from",
            "2026-10-30T00:00:00Z",
            "--to",
            "2026-10-30T01:00:00Z",
        ],
    )
    assert result.exit_code == 3
    assert "connection refused" in result.output and "Traceback" not in result.output
