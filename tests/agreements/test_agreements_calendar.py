"""Periods in the agreement's zone (DST included), business hours and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from slm.domain.agreement import Agreement, Money, Term
from slm.domain.business_calendar import BusinessCalendar, check_holiday_region, parse_hour_range
from slm.services.errors import PeriodError
from slm.services.statements import parse_period, previous

H = timedelta(hours=1)


def _agreement(zone: str, period: str = "month") -> Agreement:
    return Agreement(
        name="a",
        type="SLA",
        provider="p",
        customer="c",
        services=("s",),
        term=Term(date(2020, 1, 1)),
        time_zone=zone,
        period=period,  # type: ignore[arg-type]
        fee=Money(Decimal("100.00"), "EUR"),
        owner="o",
        budget_owner="b",
        clauses=(),
    )


@pytest.mark.parametrize(
    ("zone", "label", "start_utc", "length"),
    [
        pytest.param("Europe/Berlin", "2026-03", datetime(2026, 2, 28, 23), 31 * 24 * H - H,
                     id="berlin-march-loses-an-hour"),
        pytest.param("Europe/Berlin", "2026-10", datetime(2026, 9, 30, 22), 31 * 24 * H + H,
                     id="berlin-october-gains-an-hour"),
        pytest.param("America/New_York", "2026-11", datetime(2026, 11, 1, 4), 30 * 24 * H + H,
                     id="new-york-november"),
        pytest.param("America/New_York", "2026-03", datetime(2026, 3, 1, 5), 31 * 24 * H - H,
                     id="new-york-march"),
        pytest.param("Australia/Sydney", "2026-04", datetime(2026, 3, 31, 13), 30 * 24 * H + H,
                     id="sydney-april-dst-ends"),
        pytest.param("Australia/Lord_Howe", "2026-10", datetime(2026, 9, 30, 13, 30),
                     31 * 24 * H - H / 2, id="lord-howe-half-hour"),
        pytest.param("UTC", "2026-02", datetime(2026, 2, 1), 28 * 24 * H, id="utc-february"),
        pytest.param("Asia/Kathmandu", "2026-01", datetime(2025, 12, 31, 18, 15), 31 * 24 * H,
                     id="kathmandu-quarter-hour-offset"),
    ],
)  # fmt: skip
def test_a_month_is_the_local_month(
    zone: str, label: str, start_utc: datetime, length: timedelta
) -> None:
    p = parse_period(_agreement(zone), label)
    assert p.start == start_utc.replace(tzinfo=UTC)
    assert p.end - p.start == length
    assert p.minutes == length // timedelta(minutes=1)
    assert p.label == label


def test_a_quarter_period_and_its_predecessors() -> None:
    ag = _agreement("Europe/Berlin", "quarter")
    q4 = parse_period(ag, "2026-Q4")
    assert (q4.start, q4.end) == (
        datetime(2026, 9, 30, 22, tzinfo=UTC),
        datetime(2026, 12, 31, 23, tzinfo=UTC),
    )
    assert [p.label for p in previous(ag, q4, 3)] == ["2026-Q1", "2026-Q2", "2026-Q3"]


@pytest.mark.parametrize(
    ("period", "label"),
    [("month", "2026-Q4"), ("quarter", "2026-10"), ("month", "2026-13"), ("month", "Oct")],
)
def test_a_period_label_must_fit_the_agreement(period: str, label: str) -> None:
    with pytest.raises(PeriodError, match="measured per"):
        parse_period(_agreement("UTC", period), label)


def _calendar(
    zone: str, country: str | None, sub: str | None = None, **kw: object
) -> BusinessCalendar:
    nine_to_five = ((parse_hour_range("09:00-17:00"),),) * 5 + ((), ())
    return BusinessCalendar("c", zone, nine_to_five, country, sub, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("country", "sub", "day", "name"),
    [
        pytest.param("DE", "BE", date(2026, 3, 8), "Women's Day", id="berlin-womens-day"),
        pytest.param("DE", "BY", date(2026, 1, 6), "Epiphany", id="bavaria-epiphany"),
        pytest.param("GB", "SCT", date(2026, 11, 30), "Andrew", id="scotland-st-andrew"),
        pytest.param("US", None, date(2026, 7, 3), "Independence Day", id="us-observed-july-4"),
        pytest.param("JP", None, date(2026, 11, 3), "", id="japan-culture-day"),
        pytest.param("FR", None, date(2026, 7, 14), "", id="france-bastille-day"),
    ],
)
def test_holidays_by_jurisdiction(country: str, sub: str | None, day: date, name: str) -> None:
    cal = _calendar("UTC", country, sub)
    found = cal.holidays(date(2026, 1, 1), date(2026, 12, 31))
    assert day in found and name in found[day]


def test_a_holiday_of_one_subdivision_is_a_business_day_elsewhere() -> None:
    berlin = _calendar("Europe/Berlin", "DE", "BE")
    bavaria = _calendar("Europe/Berlin", "DE", "BY")
    sunday_start = datetime(2026, 3, 8, tzinfo=UTC)  # 8 March 2026 is a Sunday...
    assert berlin.business_spans(sunday_start, sunday_start + 24 * H) == []
    monday = datetime(2026, 1, 6, tzinfo=UTC)  # ...and 6 January a Tuesday
    assert bavaria.business_spans(monday, monday + 24 * H) == []
    assert len(berlin.business_spans(monday, monday + 24 * H)) == 1


def test_extra_closed_dates_are_holidays() -> None:
    cal = _calendar("Europe/London", "GB", "ENG", extra_closed=((date(2026, 12, 24), "Eve"),))
    day = datetime(2026, 12, 24, tzinfo=UTC)
    assert cal.business_spans(day, day + 24 * H) == []
    assert cal.holidays(date(2026, 12, 24), date(2026, 12, 26)) == {
        date(2026, 12, 24): "Eve",
        date(2026, 12, 25): "Christmas Day",
        date(2026, 12, 26): "Boxing Day",
    }


def test_business_hours_keep_local_time_across_dst() -> None:
    cal = _calendar("Europe/Berlin", None)
    # Friday 27 March (CET, UTC+1) and Monday 30 March (CEST, UTC+2) 2026
    spans = cal.business_spans(datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))
    assert spans == [
        (datetime(2026, 3, 27, 8, tzinfo=UTC), datetime(2026, 3, 27, 16, tzinfo=UTC)),
        (datetime(2026, 3, 30, 7, tzinfo=UTC), datetime(2026, 3, 30, 15, tzinfo=UTC)),
    ]


def test_business_spans_are_clipped_to_the_range() -> None:
    cal = _calendar("UTC", None)
    start = datetime(2026, 10, 5, 12, tzinfo=UTC)  # a Monday
    assert cal.business_spans(start, start + 2 * H) == [(start, start + 2 * H)]


@pytest.mark.parametrize(
    ("country", "sub", "field", "part"),
    [
        ("XX", None, "country", "unknown holiday country 'XX'"),
        ("DE", "ZZ", "subdivision", "has no subdivision 'ZZ'"),
    ],
)
def test_unknown_holiday_regions(country: str, sub: str | None, field: str, part: str) -> None:
    problem = check_holiday_region(country, sub)
    assert problem is not None and problem[0] == field and part in problem[1]
    assert check_holiday_region("DE", "BE") is None


@pytest.mark.parametrize("text", ["9-17", "09:00", "17:00-09:00", "09:00-25:00", "09:60-10:00"])
def test_bad_hour_ranges(text: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        parse_hour_range(text)


def test_24_00_ends_a_day() -> None:
    assert parse_hour_range("00:00-24:00") == (0, 1440)
