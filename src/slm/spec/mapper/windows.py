"""OpenSLO time windows -> rolling or calendar ``Window`` (time zones, start times)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slm.domain.durations import parse_span
from slm.domain.model import CalendarUnit, CalendarWindow, RollingWindow, Window
from slm.spec.context import MapContext
from slm.spec.problems import SpecObject
from slm.spec.yamlio import FieldPath

_CAL_UNITS: dict[str, CalendarUnit] = {
    "m": "minute",
    "h": "hour",
    "d": "day",
    "w": "week",
    "M": "month",
    "Q": "quarter",
    "Y": "year",
}
_FIXED = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class CalendarSpec(Protocol):
    """The ``calendar`` of an OpenSLO time window (every version has these two fields)."""

    @property
    def start_time(self) -> str | datetime: ...
    @property
    def time_zone(self) -> str: ...


def _zone(obj: SpecObject, field: FieldPath, name: str, ctx: MapContext) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        ctx.problems.at(
            obj, field, f"unknown time zone {name!r} (use an IANA name, e.g. Europe/Berlin)"
        )
        return None


def _start(
    obj: SpecObject, field: FieldPath, value: str | datetime, zone: ZoneInfo, ctx: MapContext
) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            ctx.problems.at(
                obj, field, f"invalid startTime {value!r} (expected e.g. 2024-01-01 00:00:00)"
            )
            return None
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value.astimezone(zone)


def calendar_window(
    obj: SpecObject,
    field: FieldPath,
    unit: CalendarUnit,
    count: int,
    cal: CalendarSpec,
    ctx: MapContext,
) -> CalendarWindow | None:
    """A calendar window of ``count`` ``unit``s; the time zone and start time are checked."""
    zone = _zone(obj, (*field, "calendar", "timeZone"), cal.time_zone, ctx)
    if zone is None:
        return None
    start = _start(obj, (*field, "calendar", "startTime"), cal.start_time, zone, ctx)
    if start is None:
        return None
    return CalendarWindow(unit=unit, count=count, start=start, time_zone=cal.time_zone)


def map_window(
    obj: SpecObject,
    field: FieldPath,
    duration: str,
    is_rolling: bool | None,
    cal: CalendarSpec | None,
    ctx: MapContext,
) -> Window | None:
    """An OpenSLO ``timeWindow`` item (v1 and v2alpha) -> rolling or calendar window."""
    try:
        count, unit = parse_span(duration)
    except ValueError as e:  # the models check it; this keeps the mapper safe on its own
        ctx.problems.at(obj, (*field, "duration"), str(e))
        return None
    if cal is not None:
        if is_rolling:
            ctx.problems.at(obj, (*field, "isRolling"), "a calendar window cannot be rolling")
            return None
        if unit not in _CAL_UNITS:
            ctx.problems.at(
                obj, (*field, "duration"), "calendar windows are counted in m, h, d, w, M, Q or Y"
            )
            return None
        return calendar_window(obj, field, _CAL_UNITS[unit], count, cal, ctx)
    if is_rolling is False:
        ctx.problems.at(
            obj, (*field, "calendar"), "required field missing (isRolling: false needs a calendar)"
        )
        return None
    if unit not in _FIXED:
        ctx.problems.at(
            obj,
            (*field, "duration"),
            f"rolling windows need a fixed length: use m, h, d or w, not {duration!r}",
        )
        return None
    return RollingWindow(timedelta(seconds=count * _FIXED[unit]))


def one_window(
    obj: SpecObject, field: FieldPath, items: Sequence[Any] | None, ctx: MapContext
) -> Any | None:
    """The single item of an SLO's ``timeWindow`` list; else report it and ``None``."""
    if items is None:
        ctx.problems.at(obj, field, "required field missing")
        return None
    if len(items) != 1:
        ctx.problems.at(obj, field, "must have exactly one item")
        return None
    return items[0]


def openslo_window(obj: SpecObject, items: Sequence[Any] | None, ctx: MapContext) -> Window | None:
    """The window of an OpenSLO v1 or v2alpha SLO (``spec.timeWindow``, one item)."""
    tw = one_window(obj, ("spec", "timeWindow"), items, ctx)
    if tw is None:
        return None
    field = ("spec", "timeWindow", 0)
    return map_window(obj, field, tw.duration, tw.is_rolling, tw.calendar, ctx)


def window_length(window: Window) -> timedelta:
    """The shortest the window can be (calendar months count 28 days)."""
    if isinstance(window, RollingWindow):
        return window.duration
    if window.unit in ("minute", "hour"):
        return timedelta(seconds=window.count * _FIXED[window.unit[0]])
    days = {"day": 1, "week": 7, "month": 28, "quarter": 89, "year": 365}[window.unit]
    return timedelta(days=days * window.count)
