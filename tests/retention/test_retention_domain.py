"""The pure parts of retention: lengths, cutoffs, selectors and reads across resolutions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from slm.domain.retention import (
    Keep,
    RetentionPolicy,
    Selector,
    Step,
    Tier,
    merge_rollups,
    plan,
)

T = datetime(2026, 3, 31, 12, 34, 56, tzinfo=UTC)
MIN, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


@pytest.mark.parametrize(
    ("keep", "expected"),
    [
        pytest.param(Keep(duration=35 * DAY), datetime(2026, 2, 24, 12, 34, 56), id="days"),
        pytest.param(Keep(months=1), datetime(2026, 2, 28, 12, 34, 56), id="month-end-clamped"),
        pytest.param(Keep(months=84), datetime(2019, 3, 31, 12, 34, 56), id="seven-years"),
        pytest.param(Keep(months=13), datetime(2025, 2, 28, 12, 34, 56), id="across-a-year"),
    ],
)
def test_keep_counts_back_from_an_instant(keep: Keep, expected: datetime) -> None:
    assert keep.before(T) == expected.replace(tzinfo=UTC)


def test_plan_floors_each_cutoff_to_the_next_tier() -> None:
    policy = RetentionPolicy(
        "p",
        (
            Tier(MIN, Keep(duration=35 * DAY)),
            Tier(HOUR, Keep(duration=400 * DAY)),
            Tier(DAY, Keep(months=84)),
        ),
    )
    day = 86400
    t35 = int((T - 35 * DAY).timestamp())
    t400 = int((T - 400 * DAY).timestamp())
    t7y = int(datetime(2019, 3, 31, 12, 34, 56, tzinfo=UTC).timestamp())
    assert plan(policy, T) == [
        Step(source=0, span=60, target=3600, before=t35 - t35 % 3600),
        Step(source=3600, span=3600, target=day, before=t400 - t400 % day),
        Step(source=day, span=day, target=None, before=t7y - t7y % day),
    ]


@pytest.mark.parametrize(
    ("selector", "series", "selected"),
    [
        pytest.param(Selector(), "anything", True, id="empty-selects-all"),
        pytest.param(Selector(series=("pay*",)), "payments_total", True, id="glob"),
        pytest.param(Selector(series=("pay*",)), "checkout_total", False, id="glob-miss"),
        pytest.param(Selector(services=("checkout",)), "checkout_total", True, id="service"),
        pytest.param(Selector(services=("checkout",)), "payments_total", False, id="other-svc"),
        pytest.param(
            Selector(("checkout",), ("pay*",)), "payments_total", True, id="service-or-glob"
        ),
    ],
)
def test_selectors(selector: Selector, series: str, selected: bool) -> None:
    services = {"checkout_total": frozenset({"checkout"})}
    assert selector.matches(series, services) is selected


S0 = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp())


def _merge(
    fine: list[tuple[int, float]], sealed: list[tuple[int, int, float]], start: int, n: int
) -> tuple[list[float], list[bool], list[tuple[int, int, int]]]:
    out = merge_rollups(
        np.array([S0 + 60 * m for m, _ in fine], dtype=np.int64),
        np.array([v for _, v in fine], dtype=np.float64),
        np.array([r for r, _, _ in sealed], dtype=np.int64),
        np.array([S0 + 60 * m for _, m, _ in sealed], dtype=np.int64),
        np.array([v for _, _, v in sealed], dtype=np.float64),
        datetime.fromtimestamp(S0 + 60 * start, UTC),
        datetime.fromtimestamp(S0 + 60 * (start + n), UTC),
        MIN,
    )
    spans = [
        (
            int((s.start.timestamp() - S0) // 60),
            int((s.end.timestamp() - S0) // 60),
            int(s.resolution.total_seconds()),
        )
        for s in out.rollups
    ]
    return out.values.tolist(), out.present.tolist(), spans


def test_fine_rows_are_used_where_nothing_is_sealed() -> None:
    values, present, spans = _merge([(0, 1), (2, 3)], [(300, 10, 9)], 0, 4)
    assert (values, present, spans) == ([1, 0, 3, 0], [True, False, True, False], [])


def test_a_sealed_roll_up_replaces_what_is_left_of_its_fine_rows() -> None:
    # 5-minute roll-up of minutes 0-4 is sealed (sum 15); minute 3 survived (a hold).
    values, present, spans = _merge([(3, 4), (5, 6)], [(300, 0, 15)], 0, 6)
    assert values == [15, 0, 0, 0, 0, 6]
    assert present == [True] * 6
    assert spans == [(0, 5, 300)]


def test_the_coarsest_sealed_roll_up_wins() -> None:
    sealed = [(300, 0, 15), (300, 5, 20), (600, 0, 40)]
    values, _, spans = _merge([(7, 1)], sealed, 0, 10)
    assert sum(values) == 40
    assert spans == [(0, 10, 600)]


def test_a_roll_up_starting_before_the_range_is_left_out() -> None:
    values, present, spans = _merge([], [(300, 0, 15)], 2, 3)
    assert (values, present, spans) == ([0, 0, 0], [False] * 3, [])
