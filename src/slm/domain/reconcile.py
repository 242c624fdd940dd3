"""Reconciliation: two measurements of the same SLI compared day by day.

Days are local days of an IANA time zone (DST-correct: a local day may last 23 or 25
hours). Each side's daily SLI is good/total over the day's present buckets (for threshold
metrics: the share of good buckets). Two days agree when the absolute difference of their
SLIs, in percentage points, is at most the tolerance.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

from slm.domain.series import EventSeries

DayStatus = Literal["ok", "differs", "missing", "no_data"]
_EPSILON_PP = 1e-9  # float noise allowed when comparing with the tolerance
_TOLERANCE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(%|pp)?\s*$")


@dataclass(frozen=True)
class Day:
    day: date
    start: datetime  # UTC
    end: datetime  # UTC


@dataclass(frozen=True)
class DaySide:
    """One side of one day: events, and how many of the day's buckets had data."""

    good: float
    total: float
    present: int
    expected: int

    @property
    def sli(self) -> float | None:
        return self.good / self.total if self.present and self.total > 0 else None

    @property
    def coverage(self) -> float:
        return self.present / self.expected if self.expected else 0.0


@dataclass(frozen=True)
class DayComparison:
    day: Day
    a: DaySide
    b: DaySide
    difference_pp: float | None  # |sli_a - sli_b| * 100
    status: DayStatus


def parse_tolerance(text: str) -> float:
    """``0.1%``, ``0.1pp`` and ``0.1`` all mean 0.1 percentage points."""
    match = _TOLERANCE.match(text)
    if not match:
        raise ValueError(f"invalid tolerance {text!r}: give percentage points, e.g. 0.1% or 0.05pp")
    value = float(match.group(1))
    if value >= 100:
        raise ValueError(f"tolerance {text!r} must be less than 100 percentage points")
    return value


def local_days(first: date, last: date, time_zone: str) -> list[Day]:
    """The local days ``first`` .. ``last`` (inclusive) of ``time_zone`` as UTC ranges."""
    if last < first:
        raise ValueError(f"the last day {last} is before the first day {first}")
    zone = ZoneInfo(time_zone)

    def midnight(d: date) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=zone).astimezone(UTC)

    days = []
    d = first
    while d <= last:
        nxt = d + timedelta(days=1)
        days.append(Day(d, midnight(d), midnight(nxt)))
        d = nxt
    return days


def daily_sides(events: EventSeries, days: Sequence[Day]) -> list[DaySide]:
    """Events of each day, by prefix sums over the series (which must cover the days)."""
    zero = np.zeros(1)
    good = np.concatenate([zero, np.cumsum(events.good)])
    total = np.concatenate([zero, np.cumsum(events.total)])
    present = np.concatenate([[0], np.cumsum(events.present.astype(np.int64))])
    out = []
    for d in days:
        i, j = _index(events, d.start), _index(events, d.end)
        out.append(
            DaySide(
                good=float(good[j] - good[i]),
                total=float(total[j] - total[i]),
                present=int(present[j] - present[i]),
                expected=j - i,
            )
        )
    return out


def _index(events: EventSeries, t: datetime) -> int:
    offset = t - events.start
    if offset % events.step:
        raise ValueError(f"{t.isoformat()} is not on the {events.step} grid of the series")
    i = offset // events.step
    if not 0 <= i <= len(events):
        raise ValueError(f"{t.isoformat()} is outside the series")
    return int(i)


def compare_days(
    days: Sequence[Day], a: Sequence[DaySide], b: Sequence[DaySide], tolerance_pp: float
) -> list[DayComparison]:
    out = []
    for day, sa, sb in zip(days, a, b, strict=True):
        la, lb = sa.sli, sb.sli
        if la is None or lb is None:
            status: DayStatus = "no_data" if la is None and lb is None else "missing"
            out.append(DayComparison(day, sa, sb, None, status))
            continue
        diff = abs(la - lb) * 100.0
        status = "differs" if diff > tolerance_pp + _EPSILON_PP else "ok"
        out.append(DayComparison(day, sa, sb, diff, status))
    return out
