"""Downtime of a service from the incidents recorded in the store (``slm incident downtime``).

The downtime is ``slm.domain.incident.downtime_by_service``: the union of the impact
intervals on the service of every incident (kind ``incident``), so overlaps within one
incident or across incidents count once, clipped to the period. An impact still open counts
until ``at`` (or the period end, if earlier): nothing after ``at`` is known yet.
Availability is 1 - downtime / the measured span (period start to ``until``).

An agreement clause measured from incidents (``outages:``, docs/agreements.md) counts the
same union per whole minute instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slm.domain.incident import Incident, downtime_by_service
from slm.domain.intervals import Span, clip, merge
from slm.services.errors import PeriodTextError
from slm.store.db import Store

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Window:
    label: str
    start: datetime  # UTC
    end: datetime  # UTC


def _local(year: int, month: int, day: int, zone: ZoneInfo) -> datetime:
    return datetime(year, month, day, tzinfo=zone).astimezone(UTC)


def parse_window(text: str, time_zone: str = "UTC") -> Window:
    """``2026-10`` (a month), ``2026-Q4`` (a quarter) or ``2026-10-14`` (a day), local in
    ``time_zone``; or ``START/END``, two RFC 3339 instants with offsets."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise PeriodTextError(
            f"--time-zone {time_zone!r}: not an IANA time zone (e.g. Europe/London)"
        ) from None
    s = text.strip()
    m, q = _MONTH.match(s), _QUARTER.match(s)
    try:
        if m and 1 <= int(m.group(2)) <= 12:
            y, mo = int(m.group(1)), int(m.group(2))
            ny, nm = (y + 1, 1) if mo == 12 else (y, mo + 1)
            return Window(s, _local(y, mo, 1, zone), _local(ny, nm, 1, zone))
        if q:
            y, first = int(q.group(1)), (int(q.group(2)) - 1) * 3 + 1
            ny, nm = (y + 1, 1) if first == 10 else (y, first + 3)
            return Window(s.upper(), _local(y, first, 1, zone), _local(ny, nm, 1, zone))
        if _DAY.match(s):
            d = date.fromisoformat(s)
            n = d + timedelta(days=1)
            return Window(
                s, _local(d.year, d.month, d.day, zone), _local(n.year, n.month, n.day, zone)
            )
        if "/" in s:
            a, b = (_instant(x) for x in s.split("/", 1))
            if b <= a:
                raise PeriodTextError(f"--period {text!r}: the end must be after the start")
            return Window(s, a, b)
    except ValueError:
        pass
    raise PeriodTextError(
        f"--period {text!r}: give a month (2026-10), a quarter (2026-Q4), a day (2026-10-14) "
        "or START/END instants (2026-10-01T00:00:00Z/2026-10-08T00:00:00Z)"
    )


def _instant(text: str) -> datetime:
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    value = datetime.fromisoformat(t)
    if value.tzinfo is None:
        raise ValueError("no offset")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Contribution:
    """One incident's impact intervals on the service, clipped to the measured span."""

    incident: Incident
    spans: tuple[Span, ...]
    open: bool  # an impact has no end yet


@dataclass(frozen=True)
class ServiceDowntime:
    service: str
    window: Window
    until: datetime  # the end of what is known: min(window end, at)
    downtime: timedelta
    spans: tuple[Span, ...]  # the merged union, clipped
    contributions: tuple[Contribution, ...]

    @property
    def measured(self) -> timedelta:
        return max(self.until - self.window.start, timedelta(0))

    @property
    def availability(self) -> Fraction | None:
        """1 - downtime / measured span (``None`` before the period started)."""
        span = self.measured
        if span <= timedelta(0):
            return None
        return 1 - Fraction(self.downtime // timedelta(microseconds=1)) / (
            span // timedelta(microseconds=1)
        )


def service_downtime(
    incidents: Sequence[Incident],
    service: str,
    window: Window,
    at: datetime,
    priorities: Sequence[str] = (),
) -> ServiceDowntime:
    """``service``'s downtime in ``window`` from ``incidents`` as known at ``at``."""
    until = min(window.end, max(at, window.start))
    counted = [
        i
        for i in incidents
        if i.kind == "incident" and (not priorities or i.priority in priorities)
    ]
    downtime = downtime_by_service(counted, (window.start, until)).get(service, timedelta(0))
    contributions = []
    for inc in counted:
        mine = [x for x in inc.impacts if x.service == service]
        spans = clip(merge(x.span(until) for x in mine), window.start, until)
        if spans:
            still = any(x.end is None for x in mine)
            contributions.append(Contribution(inc, tuple(spans), still))
    union = clip(merge(s for c in contributions for s in c.spans), window.start, until)
    return ServiceDowntime(service, window, until, downtime, tuple(union), tuple(contributions))


def store_downtime(
    store: Store,
    service: str,
    window: Window,
    at: datetime,
    priorities: Sequence[str] = (),
) -> ServiceDowntime:
    from slm.services.incidents import IncidentService

    return service_downtime(
        IncidentService(store).find(kind="incident"), service, window, at, priorities
    )
