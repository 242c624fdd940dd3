"""evaluate_objective end to end; the prefix-sum paths equal the direct path."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from slm.domain.burn import burn_rate_series
from slm.domain.evaluation import evaluate_many, evaluate_objective
from slm.domain.model import (
    SLO,
    BudgetingMethod,
    CalendarWindow,
    MissingData,
    RollingWindow,
    Window,
)
from slm.domain.series import EventSeries
from slm.spec.catalogues import default_catalogue

from .helpers import MIN, T0, make_slo, ratio_indicator, series, threshold_indicator

D = timedelta(days=1)
N = 4 * 24 * 60  # four days of minutes
WORKBOOK = default_catalogue(30 * D)  # the shipped SRE Workbook catalogue (YAML)


def noisy_series(seed: int, gaps: bool = True) -> EventSeries:
    rng = np.random.default_rng(seed)
    total = rng.integers(0, 50, N).astype(float)
    good = total - rng.binomial(total.astype(int), 0.01)
    present = rng.random(N) > 0.05 if gaps else np.ones(N, bool)
    return series(good, total, present)


@pytest.mark.parametrize(
    ("window", "label"),
    [
        pytest.param(RollingWindow(2 * D), "2d", id="rolling"),
        pytest.param(CalendarWindow("month", 1, T0, "Europe/Berlin"), "1month", id="month"),
        pytest.param(CalendarWindow("week", 1, T0, "UTC"), "1week", id="week"),
    ],
)
def test_burn_rates_cover_every_catalogue_window_and_the_slo_window(
    window: Window, label: str
) -> None:
    slo = make_slo(window, target=0.99)
    r = evaluate_objective(slo, slo.objectives[0], noisy_series(1), T0 + 3 * D, WORKBOOK)
    assert list(r.burn_rates) == ["5m", "30m", "1h", "2h", "6h", "1d", "3d", label]
    assert len(r.alerts) == 4
    assert r.status == "ok"


SLOS = {
    "occurrences-rolling": make_slo(RollingWindow(2 * D), 0.99),
    "occurrences-calendar-kolkata": make_slo(CalendarWindow("day", 1, T0, "Asia/Kolkata"), 0.99),
    "occurrences-threshold-bad": make_slo(
        RollingWindow(D), 0.9, indicator=threshold_indicator(MissingData.BAD)
    ),
    "timeslices-ignore": make_slo(
        RollingWindow(2 * D),
        0.95,
        BudgetingMethod.TIMESLICES,
        slice_window=5 * MIN,
        slice_target=0.98,
    ),
    "timeslices-good-calendar": make_slo(
        CalendarWindow("week", 1, T0, "America/New_York"),
        0.95,
        BudgetingMethod.TIMESLICES,
        ratio_indicator(MissingData.GOOD),
        slice_window=10 * MIN,
        slice_target=0.98,
    ),
    "ratio-timeslices-bad": make_slo(
        RollingWindow(D),
        0.95,
        BudgetingMethod.RATIO_TIMESLICES,
        ratio_indicator(MissingData.BAD),
        slice_window=3 * MIN,
    ),
}
INSTANTS = [
    T0 - MIN,  # before the data
    T0 + 37 * MIN + timedelta(seconds=5),
    T0 + D + 7 * MIN,
    T0 + 2 * D + 59 * MIN,
    T0 + 4 * D,  # the end
    T0 + 5 * D,  # after the data
]


@pytest.mark.parametrize("slo", SLOS.values(), ids=SLOS.keys())
def test_evaluate_many_equals_evaluate_objective(slo: SLO) -> None:
    events = noisy_series(2)
    if slo.indicator.threshold is not None:
        events = series(events.good > 0, np.ones(N), events.present)
    many = evaluate_many(slo, slo.objectives[0], events, INSTANTS, WORKBOOK)
    for at, got in zip(INSTANTS, many, strict=True):
        want = evaluate_objective(slo, slo.objectives[0], events, at, WORKBOOK)
        assert_same(got, want)


def assert_same(got: object, want: object, where: str = "result") -> None:
    """Equal up to float rounding (prefix sums subtract, the direct path adds)."""
    if hasattr(want, "__dataclass_fields__") and not isinstance(want, RollingWindow):
        for f in want.__dataclass_fields__:
            assert_same(getattr(got, f), getattr(want, f), f"{where}.{f}")
    elif isinstance(want, dict):
        assert isinstance(got, dict)
        assert list(got) == list(want), where
        for key in want:
            assert_same(got[key], want[key], f"{where}[{key}]")
    elif isinstance(want, tuple):
        assert isinstance(got, tuple)
        assert len(got) == len(want), where
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9), where
    elif isinstance(want, timedelta):
        assert got == pytest.approx(want, abs=timedelta(milliseconds=1)), where
    else:
        assert got == want, where


@pytest.mark.parametrize("window", ["5m", "1h", "6h", "1d", "3d"])
def test_burn_rate_series_equals_the_single_instant_burn_rates(window: str) -> None:
    events = noisy_series(3)
    slo = make_slo(RollingWindow(2 * D), 0.99)
    duration = {"5m": 5 * MIN, "1h": 60 * MIN, "6h": 360 * MIN, "1d": D, "3d": 3 * D}[window]
    rates = burn_rate_series(events, duration, 0.99, INSTANTS)
    for at, rate in zip(INSTANTS, rates, strict=True):
        result = evaluate_objective(slo, slo.objectives[0], events, at, WORKBOOK)
        single = result.burn_rates[window]
        if single is None:
            assert np.isnan(rate)
        else:
            assert rate == pytest.approx(single, rel=1e-9)


def test_the_shipped_catalogue_is_the_workbook_30d() -> None:
    slo = make_slo(RollingWindow(30 * D), 0.999)
    r = evaluate_objective(slo, slo.objectives[0], noisy_series(4), T0 + 4 * D, WORKBOOK)
    assert [a.factor for a in r.alerts] == pytest.approx([14.4, 6, 3, 1])
    assert [(a.severity, a.long_window, a.short_window) for a in r.alerts] == [
        ("page", timedelta(hours=1), 5 * MIN),
        ("page", timedelta(hours=6), 30 * MIN),
        ("ticket", D, timedelta(hours=2)),
        ("ticket", 3 * D, timedelta(hours=6)),
    ]
    assert r.coverage.expected == 30 * 24 * 60
    assert r.coverage.present == int(np.count_nonzero(noisy_series(4).present))


def test_no_catalogue_means_no_alerts() -> None:
    slo = make_slo(RollingWindow(30 * D), 0.999)
    events, at = noisy_series(4), T0 + 4 * D
    bare = evaluate_objective(slo, slo.objectives[0], events, at, None)
    full = evaluate_objective(slo, slo.objectives[0], events, at, WORKBOOK)
    assert bare.alerts == ()
    assert list(bare.burn_rates) == ["1h", "30d"]  # the exhaustion window and the SLO window
    assert bare.burn_rates["1h"] == full.burn_rates["1h"] is not None
    assert bare.burn_rates["30d"] == full.burn_rates["30d"]
    assert bare.time_to_exhaustion == full.time_to_exhaustion
    assert (bare.sli, bare.error_budget, bare.coverage) == (
        full.sli,
        full.error_budget,
        full.coverage,
    )


def test_naive_instant_is_rejected() -> None:
    slo = make_slo(RollingWindow(D), 0.99)
    with pytest.raises(ValueError, match="naive"):
        evaluate_objective(slo, slo.objectives[0], noisy_series(5), datetime(2026, 1, 2), None)


@pytest.mark.parametrize("method", list(BudgetingMethod), ids=lambda m: m.value)
def test_an_empty_series_is_no_data(method: BudgetingMethod) -> None:
    slo = make_slo(RollingWindow(D), 0.99, method, slice_window=5 * MIN, slice_target=0.9)
    r = evaluate_objective(slo, slo.objectives[0], series([], []), T0 + D, WORKBOOK)
    assert (r.status, r.sli, r.total) == ("no_data", None, 0)
    assert (r.coverage.expected, r.coverage.present) == (24 * 60, 0)
    assert all(rate is None for rate in r.burn_rates.values())
    assert not any(a.firing for a in r.alerts)
    assert r.time_to_exhaustion is None
