"""Figures carry no float noise: whole counts sum exactly, a window without bad units has
exactly its whole budget and a burn rate of exactly 0, budgets use the target as the
decimal it was written as, and time to exhaustion never overflows."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slm.domain.budget import error_share, occurrences_budget, slices_budget
from slm.domain.burn import EXHAUSTION_HORIZON, burn_rate, burn_rate_series, time_to_exhaustion
from slm.domain.evaluation import evaluate_many, evaluate_objective
from slm.domain.model import BudgetingMethod, MissingData, RollingWindow
from slm.domain.tally import Counting, PrefixSums, Tally, segment_counts

from .helpers import MIN, T0, make_slo, ratio_indicator, series, threshold_indicator
from .test_properties import SMALL

D = timedelta(days=1)

# Found by hypothesis (test_prefix_path_equals_direct_path): fractional slice ratios, then
# slices without events; the prefix sums left remaining 0.9999999999999956 and a burn rate
# of 2.2e-15, and time to exhaustion overflowed.
NOISY_GOOD = [110, 490, 456, 759, 106, 1, 1, 2, 417, 1, 1, 0, 158, 449, 2, 1, 725, 22, 415, 12]
NOISY_TOTAL = [200, 740, 572, 979, 373, 2, 3, 3, 569, 15, 2, 0, 296, 572, 3, 3, 951, 50, 943, 59]
QUIET = 24  # minutes without events after them


@pytest.mark.parametrize("method", list(BudgetingMethod))
@pytest.mark.parametrize("slice_minutes", [1, 2, 3, 5])
def test_a_window_without_bad_units_keeps_exactly_its_whole_budget(
    method: BudgetingMethod, slice_minutes: int
) -> None:
    events = series(NOISY_GOOD + [0] * QUIET, NOISY_TOTAL + [0] * QUIET)
    slo = make_slo(
        RollingWindow(15 * MIN),
        0.9,
        method,
        ratio_indicator(MissingData.IGNORE),
        slice_window=slice_minutes * MIN,
        slice_target=0.9,
    )
    at = T0 + (len(NOISY_GOOD) + QUIET) * MIN + timedelta(seconds=17)
    direct = evaluate_objective(slo, slo.objectives[0], events, at, SMALL)
    (many,) = evaluate_many(slo, slo.objectives[0], events, [at], SMALL)
    for r in (direct, many):
        if method is BudgetingMethod.OCCURRENCES:
            assert r.status == "no_data"  # no events at all in the window
            continue
        assert r.sli == 1.0
        assert r.good == r.total
        assert r.error_budget.consumed == 0.0
        assert r.error_budget.remaining_ratio == 1.0
        assert r.error_budget.remaining == r.error_budget.total
        assert r.time_to_exhaustion is None
        for window in ("2m", "6m", "7m", "15m"):
            assert r.burn_rates[window] == 0.0, window


def test_fractional_counts_without_bad_events_burn_at_exactly_zero() -> None:
    """Counter increases are fractional (Prometheus extrapolates); a window where every
    bucket is all good has exactly no bad events whatever the sums before it."""
    rng = np.random.default_rng(7)
    total = rng.random(200) * 1000
    good = total * rng.random(200)
    good[100:] = total[100:]
    events = series(good, total)
    slo = make_slo(RollingWindow(90 * MIN), 0.999)
    at = T0 + 200 * MIN
    direct = evaluate_objective(slo, slo.objectives[0], events, at, SMALL)
    (many,) = evaluate_many(slo, slo.objectives[0], events, [at], SMALL)
    for r in (direct, many):
        assert r.sli == 1.0
        assert r.error_budget.remaining_ratio == 1.0
        assert r.error_budget.consumed == 0.0
        assert all(rate == 0.0 for rate in r.burn_rates.values())
    rates = burn_rate_series(events, 60 * MIN, 0.999, [at])
    assert rates.tolist() == [0.0]


def test_whole_counts_sum_exactly_on_both_paths() -> None:
    rng = np.random.default_rng(3)
    total = rng.integers(10**9, 10**12, 500)
    good = total - rng.integers(0, 10**6, 500)
    events = series(good.astype(float), total.astype(float))
    windows = [(0, 500), (13, 477), (250, 251), (-20, 40)]
    for tally, (lo, hi) in zip(segment_counts(events, windows, Counting()), windows, strict=True):
        span = slice(max(lo, 0), hi)
        assert (tally.good, tally.total) == (int(good[span].sum()), int(total[span].sum()))
    for tally, (lo, hi) in zip(
        PrefixSums(events, Counting()).counts(windows), windows, strict=True
    ):
        span = slice(max(lo, 0), hi)
        assert (tally.good, tally.total) == (int(good[span].sum()), int(total[span].sum()))


def test_budget_figures_are_the_decimal_ones() -> None:
    """0.1 % of 30 days is 43.2 minutes (1 - 0.999 in floats gives 43.20000000000004)."""
    assert error_share(0.999) == pytest.approx(0.001) and str(error_share(0.999)) == "1/1000"
    budget = occurrences_budget(Tally(999_990, 1_000_000, 10, 10), 0.999, 30 * D)
    assert budget.total_minutes == 43.2
    assert budget.total == 1000.0
    assert budget.consumed == 10.0
    assert budget.remaining == 990.0
    assert budget.remaining_ratio == 0.99
    assert budget.consumed_minutes == 0.432
    assert budget.remaining_minutes == 42.768
    slices = slices_budget(Tally(8630, 8640, 8640, 8640), 0.999, 5 * MIN)
    assert (slices.total, slices.consumed, slices.remaining) == (8.64, 10.0, -1.36)
    assert (slices.total_minutes, slices.consumed_minutes, slices.remaining_minutes) == (
        43.2,
        50.0,
        -6.8,
    )
    assert burn_rate(Tally(999, 1000, 1, 1), 0.999) == 1.0
    assert burn_rate(Tally(9856, 10000, 1, 1), 0.999) == 14.4
    assert burn_rate(Tally(1000, 1000, 1, 1), 0.999) == 0.0


def test_threshold_ratio_timeslices_of_thirds_keep_a_clean_window_exact() -> None:
    """Slices of 3 points give ratios in thirds; a later window of good points is exact."""
    values = [1.0, 0.0, 1.0] * 20 + [1.0] * 30
    events = series(values, [1.0] * len(values))
    slo = make_slo(
        RollingWindow(30 * MIN),
        0.99,
        BudgetingMethod.RATIO_TIMESLICES,
        threshold_indicator(MissingData.BAD),
        slice_window=3 * MIN,
    )
    at = T0 + len(values) * MIN
    (many,) = evaluate_many(slo, slo.objectives[0], events, [at], SMALL)
    direct = evaluate_objective(slo, slo.objectives[0], events, at, SMALL)
    for r in (many, direct):
        assert (r.good, r.total, r.sli) == (10.0, 10.0, 1.0)
        assert r.error_budget.remaining_ratio == 1.0
        assert r.burn_rates["20m"] == 0.0


@pytest.mark.parametrize(
    ("remaining_ratio", "burn"),
    [
        pytest.param(0.9999999999999956, 2.2e-15, id="hypothesis-example"),
        pytest.param(1.0, 5e-324, id="smallest-burn"),
        pytest.param(1.0, 1e-5, id="beyond-the-horizon"),
        pytest.param(float("nan"), 1.0, id="nan-ratio"),
        pytest.param(1.0, float("nan"), id="nan-burn"),
    ],
)
def test_time_to_exhaustion_is_never_beyond_the_horizon(
    remaining_ratio: float, burn: float
) -> None:
    assert time_to_exhaustion(remaining_ratio, 30 * D, burn) is None


def test_time_to_exhaustion_up_to_the_horizon() -> None:
    assert time_to_exhaustion(0.5, 30 * D, 1.0) == 15 * D
    assert time_to_exhaustion(1.0, 30 * D, 30 * D / EXHAUSTION_HORIZON) == EXHAUSTION_HORIZON
    assert time_to_exhaustion(-0.1, 30 * D, 2.0) == timedelta(0)
    assert time_to_exhaustion(1.0, timedelta.max, 1e-9) is None


def test_alert_factors_are_the_decimal_ones() -> None:
    """budget % x period / long window, exactly: 10 % of 7 days over 1 day is 0.7."""
    from slm.domain.model import AlertWindow

    week, month = 7 * D, 30 * D
    rows = [(2, 60 * MIN), (5, 6 * 60 * MIN), (10, D), (10, 3 * D)]
    factors = [AlertWindow("r", long, MIN, pct).factor(week) for pct, long in rows]
    assert factors == [3.36, 1.4, 0.7, 7 / 30]
    assert [AlertWindow("r", long, MIN, pct).factor(month) for pct, long in rows] == [
        14.4,
        6.0,
        3.0,
        1.0,
    ]


def _fraction_budget(tally: Tally, target: float, period: timedelta, slices: bool) -> tuple:
    """The budget figures computed with ``Fraction`` throughout (the reference that the
    integer arithmetic of ``budget`` and ``burn`` must equal, float for float)."""
    from fractions import Fraction

    share = 1 - Fraction(repr(target))
    mins = Fraction(period // timedelta(microseconds=1), 60_000_000)
    total = share * Fraction(tally.total)
    consumed = Fraction(tally.bad)
    remaining = total - consumed
    ratio = float(remaining / total) if total > 0 else None
    if slices:
        minutes = (float(total * mins), float(consumed * mins), float(remaining * mins))
    elif total > 0:
        used = consumed / total * share * mins
        minutes = (float(share * mins), float(used), float(share * mins - used))
    else:
        minutes = (float(share * mins), None, None)
    burn = float(consumed / Fraction(tally.total) / share) if tally.total > 0 else None
    return float(total), float(consumed), float(remaining), ratio, minutes, burn


counts = st.one_of(
    st.integers(0, 10**15).map(float),
    st.floats(0, 1e12, allow_nan=False, allow_infinity=False),
    st.floats(0, 1e300, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=400, deadline=None)
@given(
    total=counts,
    bad_share=st.one_of(st.just(0.0), st.just(1.0), st.floats(0, 1)),
    target=st.sampled_from([0.9, 0.99, 0.995, 0.999, 0.9995, 0.99999, 0.123456789, 0.5]),
    minutes=st.integers(1, 60 * 24 * 400),
    slices=st.booleans(),
)
def test_integer_arithmetic_equals_fractions(
    total: float, bad_share: float, target: float, minutes: int, slices: bool
) -> None:
    bad = min(total, total * bad_share)
    tally = Tally(total - bad, total, 1, 1)
    period = minutes * MIN
    if slices:
        b = slices_budget(tally, target, period)
        got_minutes = (b.total_minutes, b.consumed_minutes, b.remaining_minutes)
    else:
        b = occurrences_budget(tally, target, period)
        got_minutes = (b.total_minutes, b.consumed_minutes, b.remaining_minutes)
    got = (b.total, b.consumed, b.remaining, b.remaining_ratio, got_minutes)
    ref = _fraction_budget(tally, target, period, slices)
    assert got == ref[:5]
    assert burn_rate(tally, target) == ref[5]
