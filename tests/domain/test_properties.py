"""Properties: window sums, budget identities, burn rate 1, prefix path = direct path."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from slm.domain.budget import occurrences_budget, slices_budget
from slm.domain.evaluation import evaluate_many, evaluate_objective
from slm.domain.model import (
    AlertCatalogue,
    AlertWindow,
    BudgetingMethod,
    MissingData,
    RollingWindow,
)
from slm.domain.series import EventSeries
from slm.domain.tally import Counting, PrefixSums, Tally, segment_counts

from .helpers import MIN, T0, make_slo, ratio_indicator, series, threshold_indicator
from .test_evaluation import assert_same

SMALL = AlertCatalogue(
    "small",
    timedelta(hours=1),
    (
        AlertWindow("page", 6 * MIN, 2 * MIN, 10),
        AlertWindow("ticket", 20 * MIN, 7 * MIN, 20),
    ),
)


@st.composite
def event_series(draw: st.DrawFn, min_size: int = 1, max_size: int = 120) -> EventSeries:
    n = draw(st.integers(min_size, max_size))
    total = draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n))
    frac = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    present = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    good = [int(t * f) for t, f in zip(total, frac, strict=True)]
    offset = draw(st.integers(-3, 3))
    return series(good, total, present, start=T0 + offset * MIN)


ranges = st.lists(
    st.tuples(st.integers(-20, 140), st.integers(0, 60)).map(lambda r: (r[0], r[0] + r[1])),
    min_size=1,
    max_size=8,
)


def brute_force(events: EventSeries, lo: int, hi: int) -> tuple[float, float, int]:
    good = total = 0.0
    present = 0
    for i in range(max(lo, 0), min(hi, len(events))):
        good += float(events.good[i])
        total += float(events.total[i])
        present += bool(events.present[i])
    return good, total, present


@given(event_series(), ranges)
def test_window_sums_equal_brute_force_sums(
    events: EventSeries, windows: list[tuple[int, int]]
) -> None:
    counting = Counting()
    direct = segment_counts(events, windows, counting)
    prefix = PrefixSums(events, counting).counts(windows)
    for (lo, hi), d, p in zip(windows, direct, prefix, strict=True):
        good, total, present = brute_force(events, lo, hi)
        assert (d.good, d.total, d.present, d.expected) == (good, total, present, hi - lo)
        assert (p.good, p.total, p.present, p.expected) == (good, total, present, hi - lo)


@given(st.floats(0, 1e9), st.floats(0, 1), st.floats(0.5, 0.99999), st.integers(1, 400))
def test_consumed_plus_remaining_is_the_budget(
    total: float, good_share: float, target: float, days: int
) -> None:
    tally = Tally(total * good_share, total, 1, 1)
    for budget in (
        occurrences_budget(tally, target, timedelta(days=days)),
        slices_budget(tally, target, timedelta(minutes=5)),
    ):
        assert budget.consumed + budget.remaining == pytest.approx(budget.total)
        if budget.consumed_minutes is not None and budget.remaining_minutes is not None:
            assert budget.total_minutes is not None
            assert budget.consumed_minutes + budget.remaining_minutes == pytest.approx(
                budget.total_minutes, abs=1e-6
            )


TARGETS = st.sampled_from([0.9, 0.95, 0.99, 0.995, 0.999, 0.9999])


@given(TARGETS, st.lists(st.integers(1, 10**6), min_size=60, max_size=60))
def test_burning_at_rate_one_consumes_exactly_the_budget(target: float, totals: list[int]) -> None:
    total = np.array(totals, dtype=float)
    good = total * target  # error ratio = 1 - target in every bucket
    slo = make_slo(RollingWindow(60 * MIN), target)
    r = evaluate_objective(slo, slo.objectives[0], series(good, total), T0 + 60 * MIN, SMALL)
    budget = r.error_budget
    assert budget.remaining == pytest.approx(0.0, abs=1e-9 * budget.total)
    assert budget.remaining_ratio == pytest.approx(0.0, abs=1e-9)
    assert budget.remaining_minutes == pytest.approx(0.0, abs=1e-9)
    assert budget.consumed_minutes == pytest.approx((1 - target) * 60)
    for rate in r.burn_rates.values():
        assert rate == pytest.approx(1.0)


@given(TARGETS, st.lists(st.integers(1, 10**6), min_size=60, max_size=60))
def test_ratio_timeslices_at_the_target_consume_exactly_the_budget(
    target: float, totals: list[int]
) -> None:
    total = np.array(totals, dtype=float)
    slo = make_slo(
        RollingWindow(60 * MIN),
        target,
        BudgetingMethod.RATIO_TIMESLICES,
        slice_window=5 * MIN,
    )
    r = evaluate_objective(
        slo, slo.objectives[0], series(total * target, total), T0 + 60 * MIN, SMALL
    )
    assert r.total == 12
    assert r.error_budget.remaining == pytest.approx(0.0, abs=1e-9)
    assert r.burn_rates["1h"] == pytest.approx(1.0)


METHODS = st.sampled_from(list(BudgetingMethod))
POLICIES = st.sampled_from(list(MissingData))


# fractional slice ratios, then slices without events: the prefix path's sums left a burn
# rate of 2.2e-15 on a budget of 0.9999999999999956, and time to exhaustion overflowed
NOISY_THEN_QUIET = series(
    [110, 490, 456, 759, 106, 1, 1, 2, 417, 1, 1, 0, 158, 449, 2, 1, 725, 22, 415, 12] + [0] * 24,
    [200, 740, 572, 979, 373, 2, 3, 3, 569, 15, 2, 0, 296, 572, 3, 3, 951, 50, 943, 59] + [0] * 24,
)


@settings(max_examples=60, deadline=None)
@example(
    events=NOISY_THEN_QUIET,
    method=BudgetingMethod.RATIO_TIMESLICES,
    missing=MissingData.IGNORE,
    threshold=False,
    window_minutes=23,
    slice_minutes=2,
    offsets=[42],
    target=0.9,
)
@given(
    event_series(min_size=30),
    METHODS,
    POLICIES,
    st.booleans(),
    st.integers(5, 90),
    st.sampled_from([1, 2, 3, 5]),
    st.lists(st.integers(-10, 140), min_size=1, max_size=6),
    TARGETS,
)
def test_prefix_path_equals_direct_path(
    events: EventSeries,
    method: BudgetingMethod,
    missing: MissingData,
    threshold: bool,
    window_minutes: int,
    slice_minutes: int,
    offsets: list[int],
    target: float,
) -> None:
    indicator = threshold_indicator(missing) if threshold else ratio_indicator(missing)
    if threshold:
        events = EventSeries(
            events.start,
            events.step,
            (events.good > 0).astype(float),
            events.present.astype(float),
            events.present,
        )
    slo = make_slo(
        RollingWindow(window_minutes * MIN),
        target,
        method,
        indicator,
        slice_window=slice_minutes * MIN,
        slice_target=0.9,
    )
    instants = [T0 + k * MIN + timedelta(seconds=17) for k in offsets]
    many = evaluate_many(slo, slo.objectives[0], events, instants, SMALL)
    for at, got in zip(instants, many, strict=True):
        assert_same(got, evaluate_objective(slo, slo.objectives[0], events, at, SMALL))


@settings(max_examples=60)
@given(event_series(min_size=10), POLICIES, st.sampled_from([1, 2, 4]))
def test_timeslices_equal_a_slice_by_slice_count(
    events: EventSeries, missing: MissingData, k: int
) -> None:
    slo = make_slo(
        RollingWindow(8 * MIN),
        0.9,
        BudgetingMethod.TIMESLICES,
        ratio_indicator(missing),
        slice_window=k * MIN,
        slice_target=0.7,
    )
    end = events.start + len(events) * MIN
    r = evaluate_objective(slo, slo.objectives[0], events, end, SMALL)
    assert r.window_end is not None
    good = total = 0.0
    t = r.window_end - 8 * MIN
    while t < r.window_end:
        lo = (t - events.start) // MIN
        idx = [i for i in range(lo, lo + k) if 0 <= i < len(events)]
        seen = [i for i in idx if events.present[i]]
        if seen:
            g = sum(float(events.good[i]) for i in seen)
            n = sum(float(events.total[i]) for i in seen)
            total += 1
            good += (g / n if n else 1.0) >= 0.7
        elif missing is not MissingData.IGNORE:
            total += 1
            good += missing is MissingData.GOOD
        t += k * MIN
    assert (r.good, r.total) == (good, total)
