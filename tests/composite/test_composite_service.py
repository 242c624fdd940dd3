"""``composite_report`` over the example shop: measured numbers recomputed by brute force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from slm.services.composite import composite_report
from slm.sources.factory import SourceFactory
from slm.spec.components import components
from slm.spec.loader import load_workspace

AT = datetime(2026, 11, 1, tzinfo=UTC)
DB = 3 * 0.995**2 * 0.005 + 0.995**3
PSP = 0.9995 + 0.0005 * 0.99 * 0.999  # psp-main, else psp-backup after a 99% switch-over


@pytest.fixture(scope="module")
def data(examples_dir: Path) -> dict[str, tuple[Any, Any]]:
    t = pq.read_table(examples_dir / "data" / "shop.parquet").to_pydict()
    ts, series = np.asarray(t["timestamp"]), np.asarray(t["series"])
    value = np.asarray(t["value"], dtype=np.float64)
    return {n: (ts[series == n], value[series == n]) for n in set(series.tolist())}


def _in(data: dict[str, Any], name: str, start: datetime, end: datetime) -> Any:
    ts, v = data[name]
    return v[(ts >= start.timestamp()) & (ts < end.timestamp())]


def _minutes(data: dict[str, Any], name: str, start: datetime, end: datetime) -> Any:
    """The series on the minute grid of [start, end), NaN where it has no bucket."""
    ts, v = data[name]
    grid = np.full(int((end - start).total_seconds()) // 60, np.nan)
    inside = (ts >= start.timestamp()) & (ts < end.timestamp())
    grid[((ts[inside] - start.timestamp()) // 60).astype(int)] = v[inside]
    return grid


def test_design_and_measured_side_by_side(examples_dir: Path, data: Any) -> None:
    ws = load_workspace([examples_dir / "shop", examples_dir / "components"])
    report = composite_report(ws, components(ws.objects), AT, SourceFactory())
    assert report.failures == []
    rows = {r.component.name: r for r in report.rows}
    start = AT - timedelta(days=30)

    # measured, by brute force over the same 30 days
    pay_total = _in(data, "payments_requests_total", start, AT).sum()
    pay_bad = _in(data, "payments_requests_failed", start, AT).sum()
    payments = (pay_total - pay_bad) / pay_total
    avail = (
        _in(data, "checkout_requests_good", start, AT).sum()
        / _in(data, "checkout_requests_total", start, AT).sum()
    )
    latency = float(np.mean(_in(data, "checkout_latency_p99_ms", start, AT) <= 400))
    checkout = 0.75 * avail + 0.25 * latency  # weights 3 and 1
    assert rows["payments"].measured_own == pytest.approx(payments, rel=1e-12)
    assert rows["checkout"].measured_own == pytest.approx(checkout, rel=1e-12)

    # design: targets through the graph
    design_payments = 0.9999 * PSP
    assert rows["payments"].design == pytest.approx(design_payments, abs=1e-14)
    assert rows["checkout-db"].design == pytest.approx(DB, abs=1e-14)
    assert rows["checkout"].design == pytest.approx(
        0.9997 * 0.9999 * design_payments * DB, abs=1e-14
    )
    # measured composite, minute by minute: each minute's up fractions through the graph
    # (unmeasured parts at their design values), then the mean over the minutes
    pay_up = 1 - _minutes(data, "payments_requests_failed", start, AT) / _minutes(
        data, "payments_requests_total", start, AT
    )
    checkout_up = 0.75 * _minutes(data, "checkout_requests_good", start, AT) / _minutes(
        data, "checkout_requests_total", start, AT
    ) + 0.25 * (_minutes(data, "checkout_latency_p99_ms", start, AT) <= 400)
    assert not np.isnan(pay_up).any() and not np.isnan(checkout_up).any()  # dense data
    per_minute = checkout_up * 0.9999 * pay_up * PSP * DB
    assert rows["checkout"].measured == pytest.approx(float(np.mean(per_minute)), rel=1e-12)
    assert rows["checkout"].measured_coverage == 1.0
    assert rows["checkout"].measured_minutes == 30 * 24 * 60
    assert rows["payments"].measured == pytest.approx(float(np.mean(pay_up)) * PSP, rel=1e-12)
    # the window-level formula multiplies checkout's and payments' window figures as if
    # their bad minutes were independent; in the example, payments degrade in the very
    # minutes checkout's latency is bad, counted once per minute, so the composite is higher
    window_level = checkout * 0.9999 * payments * PSP * DB
    assert rows["checkout"].measured > window_level
    assert rows["checkout"].assumed == (
        "checkout-db", "db-1", "db-2", "db-3", "psp-backup", "psp-main", "shop-lb"
    )  # fmt: skip
    assert rows["shop-lb"].measured is None and rows["shop-lb"].assumed == ("shop-lb",)
    assert [r.component.name for r in report.rows if r.root] == ["checkout"]

    # the weighted roll-up of checkout's objectives against its 99.97 % target
    budget = rows["checkout"].budget
    assert budget is not None and budget.aggregation == "reliability"
    assert budget.budget_burned == pytest.approx((1 - checkout) / 0.0003, rel=1e-9)
    assert [p.normalized_weight for p in budget.parts] == [0.75, 0.25]


def test_a_failing_source_is_reported_not_raised(tmp_path: Path, examples_dir: Path) -> None:
    import shutil

    for sub in ("shop", "components"):
        shutil.copytree(examples_dir / sub, tmp_path / sub)
    (tmp_path / "data").mkdir()  # no parquet: the File source cannot read it
    ws = load_workspace([tmp_path / "shop", tmp_path / "components"])
    report = composite_report(ws, components(ws.objects), AT, SourceFactory())
    assert report.failures and all("shop.parquet" in f for f in report.failures)
    rows = {r.component.name: r for r in report.rows}
    assert rows["checkout"].measured_own is None
    assert rows["checkout"].design == pytest.approx(0.9997 * 0.9999 * 0.9999 * PSP * DB)
