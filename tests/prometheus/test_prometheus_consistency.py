"""The real Prometheus: every path gives ``slm evaluate``'s figures, for every budgeting
method, and ``slm report``'s pushdown equals its bucket path and evaluate.

The workspace reads the test Prometheus (counters of two instances, one restarting, one
missing scrapes): an Occurrences, a Timeslices and a RatioTimeslices SLO over the same
counters. ``check_every_path`` (tests/consistency) compares evaluate with report (bucket
path), backtest, serve's evaluation (through its bucket cache) and composites; here the
report's pushdown is held against evaluate too, window by window where Prometheus summed
it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prom_helpers import END, History

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "consistency"))

from consistency_helpers import budget_fields, check_every_path, evaluated, same

from slm.domain.model import BudgetingMethod, RollingWindow
from slm.domain.windows import window_label
from slm.services.report import report_workspace
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace
from slm.spec.workspace import Workspace
from slm.store.db import Store, open_store, upgrade

H = timedelta(hours=1)

SPEC = """apiVersion: openslo/v1
kind: Service
metadata: {{name: web}}
spec: {{}}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {{name: prom}}
spec:
  type: Prometheus
  connectionDetails: {{url: '{url}'}}
---
apiVersion: openslo/v1
kind: SLI
metadata: {{name: web-requests}}
spec:
  ratioMetric:
    counter: true
    good:
      metricSource:
        metricSourceRef: prom
        spec: {{query: 'http_requests_total{{code="200"}}'}}
    total: {{metricSource: {{metricSourceRef: prom, spec: {{query: http_requests_total}}}}}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: web-events}}
spec:
  service: web
  indicatorRef: web-requests
  timeWindow: [{{duration: 1d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{displayName: ok, target: 0.99}}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: web-a-events}}
spec:
  service: web
  indicator:
    metadata: {{name: web-a}}
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            metricSourceRef: prom
            spec: {{query: 'http_requests_total{{code="200",instance="a"}}'}}
        total:
          metricSource:
            metricSourceRef: prom
            spec: {{query: 'http_requests_total{{instance="a"}}'}}
  timeWindow: [{{duration: 6h, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{displayName: ok, target: 0.995}}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: web-slices}}
spec:
  service: web
  indicatorRef: web-requests
  timeWindow: [{{duration: 1d, isRolling: true}}]
  budgetingMethod: Timeslices
  objectives: [{{displayName: ok, target: 0.99, timeSliceTarget: 0.995, timeSliceWindow: 5m}}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: web-ratio-slices}}
spec:
  service: web
  indicatorRef: web-requests
  timeWindow: [{{duration: 1d, isRolling: true}}]
  budgetingMethod: RatioTimeslices
  objectives: [{{displayName: ok, target: 0.99, timeSliceWindow: 10m}}]
"""

INSTANTS = [END, END - 17 * H - timedelta(minutes=3, seconds=20)]


@pytest.fixture
def ws(history: History, tmp_path: Path) -> Workspace:
    path = tmp_path / "prom.yaml"
    path.write_text(SPEC.format(url=history.url), encoding="utf-8")
    return load_workspace([path])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'serve.db'}", tmp_path)
    upgrade(s)
    yield s
    s.close()


@pytest.mark.parametrize("at", INSTANTS, ids=["end", "mid"])
def test_every_path_gives_evaluates_figures_on_prometheus(
    ws: Workspace, store: Store, at: datetime
) -> None:
    assert {s.budgeting_method for s in ws.slos.values()} == set(BudgetingMethod)
    checked = check_every_path(ws, at, SourceFactory, store)
    assert checked.results == checked.report_windows == checked.serve_results == 4
    assert checked.composite_results == 4 and checked.backtest_burns > 0


@pytest.mark.parametrize("at", INSTANTS, ids=["end", "mid"])
def test_report_pushdown_equals_evaluate(ws: Workspace, at: datetime) -> None:
    """Where Prometheus summed a window, its figures are evaluate's for that window."""
    want = evaluated(ws, at, SourceFactory())
    paths = []
    for name in ("web-events", "web-a-events"):
        slo = ws.slos[name]
        assert isinstance(slo.window, RollingWindow)
        report = report_workspace(ws, at, SourceFactory(), (slo.window.duration,), names=[name])
        assert not report.failures
        (o,) = report.objectives
        (w,) = o.windows
        r = want[(name, o.objective)]
        where = (name, w.path, w.reason)
        assert (w.start, w.end) == (r.window_start, r.window_end), where
        assert (w.good, w.total, w.sli) == (r.good, r.total, r.sli), where
        assert budget_fields(w.error_budget) == budget_fields(r.error_budget), where
        assert w.burn_rate == r.burn_rates[window_label(slo.window)], where
        paths.append(w.path)
    assert "pushdown" in paths  # instance a never restarts: Prometheus sums its windows


PER_BUCKET = """apiVersion: openslo/v1
kind: Service
metadata: {{name: web}}
spec: {{}}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {{name: prom}}
spec:
  type: Prometheus
  connectionDetails: {{url: '{url}'}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: web-increase}}
spec:
  service: web
  indicator:
    metadata: {{name: web-increase}}
    spec:
      ratioMetric:
        counter: false
        good:
          metricSource:
            metricSourceRef: prom
            spec: {{query: 'sum(increase(http_requests_total{{code="200"}}[1m]))'}}
        total:
          metricSource:
            metricSourceRef: prom
            spec: {{query: 'sum(increase(http_requests_total[1m]))'}}
  timeWindow: [{{duration: 1d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{displayName: ok, target: 0.99}}]
"""


def test_per_bucket_queries_are_counted_from_buckets_so_both_paths_agree(
    history: History, tmp_path: Path
) -> None:
    """Regression: ``counter: false`` windows were pushed down as subqueries, which sample
    the query on the minute where the bucket path samples 1 ms before: the two paths
    differed (by < 0.5 % on this data). Such windows now always come from buckets."""
    path = tmp_path / "per-bucket.yaml"
    path.write_text(PER_BUCKET.format(url=history.url), encoding="utf-8")
    ws = load_workspace([path])
    windows = (H, 6 * H, 24 * H)
    pushed = report_workspace(ws, END, SourceFactory(), windows)
    buckets = report_workspace(ws, END, SourceFactory(), windows, pushdown=False)
    want = evaluated(ws, END, SourceFactory())[("web-increase", "ok")]
    (p,), (b,) = pushed.objectives, buckets.objectives
    assert [w.path for w in p.windows] == ["buckets"] * 3
    assert {w.reason for w in p.windows} == {
        "per-bucket queries (counter: false) are counted from buckets"
    }
    for wp, wb in zip(p.windows, b.windows, strict=True):
        assert (wp.good, wp.total, wp.sli, wp.burn_rate) == (
            wb.good,
            wb.total,
            wb.sli,
            wb.burn_rate,
        )
        assert wp.error_budget == wb.error_budget and wp.total > 0
    day = p.windows[-1]  # fractional increases, summed over another span: to 1e-9
    assert same((day.good, day.total, day.sli), (want.good, want.total, want.sli))
    assert same(budget_fields(day.error_budget), budget_fields(want.error_budget))
