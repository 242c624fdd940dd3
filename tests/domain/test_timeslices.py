"""Timeslices and RatioTimeslices: complete slices aligned to the epoch grid."""

from __future__ import annotations

from datetime import timedelta

import pytest

from slm.domain.evaluation import evaluate_objective
from slm.domain.model import (
    AlertCatalogue,
    AlertWindow,
    BudgetingMethod,
    MissingData,
    RollingWindow,
)
from slm.domain.results import ObjectiveResult
from slm.domain.series import EventSeries

from .helpers import MIN, T0, make_slo, ratio_indicator, series, threshold_indicator

TS = BudgetingMethod.TIMESLICES
RTS = BudgetingMethod.RATIO_TIMESLICES
SMALL = AlertCatalogue("small", 10 * MIN, (AlertWindow("page", 4 * MIN, 2 * MIN, 40),))

# Five 2-minute slices: ratio 1, 0.75, present with 0 events (1), missing, 0.85.
FIVE_SLICES = series(
    good=[10, 10, 5, 10, 0, 0, 0, 0, 9, 8],
    total=[10, 10, 10, 10, 0, 0, 0, 0, 10, 10],
    present=[True, True, True, True, True, True, False, False, True, True],
)


def evaluate(
    method: BudgetingMethod,
    events: EventSeries,
    missing: MissingData = MissingData.IGNORE,
    at_minutes: float = 10,
    slice_minutes: int = 2,
    target: float = 0.5,
    threshold: bool = False,
) -> ObjectiveResult:
    indicator = threshold_indicator(missing) if threshold else ratio_indicator(missing)
    slo = make_slo(
        RollingWindow(10 * MIN),
        target,
        method,
        indicator,
        slice_window=slice_minutes * MIN,
        slice_target=0.8 if method is TS else None,
    )
    at = T0 + timedelta(minutes=at_minutes)
    return evaluate_objective(slo, slo.objectives[0], events, at, SMALL)


@pytest.mark.parametrize(
    ("method", "missing", "good", "total"),
    [
        pytest.param(TS, MissingData.IGNORE, 3, 4, id="timeslices-ignore-drops-missing-slice"),
        pytest.param(TS, MissingData.GOOD, 4, 5, id="timeslices-missing-slice-good"),
        pytest.param(TS, MissingData.BAD, 3, 5, id="timeslices-missing-slice-bad"),
        pytest.param(RTS, MissingData.IGNORE, 3.6, 4, id="ratio-timeslices-ignore"),
        pytest.param(RTS, MissingData.GOOD, 4.6, 5, id="ratio-timeslices-missing-good"),
        pytest.param(RTS, MissingData.BAD, 3.6, 5, id="ratio-timeslices-missing-bad"),
    ],
)
def test_slice_counts(
    method: BudgetingMethod, missing: MissingData, good: float, total: float
) -> None:
    r = evaluate(method, FIVE_SLICES, missing)
    assert r.good == pytest.approx(good)
    assert r.total == total
    assert r.sli == pytest.approx(good / total)
    b = r.error_budget
    assert b.unit == "slices"
    assert b.total == pytest.approx(0.5 * total)
    assert b.consumed == pytest.approx(total - good)
    assert b.remaining == pytest.approx(0.5 * total - (total - good))
    assert b.total_minutes == pytest.approx(2 * 0.5 * total)
    assert b.consumed_minutes == pytest.approx(2 * (total - good))
    assert (r.coverage.expected, r.coverage.present) == (10, 8)


def test_only_complete_slices_count() -> None:
    r = evaluate(TS, FIVE_SLICES, at_minutes=9.5)
    assert r.window_end == T0 + 8 * MIN
    assert r.window_start == T0 - 2 * MIN  # the rolling 10m ending at the last boundary
    assert (r.good, r.total) == (2, 3)  # slices 1-3; slice 4 missing; slice 5 incomplete


def test_slices_align_to_the_epoch_grid_not_the_series_start() -> None:
    events = series([1] * 9, [1] * 9, start=T0 + MIN)  # first complete slice at T0+2m
    r = evaluate(TS, events, at_minutes=10)
    assert r.total == 4
    assert r.coverage.present == 8  # bucket at T0+1m is outside every complete slice


def test_present_slice_without_events_is_good() -> None:
    events = series([0] * 4, [0] * 4, start=T0 + 6 * MIN)
    r = evaluate(TS, events)
    assert (r.good, r.total) == (2, 2)


@pytest.mark.parametrize(
    ("missing", "good", "total"),
    [
        pytest.param(MissingData.IGNORE, 1 / 2, 1, id="ignore-missing-point"),
        # the two slices before the series are missing points too: all good / all bad
        pytest.param(MissingData.GOOD, 2 + 2 / 3, 3, id="missing-point-good"),
        pytest.param(MissingData.BAD, 1 / 3, 3, id="missing-point-bad"),
    ],
)
def test_threshold_slice_ratio_is_the_share_of_points_meeting_it(
    missing: MissingData, good: float, total: float
) -> None:
    events = series([1, 0, 0], [1, 1, 0], [True, True, False], start=T0 + 6 * MIN)
    r = evaluate(RTS, events, missing, at_minutes=9, slice_minutes=3, threshold=True)
    assert r.total == total
    assert r.good == pytest.approx(good)


def test_burn_windows_are_the_last_slices() -> None:
    r = evaluate(TS, FIVE_SLICES, MissingData.BAD)
    assert r.burn_rates["2m"] == pytest.approx(0.0)  # slice 5 is good
    assert r.burn_rates["4m"] == pytest.approx(0.5 / 0.5)  # slices 4 (bad) and 5
    assert r.burn_rates["10m"] == pytest.approx((2 / 5) / 0.5)


def test_a_short_burn_window_still_covers_one_slice() -> None:
    r = evaluate(TS, FIVE_SLICES, MissingData.BAD, slice_minutes=5)
    # slices [0,5) ratio 45/50=0.9 good, [5,10) ratio 17/20=0.85 good
    assert r.burn_rates["2m"] == pytest.approx(0.0)
    assert r.total == 2


@pytest.mark.parametrize(
    ("slice_window", "slice_target", "method", "message"),
    [
        pytest.param(None, 0.9, TS, "time_slice_window", id="no-slice-window"),
        pytest.param(90 * timedelta(seconds=1), 0.9, TS, "multiple", id="not-a-step-multiple"),
        pytest.param(MIN, None, TS, "time_slice_target", id="timeslices-without-target"),
    ],
)
def test_invalid_slice_settings(
    slice_window: timedelta | None,
    slice_target: float | None,
    method: BudgetingMethod,
    message: str,
) -> None:
    slo = make_slo(
        RollingWindow(10 * MIN),
        0.9,
        method,
        slice_window=slice_window,
        slice_target=slice_target,
    )
    with pytest.raises(ValueError, match=message):
        evaluate_objective(slo, slo.objectives[0], FIVE_SLICES, T0 + 10 * MIN, SMALL)
