"""Applying retention to a real store (SQLite and PostgreSQL): roll-ups keep ratio sums
exact, reads fall back to roll-ups and say so, legal holds keep rows, a second run and a
dry run change nothing, and a failure half-way leaves the store as it was.

Five days of one-minute buckets end at ``AT``; the policy keeps minutes for 1 day, hours
for 3 days and days for 4 days, so after applying at ``AT``: the last day is fine, days
2-3 are hourly, day 4 daily and day 5 gone -- except what a hold protects.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from slm.domain.errors import SpecError, StoreError
from slm.domain.retention import StoredBuckets
from slm.services.evaluate import evaluate_workspace
from slm.services.ports import FixedClock
from slm.services.retention import apply_retention
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace
from slm.spec.workspace import Workspace
from slm.store.db import Store
from slm.store.retention import RetentionRepository
from slm.store.schema import measurement_rollups, measurements, retention_runs

AT = datetime(2026, 11, 1, tzinfo=UTC)
DAY, HOUR, MIN = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
FIRST = AT - 5 * DAY
SERIES = ("checkout_good", "checkout_total", "queue_depth")

SPECS = """\
apiVersion: openslo/v1
kind: Service
metadata: {name: checkout}
spec: {}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: store}
spec: {type: Store, connectionDetails: {}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-availability}
spec:
  service: checkout
  indicator:
    metadata: {name: checkout-success}
    spec:
      ratioMetric:
        counter: false
        good: {metricSource: {metricSourceRef: store, spec: {series: checkout_good}}}
        total: {metricSource: {metricSourceRef: store, spec: {series: checkout_total}}}
  timeWindow: [{duration: 1d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
---
apiVersion: slm/v1
kind: RetentionPolicy
metadata: {name: checkout}
spec:
  selector: {services: [checkout]}
  tiers:
    - {resolution: 1m, keep: 1d}
    - {resolution: 1h, keep: 3d}
    - {resolution: 1d, keep: 4d}
"""

# Protects half an hour of day 3 (an hour partly held) and an hour of day 5 (which would
# otherwise expire).
HOLD = """\
---
apiVersion: slm/v1
kind: LegalHold
metadata: {name: dispute-114}
spec:
  selector: {services: [checkout]}
  period: {from: "2026-10-29T00:30:00Z", to: "2026-10-29T01:00:00Z"}
  reason: Credit dispute
  setBy: jane.doe@example.com
---
apiVersion: slm/v1
kind: LegalHold
metadata: {name: audit-2026}
spec:
  selector: {series: ["checkout_*"]}
  period: {from: "2026-10-27T02:00:00Z", to: "2026-10-27T03:00:00Z"}
  reason: Annual audit
  setBy: audit@example.com
"""


def _values() -> dict[str, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(114)
    n = int((AT - FIRST) / MIN)
    total = rng.integers(50, 150, n).astype(float)
    bad = rng.binomial(total.astype(int), 0.01).astype(float)
    return {
        "checkout_total": total,
        "checkout_good": total - bad,
        "queue_depth": rng.integers(0, 9, n).astype(float),
    }


VALUES = _values()


def _load(store: Store) -> None:
    s0 = int(FIRST.timestamp())
    rows = [
        (name, s0 + 60 * i, v)
        for name in SERIES
        for i, v in enumerate(VALUES[name].tolist())
        if not (name == "queue_depth" and i % 7 == 3)  # a gap pattern, for good measure
    ]
    with store.transaction() as repos:
        repos.measurements.upsert(rows)


def _workspace(tmp_path: Path, extra: str = "") -> Workspace:
    (tmp_path / "specs.yaml").write_text(SPECS + extra)
    return load_workspace([tmp_path / "specs.yaml"])


def _expected(series: str, start: datetime, end: datetime) -> float:
    i, j = int((start - FIRST) / MIN), int((end - FIRST) / MIN)
    return float(VALUES[series][i:j].sum())


def _read(store: Store, series: str, start: datetime, end: datetime) -> StoredBuckets:
    with store.transaction() as repos:
        return RetentionRepository(repos.connection).read(series, start, end, MIN)


def _dump(store: Store) -> tuple[list[Any], list[Any]]:
    with store.engine.connect() as conn:
        fine = conn.execute(sa.select(measurements).order_by(*measurements.primary_key)).all()
        rolled = conn.execute(
            sa.select(measurement_rollups).order_by(*measurement_rollups.primary_key)
        ).all()
    return [tuple(r) for r in fine], [tuple(r) for r in rolled]


@pytest.fixture
def loaded(store: Store) -> Store:
    _load(store)
    return store


def test_fine_rows_roll_up_to_hours_then_days_then_expire(loaded: Store, tmp_path: Path) -> None:
    report = apply_retention(loaded, _workspace(tmp_path), AT, clock=FixedClock(AT))
    by_series = {s.series: s for s in report.series}
    assert sorted(by_series) == ["checkout_good", "checkout_total"]
    assert report.unselected == ["queue_depth"]
    total = by_series["checkout_total"]
    # stored minutes of days 2-5 rolled into 96 hours; hours of days 4-5 into 2 days;
    # day 5 expired.
    assert [(s.resolution, s.into, s.deleted, s.new_rollups) for s in total.steps] == [
        ("stored", "1h", 4 * 1440, 96),
        ("1h", "1d", 48, 2),
        ("1d", None, 1, 0),
    ]
    assert report.deleted == 2 * (4 * 1440 + 48 + 1)
    assert report.bytes_freed > 0
    with loaded.transaction() as repos:
        assert repos.measurements.count(["queue_depth"]) == len(VALUES["queue_depth"]) - 1029


@pytest.mark.parametrize(
    ("start", "end", "resolution"),
    [
        pytest.param(AT - DAY, AT, MIN, id="last-day-fine"),
        pytest.param(AT - 3 * DAY, AT - DAY, HOUR, id="hourly-days"),
        pytest.param(AT - 4 * DAY, AT - 3 * DAY, DAY, id="daily-day"),
        pytest.param(AT - 4 * DAY, AT, DAY, id="across-all-tiers"),
        pytest.param(AT - 36 * HOUR, AT - 12 * HOUR, HOUR, id="hour-aligned-across-the-cutoff"),
    ],
)
def test_sums_over_aligned_ranges_are_unchanged_and_flagged(
    loaded: Store, tmp_path: Path, start: datetime, end: datetime, resolution: timedelta
) -> None:
    apply_retention(loaded, _workspace(tmp_path), AT)
    for series in ("checkout_good", "checkout_total"):
        got = _read(loaded, series, start, end)
        assert got.values.sum() == _expected(series, start, end)
        assert got.present.all()  # roll-ups cover their whole span: coverage stays true
        assert got.resolution == resolution
        assert got.from_rollups == (resolution != MIN)


def test_expired_days_read_as_missing(loaded: Store, tmp_path: Path) -> None:
    apply_retention(loaded, _workspace(tmp_path), AT)
    got = _read(loaded, "checkout_total", FIRST, AT - 4 * DAY)
    assert not got.present.any()
    assert got.values.sum() == 0


def test_a_second_run_changes_nothing(loaded: Store, tmp_path: Path) -> None:
    ws = _workspace(tmp_path, HOLD)
    first = apply_retention(loaded, ws, AT)
    before = _dump(loaded)
    second = apply_retention(loaded, ws, AT)
    assert first.deleted > 0
    assert (second.deleted, second.new_rollups) == (0, 0)
    assert second.held == first.held
    assert _dump(loaded) == before


def test_a_dry_run_reports_what_a_real_run_does_and_changes_nothing(
    loaded: Store, tmp_path: Path
) -> None:
    ws = _workspace(tmp_path, HOLD)
    before = _dump(loaded)
    dry = apply_retention(loaded, ws, AT, dry_run=True)
    assert _dump(loaded) == before
    assert dry.run_id is None
    real = apply_retention(loaded, ws, AT)
    assert (dry.deleted, dry.new_rollups, dry.held, dry.bytes_freed) == (
        real.deleted,
        real.new_rollups,
        real.held,
        real.bytes_freed,
    )
    with loaded.engine.connect() as conn:
        runs = conn.execute(sa.select(retention_runs)).all()
    assert [(r.id, r.rows_deleted) for r in runs] == [(real.run_id, real.deleted)]


def test_legal_holds_keep_rows_and_reads_stay_exact(loaded: Store, tmp_path: Path) -> None:
    report = apply_retention(loaded, _workspace(tmp_path, HOLD), AT)
    total = next(s for s in report.series if s.series == "checkout_total")
    assert total.holds == ("audit-2026", "dispute-114")
    # dispute: 30 minutes; audit: 60 minutes, its hour and its day.
    assert [s.held for s in total.steps] == [30 + 60, 1, 1]
    held_from = datetime(2026, 10, 29, 0, 30, tzinfo=UTC)
    with loaded.transaction() as repos:
        kept = repos.measurements.read("checkout_total", held_from, held_from + 30 * MIN, MIN)
    assert kept.present.all()
    # Day 5 is no longer gone: the hold kept its daily roll-up.
    for start, end in [(FIRST, FIRST + DAY), (AT - 3 * DAY, AT - 2 * DAY)]:
        got = _read(loaded, "checkout_total", start, end)
        assert got.values.sum() == _expected("checkout_total", start, end)
        assert got.from_rollups


def test_lifting_a_hold_lets_the_next_run_delete(loaded: Store, tmp_path: Path) -> None:
    apply_retention(loaded, _workspace(tmp_path, HOLD), AT)
    after = apply_retention(loaded, _workspace(tmp_path), AT)
    assert after.held == 0
    assert after.deleted == 2 * (30 + 60 + 1 + 1)
    got = _read(loaded, "checkout_total", AT - 3 * DAY, AT - 2 * DAY)
    assert got.values.sum() == _expected("checkout_total", AT - 3 * DAY, AT - 2 * DAY)


def test_a_failure_half_way_leaves_the_store_unchanged(
    loaded: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _dump(loaded)
    real = RetentionRepository.apply_step
    calls = []

    def failing(self: RetentionRepository, *args: Any) -> Any:
        calls.append(args)
        if len(calls) == 4:  # second series, first step: the first series is done
            raise StoreError("disk full")
        return real(self, *args)

    monkeypatch.setattr(RetentionRepository, "apply_step", failing)
    with pytest.raises(StoreError, match="disk full"):
        apply_retention(loaded, _workspace(tmp_path), AT)
    assert _dump(loaded) == before


def test_a_series_two_policies_select_is_refused(loaded: Store, tmp_path: Path) -> None:
    other = """\
---
apiVersion: slm/v1
kind: RetentionPolicy
metadata: {name: short}
spec:
  selector: {series: ["checkout_t*"]}
  tiers: [{resolution: 1m, keep: 7d}]
"""
    before = _dump(loaded)
    with pytest.raises(SpecError, match=r"series 'checkout_total' is also selected by "):
        apply_retention(loaded, _workspace(tmp_path, other), AT)
    assert _dump(loaded) == before


def test_evaluate_over_an_old_window_uses_the_roll_ups(loaded: Store, tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    old = AT - 2 * DAY  # its 1d window lies in the hourly tier
    factory = SourceFactory(store=loaded)
    before = evaluate_workspace(ws, old, factory).results[0]
    apply_retention(loaded, ws, AT)
    after = evaluate_workspace(ws, old, factory).results[0]
    assert (after.good, after.total, after.sli) == (before.good, before.total, before.sli)
    assert after.total == _expected("checkout_total", old - DAY, old)
    assert after.coverage == before.coverage
    # ... and says so, naming the coarsest roll-up read: the SLO window lies in the hourly
    # tier, but the 3d burn-rate window reaches back into the daily one.
    assert before.notes == ()
    assert after.notes == ("computed from 1d roll-ups: finer buckets were removed by retention",)


def test_report_over_an_old_window_says_it_used_roll_ups(loaded: Store, tmp_path: Path) -> None:
    from slm.services.report import report_workspace

    ws = _workspace(tmp_path)
    old = AT - 2 * DAY
    factory = SourceFactory(store=loaded)
    before = report_workspace(ws, old, factory, [DAY]).objectives[0]
    apply_retention(loaded, ws, AT)
    after = report_workspace(ws, old, factory, [DAY]).objectives[0]
    assert [(w.good, w.total) for w in after.windows] == [(w.good, w.total) for w in before.windows]
    assert before.notes == ()
    assert after.notes == ("computed from 1h roll-ups: finer buckets were removed by retention",)


AGREEMENT = """\
---
apiVersion: slm/v1
kind: Agreement
metadata: {name: checkout-sla}
spec:
  type: SLA
  provider: Shop Ltd
  customer: ACME
  services: [checkout]
  term: {start: 2026-01-01, end: 2027-12-31}
  timeZone: UTC
  measurementPeriod: month
  fee: {amount: "1000.00", currency: EUR}
  owner: shop-team
  budgetOwner: CC-1
  credits:
    tiers: [{below: 99.9, creditPercent: 10}]
  clauses:
    - {name: availability, slo: checkout-availability, target: 99.0}
"""


def test_a_statement_over_rolled_up_minutes_says_so(loaded: Store, tmp_path: Path) -> None:
    from slm.domain.statement import statement_dict
    from slm.services.statements import compute_statement

    ws = _workspace(tmp_path, AGREEMENT)
    factory = SourceFactory(store=loaded)
    before = compute_statement(ws, "checkout-sla", "2026-10", factory)
    apply_retention(loaded, ws, AT)
    after = compute_statement(ws, "checkout-sla", "2026-10", factory)
    # ratio sums are exact on roll-ups; only the oldest day, expired, is gone
    kept = AT - 4 * DAY
    assert before.clauses[0].figures.attainment == Fraction(
        int(_expected("checkout_good", FIRST, AT)), int(_expected("checkout_total", FIRST, AT))
    )
    assert after.clauses[0].figures.attainment == Fraction(
        int(_expected("checkout_good", kept, AT)), int(_expected("checkout_total", kept, AT))
    )
    assert before.notes == ()
    assert after.notes == ("computed from 1d roll-ups: finer buckets were removed by retention",)
    assert statement_dict(after)["notes"] == list(after.notes)
