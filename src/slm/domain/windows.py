"""SLO windows as UTC instants: rolling ``[at - duration, at)`` or calendar period to date.

``at`` is first floored to the bucket grid (``floor_to_step``): the bucket that contains
``at`` is incomplete and does not count. A calendar window is the period of ``count``
``unit``s that contains ``at``, aligned to ``start`` in the IANA zone ``time_zone``, with
local wall-clock arithmetic so DST is honoured: a local day across a DST change lasts 23
or 25 hours (23.5/24.5 in Australia/Lord_Howe), a month is the local month. Minutes and
hours (OpenSLO allows ``1h`` calendar windows) are counted on the same local clock. A period
boundary that falls in a DST gap resolves with ``fold=0`` (the pre-transition offset).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from slm.domain.durations import format_duration
from slm.domain.model import CalendarWindow, RollingWindow, Window
from slm.domain.series import DEFAULT_STEP, floor_to_step

_FIXED_UNIT = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(days=7),
}
_MONTHS_PER_UNIT = {"month": 1, "quarter": 3, "year": 12}


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local_start(window: CalendarWindow) -> datetime:
    """The window's anchor as naive local wall time in ``window.time_zone``."""
    zone = _zone(window.time_zone)
    if window.start.tzinfo is None:
        return window.start
    return window.start.astimezone(zone).replace(tzinfo=None)


def _add_months(wall: datetime, months: int) -> datetime:
    index = wall.year * 12 + (wall.month - 1) + months
    year, month0 = divmod(index, 12)
    day = min(wall.day, _days_in_month(year, month0 + 1))
    return wall.replace(year=year, month=month0 + 1, day=day)


def _days_in_month(year: int, month: int) -> int:
    nxt = datetime(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def _boundary(window: CalendarWindow, anchor: datetime, k: int) -> datetime:
    """Start of period ``k`` (0 = the one starting at the anchor) as a UTC instant."""
    if window.unit in _FIXED_UNIT:
        wall = anchor + k * window.count * _FIXED_UNIT[window.unit]
    else:
        wall = _add_months(anchor, k * window.count * _MONTHS_PER_UNIT[window.unit])
    return wall.replace(tzinfo=_zone(window.time_zone), fold=0).astimezone(UTC)


def _estimate_period(window: CalendarWindow, anchor: datetime, at: datetime) -> int:
    local_at = at.astimezone(_zone(window.time_zone)).replace(tzinfo=None)
    if window.unit in _FIXED_UNIT:
        return (local_at - anchor) // (window.count * _FIXED_UNIT[window.unit])
    months = (local_at.year - anchor.year) * 12 + (local_at.month - anchor.month)
    return months // (window.count * _MONTHS_PER_UNIT[window.unit])


@lru_cache(maxsize=4096)
def calendar_period(window: CalendarWindow, at: datetime) -> tuple[datetime, datetime]:
    """``(start, end)`` in UTC of the calendar period that contains the instant ``at``.

    Memoised: the SLOs of a workspace share a few calendar windows and are evaluated at
    the same instants (zone arithmetic costs more than the rest of an evaluation's plan)."""
    if window.count < 1:
        raise ValueError(f"calendar window count must be >= 1, got {window.count}")
    if window.unit not in _FIXED_UNIT and window.unit not in _MONTHS_PER_UNIT:
        raise ValueError(f"unknown calendar unit {window.unit!r}")
    anchor = _local_start(window)
    k = _estimate_period(window, anchor, at)
    while _boundary(window, anchor, k) > at:
        k -= 1
    while _boundary(window, anchor, k + 1) <= at:
        k += 1
    return _boundary(window, anchor, k), _boundary(window, anchor, k + 1)


def evaluation_end(at: datetime, step: timedelta = DEFAULT_STEP) -> datetime:
    """``at`` floored to the bucket grid: the end (exclusive) of what can be evaluated."""
    return floor_to_step(at, step)


def window_bounds(
    window: Window, at: datetime, step: timedelta = DEFAULT_STEP
) -> tuple[datetime, datetime]:
    """``(start, end)`` in UTC of what the window covers at ``at``.

    Rolling: ``[end - duration, end)``; calendar: ``[period_start, end)`` (period to date),
    where ``end`` is ``at`` floored to the grid of ``step``.
    """
    end = evaluation_end(at, step)
    if isinstance(window, RollingWindow):
        return end - window.duration, end
    return calendar_period(window, end)[0], end


def period_bounds(
    window: Window, at: datetime, step: timedelta = DEFAULT_STEP
) -> tuple[datetime, datetime]:
    """The full period: ``[end - duration, end)`` when rolling, the calendar period else."""
    end = evaluation_end(at, step)
    if isinstance(window, RollingWindow):
        return end - window.duration, end
    return calendar_period(window, end)


def period_end(window: Window, at: datetime, step: timedelta = DEFAULT_STEP) -> datetime:
    return period_bounds(window, at, step)[1]


def period_length(window: Window, at: datetime, step: timedelta = DEFAULT_STEP) -> timedelta:
    """Length of the full period: the duration when rolling, else the calendar period's
    real length (a Berlin March is 31 days minus one hour). Budget minutes and burn
    factors use this."""
    if isinstance(window, RollingWindow):
        return window.duration
    start, end = period_bounds(window, at, step)
    return end - start


def window_label(window: Window) -> str:
    """Key of the SLO window in ``burn_rates``: ``30d`` (rolling), ``1month``, ``2week``."""
    if isinstance(window, RollingWindow):
        return format_duration(window.duration)
    return f"{window.count}{window.unit}"
