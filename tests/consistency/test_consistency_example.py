"""The bundled example workspace: every path gives ``slm evaluate``'s figures.

Regression (issue 9): ``slm report`` counted the Timeslices SLO ``checkout-uptime`` in
events (SLI 99.737 %, 47.5 % budget left at 2026-10-14T15:00:00Z over 7d) where OpenSLO's
Timeslices budgeting, and ``slm evaluate``, count good slices of all slices (2007 of 2016:
99.554 %, 10.7 % left). And ``slm evaluate`` itself, between slice boundaries (15:02), read
from ``end - 7d`` and so lost the first five-minute slice of its window.

The example has Occurrences (ratio and threshold) and Timeslices objectives on rolling and
calendar windows; two SLOs over the same example data add RatioTimeslices and a calendar
Timeslices window.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from consistency_helpers import check_every_path, check_statement, evaluated

from slm.domain.model import BudgetingMethod
from slm.services.report import report_workspace
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace
from slm.spec.workspace import Workspace
from slm.store.db import Store

EXTRA = """apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-ratio-slices}
spec:
  service: checkout
  indicatorRef: checkout-requests-success
  timeWindow: [{duration: 7d, isRolling: true}]
  budgetingMethod: RatioTimeslices
  objectives:
    - displayName: Mean five-minute success
      target: 0.995
      timeSliceWindow: 5m
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-uptime-monthly}
spec:
  service: checkout
  indicatorRef: checkout-requests-success
  timeWindow:
    - duration: 1M
      isRolling: false
      calendar: {startTime: "2026-01-01 00:00:00", timeZone: Europe/Berlin}
  budgetingMethod: Timeslices
  objectives:
    - displayName: Good ten-minute slices
      target: 0.99
      timeSliceTarget: 0.95
      timeSliceWindow: 10m
"""

INSTANTS = [
    "2026-10-14T15:00:00Z",  # the instant of the issue
    "2026-10-14T15:02:00Z",  # between slice boundaries
    "2026-10-14T13:37:30Z",  # inside the checkout outage, not on the minute
    "2026-10-27T09:00:00Z",  # inside the payments outage
    "2026-10-31T23:59:00Z",
]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@pytest.fixture(scope="module")
def ws(examples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    extra = tmp_path_factory.mktemp("extra") / "more-slos.yaml"
    extra.write_text(EXTRA)
    return load_workspace([examples_dir / "shop", extra])


def test_the_workspace_covers_every_budgeting_method(ws: Workspace) -> None:
    methods = {slo.budgeting_method for slo in ws.slos.values()}
    assert methods == set(BudgetingMethod)


def test_report_counts_checkout_uptime_in_slices_as_evaluate_does(examples_dir: Path) -> None:
    ws = load_workspace([examples_dir / "shop"])
    at = instant("2026-10-14T15:00:00Z")
    want = evaluated(ws, at, SourceFactory())[("checkout-uptime", "Good five-minute slices")]
    assert (want.good, want.total) == (2007, 2016)
    assert want.sli == pytest.approx(0.99554, abs=1e-5)
    assert want.error_budget.remaining_ratio == pytest.approx(0.107, abs=1e-3)
    report = report_workspace(ws, at, SourceFactory(), names=["checkout-uptime"])
    (o,) = report.objectives
    (week,) = [w for w in o.windows if w.window == want.window_end - want.window_start]
    assert week.error_budget.unit == "slices"
    assert (week.good, week.total, week.sli) == (want.good, want.total, want.sli)
    assert week.error_budget.remaining_ratio == want.error_budget.remaining_ratio
    assert week.burn_rate == want.burn_rates["7d"]


def test_evaluate_between_slice_boundaries_counts_every_slice(examples_dir: Path) -> None:
    ws = load_workspace([examples_dir / "shop"])
    key = ("checkout-uptime", "Good five-minute slices")
    on = evaluated(ws, instant("2026-10-14T15:00:00Z"), SourceFactory())[key]
    for t in ("2026-10-14T15:02:00Z", "2026-10-14T15:04:59Z"):
        between = evaluated(ws, instant(t), SourceFactory())[key]
        assert (between.window_start, between.window_end) == (on.window_start, on.window_end)
        assert (between.good, between.total) == (on.good, on.total) == (2007, 2016)
        assert between.coverage == on.coverage and between.coverage.ratio == 1.0


@pytest.mark.parametrize("at", INSTANTS)
def test_every_path_gives_evaluates_figures(ws: Workspace, at: str, sqlite_store: Store) -> None:
    checked = check_every_path(ws, instant(at), SourceFactory, sqlite_store)
    objectives = sum(len(slo.objectives) for slo in ws.slos.values())
    assert checked.results == checked.report_windows == checked.serve_results == objectives
    assert checked.backtest_burns > 0
    rolling = sum(len(s.objectives) for s in ws.slos.values() if hasattr(s.window, "duration"))
    assert checked.composite_results == rolling


def test_the_example_sla_attains_what_evaluate_gives_for_its_slos(examples_dir: Path) -> None:
    ws = load_workspace([examples_dir])
    assert check_statement(ws, "acme-checkout-sla", "2026-10", SourceFactory()) >= 2
