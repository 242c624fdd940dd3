"""Windows: rolling, and calendar periods in IANA zones (DST-correct)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from slm.domain.model import CalendarUnit, CalendarWindow, RollingWindow
from slm.domain.windows import (
    calendar_period,
    period_bounds,
    period_end,
    period_length,
    window_bounds,
    window_label,
)

H = timedelta(hours=1)
D = timedelta(days=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str, zone: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def cal(unit: CalendarUnit, zone: str, start: str = "2026-01-01", count: int = 1) -> CalendarWindow:
    return CalendarWindow(unit, count, local(start, zone), zone)


def test_rolling_window_is_the_last_duration_before_at_floored_to_the_grid() -> None:
    window = RollingWindow(timedelta(days=30))
    start, end = window_bounds(window, utc("2026-03-31T12:34:56"))
    assert end == utc("2026-03-31T12:34")
    assert start == end - timedelta(days=30)
    assert period_length(window, end) == timedelta(days=30)


def test_the_grid_follows_the_step() -> None:
    window = RollingWindow(timedelta(hours=6))
    _, end = window_bounds(window, utc("2026-03-31T12:34:56"), step=timedelta(minutes=5))
    assert end == utc("2026-03-31T12:30")


CALENDAR_CASES = [
    # id, window, at, expected period start, expected period length
    pytest.param(
        cal("month", "Europe/Berlin"),
        local("2026-03-15T12:00", "Europe/Berlin"),
        utc("2026-02-28T23:00"),
        31 * D - H,
        id="berlin-march-loses-an-hour",
    ),
    pytest.param(
        cal("month", "Europe/Berlin"),
        local("2026-10-31T23:59", "Europe/Berlin"),
        utc("2026-09-30T22:00"),
        31 * D + H,
        id="berlin-october-gains-an-hour",
    ),
    pytest.param(
        cal("month", "Europe/Berlin"),
        local("2026-02-10", "Europe/Berlin"),
        utc("2026-01-31T23:00"),
        28 * D,
        id="berlin-february-no-change",
    ),
    pytest.param(
        cal("day", "Europe/Berlin"),
        local("2026-03-29T12:00", "Europe/Berlin"),
        utc("2026-03-28T23:00"),
        23 * H,
        id="berlin-spring-day-23h",
    ),
    pytest.param(
        cal("day", "Europe/Berlin"),
        local("2026-10-25T12:00", "Europe/Berlin"),
        utc("2026-10-24T22:00"),
        25 * H,
        id="berlin-autumn-day-25h",
    ),
    pytest.param(
        cal("day", "America/New_York"),
        local("2026-03-08T12:00", "America/New_York"),
        utc("2026-03-08T05:00"),
        23 * H,
        id="new-york-spring-day-23h",
    ),
    pytest.param(
        cal("day", "America/New_York"),
        local("2026-11-01T12:00", "America/New_York"),
        utc("2026-11-01T04:00"),
        25 * H,
        id="new-york-autumn-day-25h",
    ),
    pytest.param(
        cal("month", "America/New_York"),
        local("2026-03-20", "America/New_York"),
        utc("2026-03-01T05:00"),
        31 * D - H,
        id="new-york-march",
    ),
    pytest.param(
        cal("day", "Australia/Lord_Howe"),
        local("2026-04-05T12:00", "Australia/Lord_Howe"),
        utc("2026-04-04T13:00"),
        D + 30 * timedelta(minutes=1),
        id="lord-howe-autumn-24h30",
    ),
    pytest.param(
        cal("day", "Australia/Lord_Howe"),
        local("2026-10-04T12:00", "Australia/Lord_Howe"),
        utc("2026-10-03T13:30"),
        D - 30 * timedelta(minutes=1),
        id="lord-howe-spring-23h30",
    ),
    pytest.param(
        cal("month", "Australia/Lord_Howe"),
        local("2026-04-20", "Australia/Lord_Howe"),
        utc("2026-03-31T13:00"),
        30 * D + timedelta(minutes=30),
        id="lord-howe-april",
    ),
    pytest.param(
        cal("day", "Asia/Kolkata"),
        local("2026-03-29T12:00", "Asia/Kolkata"),
        utc("2026-03-28T18:30"),
        D,
        id="kolkata-day-starts-1830-utc",
    ),
    pytest.param(
        cal("month", "Asia/Kolkata"),
        local("2026-03-29T12:00", "Asia/Kolkata"),
        utc("2026-02-28T18:30"),
        31 * D,
        id="kolkata-month-no-dst",
    ),
    pytest.param(
        cal("week", "Europe/Berlin", start="2026-01-05"),
        local("2026-03-26T09:00", "Europe/Berlin"),
        utc("2026-03-22T23:00"),
        7 * D - H,
        id="week-monday-aligned-across-dst",
    ),
    pytest.param(
        cal("week", "UTC", start="2026-01-05", count=2),
        utc("2026-01-20T09:00"),
        utc("2026-01-19T00:00"),
        14 * D,
        id="two-weeks-aligned-to-start",
    ),
    pytest.param(
        cal("quarter", "Europe/Berlin"),
        local("2026-05-10", "Europe/Berlin"),
        utc("2026-03-31T22:00"),
        91 * D,
        id="quarter-q2",
    ),
    pytest.param(
        cal("quarter", "Europe/Berlin"),
        local("2026-02-10", "Europe/Berlin"),
        utc("2025-12-31T23:00"),
        90 * D - H,
        id="quarter-q1-loses-an-hour",
    ),
    pytest.param(
        cal("quarter", "UTC", start="2026-02-01"),
        utc("2026-04-30T23:59"),
        utc("2026-02-01T00:00"),
        89 * D,
        id="quarter-aligned-to-february",
    ),
    pytest.param(
        cal("year", "Europe/Berlin"),
        local("2026-06-10", "Europe/Berlin"),
        utc("2025-12-31T23:00"),
        365 * D,
        id="year-2026",
    ),
    pytest.param(
        cal("year", "UTC"),
        utc("2028-02-29T12:00"),
        utc("2028-01-01T00:00"),
        366 * D,
        id="leap-year",
    ),
    pytest.param(
        cal("month", "UTC"),
        utc("2025-11-15"),
        utc("2025-11-01T00:00"),
        30 * D,
        id="before-the-anchor",
    ),
    pytest.param(
        cal("month", "UTC"),
        utc("2026-04-01T00:00"),
        utc("2026-04-01T00:00"),
        30 * D,
        id="at-a-boundary-starts-the-new-period",
    ),
]


@pytest.mark.parametrize(("window", "at", "start", "length"), CALENDAR_CASES)
def test_calendar_period(
    window: CalendarWindow, at: datetime, start: datetime, length: timedelta
) -> None:
    assert calendar_period(window, at) == (start, start + length)
    assert period_length(window, at) == length
    assert period_end(window, at) == start + length
    bounds = window_bounds(window, at)
    assert bounds == (start, at.astimezone(UTC).replace(second=0, microsecond=0))
    assert period_bounds(window, at) == (start, start + length)


def test_month_anchor_on_the_31st_clamps_to_short_months() -> None:
    window = cal("month", "UTC", start="2026-01-31")
    assert calendar_period(window, utc("2026-03-05")) == (utc("2026-02-28"), utc("2026-03-31"))


def test_calendar_periods_tile_time_without_gaps() -> None:
    for zone in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"):
        window = cal("day", zone)
        at = utc("2026-01-01T12:00")
        for _ in range(400):
            start, end = calendar_period(window, at)
            assert start <= at < end
            nxt = calendar_period(window, end)
            assert nxt[0] == end
            at = end


def test_midnight_in_a_dst_gap_resolves() -> None:
    # America/Santiago springs forward at 24:00: 2026-09-06T00:00 does not exist locally.
    window = cal("day", "America/Santiago")
    start, end = calendar_period(window, utc("2026-09-06T12:00"))
    assert start < utc("2026-09-06T12:00") < end
    assert end - start == 23 * H


@pytest.mark.parametrize(
    ("window", "label"),
    [
        pytest.param(RollingWindow(timedelta(days=30)), "30d", id="rolling-30d"),
        pytest.param(RollingWindow(timedelta(days=28)), "28d", id="rolling-28d"),
        pytest.param(RollingWindow(timedelta(hours=36)), "1d12h", id="rolling-36h"),
        pytest.param(cal("month", "UTC"), "1month", id="month"),
        pytest.param(cal("quarter", "UTC"), "1quarter", id="quarter"),
        pytest.param(cal("week", "UTC", count=2), "2week", id="two-weeks"),
        pytest.param(cal("day", "UTC"), "1day", id="day"),
        pytest.param(cal("year", "UTC"), "1year", id="year"),
    ],
)
def test_window_label(window: RollingWindow | CalendarWindow, label: str) -> None:
    assert window_label(window) == label


def test_invalid_calendar_count() -> None:
    with pytest.raises(ValueError, match="count"):
        calendar_period(cal("month", "UTC", count=0), utc("2026-01-05"))


def test_calendar_hours_and_minutes_align_to_the_start_on_the_local_clock() -> None:
    """OpenSLO allows ``1h``/``15m`` calendar windows; they are counted from ``startTime``."""
    window = cal("hour", "America/New_York", start="2022-01-01T12:30", count=2)
    start, end = calendar_period(window, utc("2026-06-01T18:00"))
    assert (start, end) == (utc("2026-06-01T16:30"), utc("2026-06-01T18:30"))
    quarter = cal("minute", "UTC", start="2026-01-01T00:05", count=15)
    assert calendar_period(quarter, utc("2026-06-01T18:00")) == (
        utc("2026-06-01T17:50"),
        utc("2026-06-01T18:05"),
    )
    assert window_label(quarter) == "15minute"
