"""Reconciliation arithmetic: local days, daily sums, tolerance and statuses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from slm.domain.reconcile import (
    DaySide,
    compare_days,
    daily_sides,
    local_days,
    parse_tolerance,
)
from slm.domain.series import EventSeries


@pytest.mark.parametrize(
    ("text", "pp"),
    [("0.1%", 0.1), ("0.1pp", 0.1), ("0.25", 0.25), (" 1 % ", 1.0), (".5%", 0.5)],
)
def test_tolerances_are_percentage_points(text: str, pp: float) -> None:
    assert parse_tolerance(text) == pp


@pytest.mark.parametrize("text", ["", "abc", "-1%", "0.1 percent", "100%"])
def test_bad_tolerances_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="tolerance"):
        parse_tolerance(text)


def test_local_days_follow_dst() -> None:
    days = local_days(date(2026, 10, 24), date(2026, 10, 26), "Europe/Berlin")
    assert [d.end - d.start for d in days] == [
        timedelta(hours=24),
        timedelta(hours=25),  # clocks go back on 25 October 2026
        timedelta(hours=24),
    ]
    assert days[0].start == datetime(2026, 10, 23, 22, tzinfo=UTC)
    assert days[-1].end == datetime(2026, 10, 26, 23, tzinfo=UTC)


def test_daily_sides_sum_each_day() -> None:
    days = local_days(date(2026, 10, 1), date(2026, 10, 2), "UTC")
    n = 2 * 1440
    good = np.full(n, 9.0)
    total = np.full(n, 10.0)
    present = np.ones(n, dtype=bool)
    present[1440:1500] = False
    good[1440:1500] = total[1440:1500] = 0
    events = EventSeries(days[0].start, timedelta(minutes=1), good, total, present)
    first, second = daily_sides(events, days)
    assert first == DaySide(9 * 1440, 10 * 1440, 1440, 1440)
    assert second == DaySide(9 * 1380, 10 * 1380, 1380, 1440)
    assert second.sli == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("a", "b", "status", "diff"),
    [
        pytest.param((999, 1000), (998, 1000), "ok", 0.1, id="exactly-the-tolerance"),
        pytest.param((999, 1000), (997, 1000), "differs", 0.2, id="beyond"),
        pytest.param((999, 1000), (0, 0), "missing", None, id="one-side-empty"),
        pytest.param((0, 0), (0, 0), "no_data", None, id="both-empty"),
    ],
)
def test_days_compare_within_the_tolerance(
    a: tuple[int, int], b: tuple[int, int], status: str, diff: float | None
) -> None:
    days = local_days(date(2026, 10, 1), date(2026, 10, 1), "UTC")

    def side(good: int, total: int) -> DaySide:
        return DaySide(good, total, 1440 if total else 0, 1440)

    [result] = compare_days(days, [side(*a)], [side(*b)], 0.1)
    assert result.status == status
    assert result.difference_pp == (None if diff is None else pytest.approx(diff))
