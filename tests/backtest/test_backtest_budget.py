"""Budget consumed in a backtest is ``slm evaluate``'s arithmetic: no invented events.

Regression: the backtest scaled the events it saw by buckets / buckets with data, so data
with rows only for the minutes that had requests (10 requests an hour) made one failure
consume 1/43.2 of a 99.9 % / 30-day budget where ``slm evaluate`` gives 1/7.2 (7,200
requests in 30 days); the same data with zero rows filled in gave 1/7.2. A backtest at a
one-second step over minute data was off the same way (60 one-second buckets per minute,
one with data). Every figure here goes through the real File source, the backtest service
and the evaluate service on the same files.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from slm.domain.backtest import Detection
from slm.services.backtest import load_incidents, run_backtest
from slm.services.evaluate import evaluate_workspace
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace
from slm.spec.workspace import Workspace

MIN = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)
SEC = timedelta(seconds=1)
DATA_START = datetime(2026, 9, 1, tzinfo=UTC)
FROM = datetime(2026, 10, 5, tzinfo=UTC)
TO = datetime(2026, 10, 6, tzinfo=UTC)
FAILURE = datetime(2026, 10, 5, 12, 6, tzinfo=UTC)  # one of the minutes with a request

SPECS = """apiVersion: openslo/v1
kind: Service
metadata: {name: api}
spec: {}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: metrics}
spec:
  type: File
  connectionDetails: {path: data.csv}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: quiet-api}
spec:
  service: api
  indicator:
    metadata: {name: quiet-api-success}
    spec:
      ratioMetric:
        counter: false
        good: {metricSource: {metricSourceRef: metrics, type: File, spec: {series: good}}}
        total: {metricSource: {metricSourceRef: metrics, type: File, spec: {series: total}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: requests succeed, target: 0.999}]
"""


def workspace(tmp_path: Path, per_minute: dict[datetime, int], fill_zeros: bool) -> Workspace:
    """Minute rows from DATA_START to TO: ``per_minute`` requests where given (all good
    but the one at FAILURE), and either no row or a zero row for the other minutes."""
    rows = ["timestamp,series,value"]
    t = DATA_START
    while t < TO:
        total = per_minute.get(t, 0)
        if total or fill_zeros:
            good = total - 1 if t == FAILURE else total
            stamp = int(t.timestamp())
            rows += [f"{stamp},total,{total}", f"{stamp},good,{good}"]
        t += MIN
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "slo.yaml").write_text(SPECS)
    (tmp_path / "incidents.csv").write_text(
        f"slo,start,end,id\nquiet-api,{FAILURE.isoformat()},{(FAILURE + 10 * MIN).isoformat()},F\n"
    )
    return load_workspace([tmp_path / "slo.yaml"])


def ten_an_hour() -> dict[datetime, int]:
    """One request at minutes 0, 6, 12 ... 54 of every hour: 7,200 in any 30 days."""
    out, t = {}, DATA_START
    while t < TO:
        out[t] = 1
        t += 6 * MIN
    return out


def every_minute() -> dict[datetime, int]:
    out, t = {}, DATA_START
    while t < TO:
        out[t] = 100
        t += MIN
    return out


def detection(ws: Workspace, tmp_path: Path, step: timedelta = MIN) -> Detection:
    incidents = load_incidents(tmp_path / "incidents.csv", ws.slos)
    report = run_backtest(ws, SourceFactory(), FROM, TO, incidents=incidents, step=step)
    assert not report.failures
    (d,) = report.policies[0].detections
    assert d.budget_consumed is not None
    return d


def evaluated_share(ws: Workspace, at: datetime) -> float:
    """The budget one failure consumes per ``slm evaluate`` at ``at``: consumed / total."""
    (r,) = evaluate_workspace(ws, at, SourceFactory()).results
    assert r.error_budget.consumed == 1
    return r.error_budget.consumed / r.error_budget.total


@pytest.mark.parametrize("fill_zeros", [False, True], ids=["sparse-rows", "zero-rows"])
def test_one_failure_in_ten_requests_an_hour_consumes_one_in_7_2(
    tmp_path: Path, fill_zeros: bool
) -> None:
    ws = workspace(tmp_path, ten_an_hour(), fill_zeros)
    d = detection(ws, tmp_path)
    assert d.detected_at is not None  # the 1h/5m page sees the failed request
    assert d.budget_consumed == pytest.approx(1 / 7.2, rel=1e-12)
    assert d.budget_consumed == pytest.approx(evaluated_share(ws, d.detected_at), rel=1e-12)


def test_a_one_second_backtest_over_sparse_minute_rows_gives_the_minute_figure(
    tmp_path: Path,
) -> None:
    ws = workspace(tmp_path, ten_an_hour(), fill_zeros=False)
    by_minute, by_second = detection(ws, tmp_path), detection(ws, tmp_path, SEC)
    assert by_second.detected_at == FAILURE + SEC  # the failed minute's row sits at :00
    assert by_second.budget_consumed == pytest.approx(1 / 7.2, rel=1e-12)
    assert by_second.budget_consumed == pytest.approx(by_minute.budget_consumed, rel=1e-12)


def test_a_one_second_backtest_over_dense_minute_data_gives_the_minute_figure(
    tmp_path: Path,
) -> None:
    """100 requests every minute: 4,320,000 in 30 days, budget 4,320 requests."""
    ws = workspace(tmp_path, every_minute(), fill_zeros=False)
    by_minute, by_second = detection(ws, tmp_path), detection(ws, tmp_path, SEC)
    assert by_minute.budget_consumed == pytest.approx(1 / 4320, rel=1e-12)
    assert by_second.budget_consumed == pytest.approx(1 / 4320, rel=1e-12)
    # too little to page: missed, so the budget is the one at the incident's end
    assert by_minute.detected_at is None and by_second.detected_at is None
    assert by_minute.budget_consumed == pytest.approx(
        evaluated_share(ws, FAILURE + 10 * MIN), rel=1e-12
    )
