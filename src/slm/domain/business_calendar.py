"""Business calendars: business hours per weekday, public holidays and extra closed dates,
in an IANA time zone.

Holidays come from the ``holidays`` package (a pure library) by ISO 3166 country code and
subdivision. Business hours are local wall-clock ranges; they become UTC spans day by day,
so a business day across a DST change keeps its local hours. A local time that falls in a
DST gap resolves with ``fold=0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from slm.domain.intervals import Span
from slm.domain.model import Origin

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_MINUTES = 24 * 60

# (start, end) minutes after local midnight, end <= 1440 ("24:00")
HourRange = tuple[int, int]


@dataclass(frozen=True)
class BusinessCalendar:
    name: str
    time_zone: str
    hours: tuple[tuple[HourRange, ...], ...]  # 7 entries, Monday first
    country: str | None = None
    subdivision: str | None = None
    extra_closed: tuple[tuple[date, str], ...] = ()
    description: str = ""
    origin: Origin | None = None

    def holidays(self, first: date, last: date) -> dict[date, str]:
        """Closed dates in ``[first, last]`` with their names (public holidays and extras)."""
        out: dict[date, str] = {}
        if self.country:
            years = tuple(range(first.year, last.year + 1))
            for day, name in _public_holidays(self.country, self.subdivision, years).items():
                if first <= day <= last:
                    out[day] = name
        for day, name in self.extra_closed:
            if first <= day <= last:
                out[day] = name
        return out

    def business_spans(self, start: datetime, end: datetime) -> list[Span]:
        """The business-hour spans (UTC) within ``[start, end)``."""
        zone = ZoneInfo(self.time_zone)
        first = start.astimezone(zone).date() - timedelta(days=1)
        last = end.astimezone(zone).date() + timedelta(days=1)
        closed = self.holidays(first, last)
        spans: list[Span] = []
        day = first
        while day <= last:
            if day not in closed:
                for a, b in self.hours[day.weekday()]:
                    s, e = _utc(day, a, zone), _utc(day, b, zone)
                    s, e = max(s, start), min(e, end)
                    if e > s:
                        spans.append((s, e))
            day += timedelta(days=1)
        return spans


def _utc(day: date, minute: int, zone: ZoneInfo) -> datetime:
    wall = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


@lru_cache(maxsize=64)
def _public_holidays(
    country: str, subdivision: str | None, years: tuple[int, ...]
) -> dict[date, str]:
    table = holidays_lib.country_holidays(country, subdiv=subdivision, years=years)
    return {d: str(n) for d, n in table.items()}


def check_holiday_region(country: str, subdivision: str | None) -> tuple[str, str] | None:
    """``(field, message)`` if ``holidays`` does not know the country or subdivision."""
    try:
        holidays_lib.country_holidays(country, subdiv=subdivision, years=2000)
    except NotImplementedError:
        supported = holidays_lib.list_supported_countries()
        if country not in supported:
            return "country", (
                f"unknown holiday country {country!r} (use an ISO 3166-1 alpha-2 code, e.g. DE)"
            )
        subs = ", ".join(sorted(supported[country])) or "none"
        return "subdivision", (
            f"country {country!r} has no subdivision {subdivision!r} (known: {subs})"
        )
    return None


def parse_hour_range(text: str) -> HourRange:
    """``"08:00-18:00"`` -> (480, 1080); ``24:00`` is allowed as an end."""
    parts = text.replace(" ", "").split("-")
    if len(parts) != 2:
        raise ValueError(f"invalid hours {text!r} (expected HH:MM-HH:MM, e.g. 08:00-18:00)")
    a, b = (_minute(p, text) for p in parts)
    if b <= a:
        raise ValueError(f"invalid hours {text!r}: the end must be after the start")
    return a, b


def _minute(part: str, text: str) -> int:
    hh, sep, mm = part.partition(":")
    if not sep or not hh.isdigit() or not mm.isdigit() or len(mm) != 2:
        raise ValueError(f"invalid hours {text!r} (expected HH:MM-HH:MM, e.g. 08:00-18:00)")
    value = int(hh) * 60 + int(mm)
    if int(mm) > 59 or value > DAY_MINUTES:
        raise ValueError(f"invalid time {part!r} in {text!r}")
    return value
