"""The example workspace evaluates to the numbers its data implies.

Expected values are recomputed here by brute force from the Parquet file (plain numpy
masks over timestamps), independently of the engine's windowing and reductions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from slm.domain.results import ObjectiveResult
from slm.services.evaluate import evaluate_workspace
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace

OUTAGE = datetime(2026, 10, 14, 13, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def data(examples_dir: Path) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    table = pq.read_table(examples_dir / "data" / "shop.parquet").to_pydict()
    ts = np.asarray(table["timestamp"], dtype=np.int64)
    series = np.asarray(table["series"])
    value = np.asarray(table["value"], dtype=np.float64)
    return {name: (ts[series == name], value[series == name]) for name in set(series.tolist())}


def _sum(data: dict[str, Any], name: str, start: datetime, end: datetime) -> float:
    ts, v = data[name]
    m = (ts >= start.timestamp()) & (ts < end.timestamp())
    return float(v[m].sum())


def _evaluate(examples_dir: Path, at: datetime) -> dict[tuple[str, str], ObjectiveResult]:
    ws = load_workspace([examples_dir])
    report = evaluate_workspace(ws, at, SourceFactory())
    assert report.failures == []
    return {(r.slo, r.objective): r for r in report.results}


def test_workspace_has_the_documented_slos(examples_dir: Path) -> None:
    ws = load_workspace([examples_dir])
    assert sorted(ws.slos) == [
        "checkout-availability",
        "checkout-latency",
        "checkout-uptime",
        "payments-availability",
    ]
    assert sorted(ws.services) == ["checkout", "payments"]


def test_availability_matches_brute_force_over_30_days(examples_dir: Path, data: Any) -> None:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    r = _evaluate(examples_dir, at)[("checkout-availability", "Requests succeed")]
    start = at - timedelta(days=30)
    good = _sum(data, "checkout_requests_good", start, at)
    total = _sum(data, "checkout_requests_total", start, at)
    assert (r.good, r.total) == (good, total)
    assert r.sli == pytest.approx(good / total, rel=1e-12)
    budget = 0.001 * total
    assert r.error_budget.total == pytest.approx(budget)
    assert r.error_budget.consumed == total - good
    assert r.error_budget.remaining == pytest.approx(budget - (total - good))
    assert r.error_budget.remaining_ratio == pytest.approx(1 - (total - good) / budget)
    assert r.coverage.ratio == 1.0
    # The 14 October outage ate most of the budget but not all of it.
    assert 0 < r.error_budget.remaining_ratio < 0.2
    assert not any(a.firing for a in r.alerts)


def test_outage_fires_page_and_ticket_alerts(examples_dir: Path, data: Any) -> None:
    at = OUTAGE + timedelta(minutes=30)
    results = _evaluate(examples_dir, at)
    r = results[("checkout-availability", "Requests succeed")]
    firing = {(a.severity, a.long_window) for a in r.alerts if a.firing}
    assert ("page", timedelta(hours=1)) in firing
    assert ("page", timedelta(hours=6)) in firing
    # burn over the last hour, recomputed by hand
    bad = _sum(data, "checkout_requests_total", at - timedelta(hours=1), at) - _sum(
        data, "checkout_requests_good", at - timedelta(hours=1), at
    )
    total = _sum(data, "checkout_requests_total", at - timedelta(hours=1), at)
    assert r.burn_rates["1h"] == pytest.approx((bad / total) / 0.001)
    assert r.burn_rates["1h"] is not None and r.burn_rates["1h"] > 14.4
    uptime = results[("checkout-uptime", "Good five-minute slices")]
    assert any(a.firing and a.severity == "page" for a in uptime.alerts)
    # an hour before the outage nothing fires
    calm = _evaluate(examples_dir, OUTAGE - timedelta(hours=1))
    assert not any(a.firing for res in calm.values() for a in res.alerts)


def test_latency_threshold_counts_minutes_at_or_under_400ms(examples_dir: Path, data: Any) -> None:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    r = _evaluate(examples_dir, at)[("checkout-latency", "p99 under 400 ms")]
    ts, v = data["checkout_latency_p99_ms"]
    m = (ts >= (at - timedelta(days=30)).timestamp()) & (ts < at.timestamp())
    assert r.total == m.sum()
    assert r.good == (v[m] <= 400).sum()
    # the 27 October degradation (two hours over 400 ms) is in the window
    assert r.total - r.good >= 120


def test_time_slices_of_five_minutes(examples_dir: Path, data: Any) -> None:
    at = datetime(2026, 10, 15, tzinfo=UTC)
    r = _evaluate(examples_dir, at)[("checkout-uptime", "Good five-minute slices")]
    start = at - timedelta(days=7)
    slices = 7 * 24 * 12
    bad = 0
    for i in range(slices):
        s = start + timedelta(minutes=5 * i)
        e = s + timedelta(minutes=5)
        good = _sum(data, "checkout_requests_good", s, e)
        total = _sum(data, "checkout_requests_total", s, e)
        bad += int(total > 0 and good / total < 0.99)
    assert r.total == slices
    assert r.good == slices - bad
    assert bad >= 9  # the 45-minute outage covers nine slices
    assert r.error_budget.unit == "slices"
    assert r.error_budget.total == pytest.approx(0.005 * slices)
    assert r.error_budget.total_minutes == pytest.approx(0.005 * slices * 5)


def test_calendar_month_is_the_local_month_in_berlin(examples_dir: Path, data: Any) -> None:
    # October 2026 in Europe/Berlin: 2026-09-30T22:00Z to 2026-10-31T23:00Z (DST ends 25 Oct).
    # At the last minute of October the window holds all of it but that minute.
    end = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    at = end - timedelta(minutes=1)
    results = _evaluate(examples_dir, at)
    r = results[("payments-availability", "Payments succeed")]
    start = datetime(2026, 9, 30, 22, 0, tzinfo=UTC)
    assert r.window_start == start
    assert r.coverage.expected == (31 * 24 + 1) * 60 - 1
    failed = _sum(data, "payments_requests_failed", start, at)
    total = _sum(data, "payments_requests_total", start, at)
    assert r.total == total
    assert r.good == total - failed
    assert r.burn_rates["1month"] == pytest.approx((failed / total) / 0.005)
    stretch = results[("payments-availability", "Payments succeed (stretch)")]
    assert stretch.sli == r.sli
    assert stretch.error_budget.total == pytest.approx(0.001 * total)
    # at 23:00Z it is November in Berlin: a new period has begun (windows are half-open)
    assert _evaluate(examples_dir, end)[("payments-availability", "Payments succeed")].total == 0
    nov = _evaluate(examples_dir, end + timedelta(hours=1))[
        ("payments-availability", "Payments succeed")
    ]
    assert nov.window_start == end
    assert nov.coverage.expected == 60


def test_generator_is_deterministic(examples_dir: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "shop.parquet"
    subprocess.run(
        [sys.executable, str(examples_dir / "generate_data.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert pq.read_table(out).equals(pq.read_table(examples_dir / "data" / "shop.parquet"))
