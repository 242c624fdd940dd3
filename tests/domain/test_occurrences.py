"""Occurrences: SLI, error budget in events and minutes, burn rates, time to exhaustion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import pytest

from slm.domain.budget import occurrences_budget
from slm.domain.burn import burn_rate, time_to_exhaustion
from slm.domain.evaluation import evaluate_objective
from slm.domain.model import (
    AlertCatalogue,
    AlertWindow,
    CalendarWindow,
    MissingData,
    RollingWindow,
)
from slm.domain.tally import Tally

from .helpers import MIN, T0, make_slo, ratio_indicator, series, threshold_indicator

TEN_MINUTES = RollingWindow(10 * MIN)
# one row: long 4m, short 2m; 40% of a 10m budget in 4m is a factor of 1
SMALL = AlertCatalogue("small", 10 * MIN, (AlertWindow("page", 4 * MIN, 2 * MIN, 40),))


@dataclass(frozen=True)
class Case:
    good: Sequence[float]
    total: Sequence[float]
    target: float
    sli: float | None
    budget_total: float
    consumed: float
    remaining_ratio: float | None
    burn_2m: float | None
    burn_4m: float | None
    present: list[bool] | None = None


CASES = [
    pytest.param(
        Case([99] * 10, [100] * 10, 0.99, 0.99, 10, 10, 0.0, 1.0, 1.0),
        id="burning-exactly-the-budget",
    ),
    pytest.param(
        Case([100] * 10, [100] * 10, 0.99, 1.0, 10, 0, 1.0, 0.0, 0.0),
        id="no-errors",
    ),
    pytest.param(
        Case([99] * 8 + [90] * 2, [100] * 10, 0.99, 0.972, 10, 28, -1.8, 10.0, 5.5),
        id="overspent-by-a-recent-burst",
    ),
    pytest.param(
        Case([0] * 10, [0] * 10, 0.99, None, 0, 0, None, None, None),
        id="no-events-is-no-data",
    ),
    pytest.param(
        Case([99] * 6 + [0] * 4, [100] * 6 + [0] * 4, 0.999, 0.99, 0.6, 6, -9.0, None, None),
        id="quiet-last-minutes-have-no-burn-rate",
    ),
    pytest.param(
        Case(
            [50] * 10,
            [100] * 10,
            0.9,
            0.5,
            90,
            450,
            -4.0,
            5.0,
            5.0,
            present=[True] * 8 + [False, True],
        ),
        id="gap-counts-no-events",
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_occurrences_formulas(case: Case) -> None:
    slo = make_slo(TEN_MINUTES, target=case.target)
    events = series(case.good, case.total, case.present)
    r = evaluate_objective(slo, slo.objectives[0], events, T0 + 10 * MIN, SMALL)
    b = r.error_budget
    assert r.sli == pytest.approx(case.sli)
    assert r.status == ("no_data" if case.sli is None else "ok")
    assert b.unit == "events"
    assert b.total == pytest.approx(case.budget_total)
    assert b.consumed == pytest.approx(case.consumed)
    assert b.remaining == pytest.approx(case.budget_total - case.consumed)
    assert b.remaining_ratio == pytest.approx(case.remaining_ratio)
    assert r.burn_rates["2m"] == pytest.approx(case.burn_2m)
    assert r.burn_rates["4m"] == pytest.approx(case.burn_4m)
    assert r.good + (r.total - r.good) == r.total


def test_budget_in_minutes_is_a_share_of_the_period() -> None:
    budget = occurrences_budget(Tally(990, 1000, 10, 10), 0.999, timedelta(days=30))
    assert budget.total_minutes == pytest.approx(43.2)  # 0.1% of 43200 minutes
    assert budget.total == pytest.approx(1.0)
    assert budget.consumed == 10
    assert budget.consumed_minutes == pytest.approx(432.0)  # 10x the budget
    assert budget.remaining_minutes == pytest.approx(43.2 - 432.0)


def test_no_events_leaves_minutes_unknown() -> None:
    budget = occurrences_budget(Tally(0, 0, 10, 0), 0.99, timedelta(days=30))
    assert budget.remaining_ratio is None
    assert budget.consumed_minutes is None
    assert budget.total_minutes == pytest.approx(432.0)


def test_calendar_budget_minutes_use_the_full_period() -> None:
    window = CalendarWindow("month", 1, T0, "UTC")
    slo = make_slo(window, target=0.99)
    events = series([99] * 60, [100] * 60)
    r = evaluate_objective(slo, slo.objectives[0], events, T0 + 60 * MIN, SMALL)
    assert r.error_budget.total_minutes == pytest.approx(0.01 * 31 * 24 * 60)
    assert r.window_start == T0
    assert r.burn_rates["1month"] == pytest.approx(1.0)


def test_incomplete_bucket_does_not_count() -> None:
    slo = make_slo(TEN_MINUTES)
    events = series([100] * 9 + [0], [100] * 10)
    r = evaluate_objective(
        slo, slo.objectives[0], events, T0 + 9 * MIN + timedelta(seconds=59), SMALL
    )
    assert (r.good, r.total) == (900, 900)
    assert r.window_end == T0 + 9 * MIN


def test_coverage_counts_expected_and_present_buckets() -> None:
    slo = make_slo(TEN_MINUTES)
    events = series([1] * 6, [1] * 6, [True, False, True, True, False, True], start=T0 + 4 * MIN)
    r = evaluate_objective(slo, slo.objectives[0], events, T0 + 10 * MIN, SMALL)
    assert (r.coverage.expected, r.coverage.present) == (10, 4)
    assert r.coverage.ratio == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("missing", "good", "total"),
    [
        pytest.param(MissingData.IGNORE, 3, 4, id="ignore-leaves-gaps-out"),
        pytest.param(MissingData.GOOD, 9, 10, id="good-counts-missing-points-good"),
        pytest.param(MissingData.BAD, 3, 10, id="bad-counts-missing-points-bad"),
    ],
)
def test_threshold_missing_data_points(missing: MissingData, good: float, total: float) -> None:
    slo = make_slo(TEN_MINUTES, indicator=threshold_indicator(missing))
    present = [True, False, True, False, True, False, True, False, False, False]
    events = series([1, 0, 1, 0, 0, 0, 1, 0, 0, 0], [1] * 10, present)
    r = evaluate_objective(slo, slo.objectives[0], events, T0 + 10 * MIN, SMALL)
    assert (r.good, r.total) == (good, total)
    assert r.coverage.present == 4


@pytest.mark.parametrize("missing", list(MissingData), ids=lambda m: m.value)
def test_ratio_occurrences_never_invent_events(missing: MissingData) -> None:
    slo = make_slo(TEN_MINUTES, indicator=ratio_indicator(missing))
    events = series([9] * 10, [10] * 10, [True] * 5 + [False] * 5)
    r = evaluate_objective(slo, slo.objectives[0], events, T0 + 10 * MIN, SMALL)
    assert (r.good, r.total) == (45, 50)
    assert r.coverage.present == 5


@pytest.mark.parametrize(
    ("good", "total", "target", "burn"),
    [
        pytest.param(999, 1000, 0.999, 1.0, id="error-ratio-equals-budget"),
        pytest.param(9856, 10000, 0.999, 14.4, id="page-factor"),
        pytest.param(1000, 1000, 0.999, 0.0, id="no-errors"),
        pytest.param(0, 1000, 0.5, 2.0, id="all-bad-half-target"),
        pytest.param(0, 0, 0.999, None, id="no-events"),
    ],
)
def test_burn_rate(good: float, total: float, target: float, burn: float | None) -> None:
    assert burn_rate(Tally(good, total, 1, 1), target) == pytest.approx(burn)


@pytest.mark.parametrize(
    ("remaining_ratio", "burn", "expected"),
    [
        pytest.param(0.5, 1.0, timedelta(days=15), id="half-left-at-burn-1"),
        pytest.param(1.0, 14.4, timedelta(days=30) / 14.4, id="full-at-page-rate"),
        pytest.param(0.5, 0.0, None, id="not-burning"),
        pytest.param(0.5, None, None, id="unknown-rate"),
        pytest.param(0.0, 2.0, timedelta(0), id="exhausted"),
        pytest.param(-0.3, 2.0, timedelta(0), id="overspent"),
        pytest.param(None, 2.0, None, id="no-budget"),
    ],
)
def test_time_to_exhaustion(
    remaining_ratio: float | None, burn: float | None, expected: timedelta | None
) -> None:
    assert time_to_exhaustion(remaining_ratio, timedelta(days=30), burn) == expected


def test_time_to_exhaustion_uses_the_shortest_long_window() -> None:
    slo = make_slo(TEN_MINUTES, target=0.9)
    # errors only in the last 4 minutes: 4m burn = 0.5 / 0.1 = 5
    events = series([100] * 6 + [50] * 4, [100] * 10)
    r = evaluate_objective(slo, slo.objectives[0], events, T0 + 10 * MIN, SMALL)
    remaining = r.error_budget.remaining_ratio
    assert remaining == pytest.approx((100 - 200) / 100)  # overspent
    assert r.time_to_exhaustion == timedelta(0)
    events = series([100] * 6 + [98] * 4, [100] * 10)
    r = evaluate_objective(slo, slo.objectives[0], events, T0 + 10 * MIN, SMALL)
    assert r.burn_rates["4m"] == pytest.approx(0.2)
    assert r.error_budget.remaining_ratio == pytest.approx(0.92)
    assert r.time_to_exhaustion == pytest.approx(
        10 * MIN * (0.92 / 0.2), abs=timedelta(milliseconds=1)
    )


@pytest.mark.parametrize("target", [0.0, 1.0, 1.5, -0.1], ids=lambda t: f"target-{t}")
def test_target_must_be_a_ratio(target: float) -> None:
    slo = make_slo(TEN_MINUTES, target=target)
    with pytest.raises(ValueError, match="target"):
        evaluate_objective(slo, slo.objectives[0], series([1], [1]), T0 + MIN, SMALL)
