"""Incident handling clocks, as ITSM SLA engines run them.

An incident is a timeline of events: ``open`` (with its priority), ``priority`` (a change),
``respond``, ``pause``, ``resume`` and ``resolve``. A clause's clock for a priority:

- starts when the incident was opened (``retroactive_start``, the default) or, without
  retroactive start, when the incident reached its final priority;
- stops at the first ``respond`` (response clock) or at ``resolve`` (resolution clock);
- does not run while paused (``pause`` .. ``resume``; a pause never resumed lasts until the
  stop), nor, for a business-hours clause, outside business hours.

``elapsed`` is the running time from start to stop (or to ``until`` while the clock still
runs); the clock is breached when ``elapsed`` exceeds the target. ``breach_at`` is when the
running time reaches the target: start plus target, shifted by every paused (and closed)
span before it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from slm.domain.intervals import Span, clip, merge

EventKind = Literal["open", "priority", "respond", "pause", "resume", "resolve"]
EVENT_KINDS: tuple[EventKind, ...] = ("open", "priority", "respond", "pause", "resume", "resolve")
Schedule = Callable[[datetime, datetime], list[Span]]  # working spans (UTC) in [start, end)

_HORIZON_STEP = timedelta(days=31)
_HORIZON_MAX = timedelta(days=400)


@dataclass(frozen=True)
class IncidentEvent:
    kind: EventKind
    at: datetime
    value: str = ""  # the priority for ``open`` and ``priority``
    note: str = ""
    source: str = ""  # file:line


@dataclass(frozen=True)
class Incident:
    id: str
    service: str
    events: tuple[IncidentEvent, ...]  # in time order
    source: str = ""

    def first(self, kind: EventKind) -> IncidentEvent | None:
        return next((e for e in self.events if e.kind == kind), None)

    @property
    def opened_at(self) -> datetime:
        opened = self.first("open")
        assert opened is not None, "an incident always has an open event"
        return opened.at

    @property
    def priority(self) -> str:
        """The final priority."""
        ranks = [e for e in self.events if e.kind in ("open", "priority")]
        return ranks[-1].value

    @property
    def priority_since(self) -> datetime:
        """When the incident reached its final priority."""
        ranks = [e for e in self.events if e.kind in ("open", "priority")]
        since = ranks[-1].at
        for e in reversed(ranks[:-1]):
            if e.value != ranks[-1].value:
                break
            since = e.at
        return since

    def pauses(self, end: datetime) -> list[Span]:
        """Paused spans; a pause not resumed lasts until ``end``."""
        spans: list[Span] = []
        paused_at: datetime | None = None
        for e in self.events:
            if e.kind == "pause" and paused_at is None:
                paused_at = e.at
            elif e.kind == "resume" and paused_at is not None:
                spans.append((paused_at, e.at))
                paused_at = None
        if paused_at is not None and end > paused_at:
            spans.append((paused_at, end))
        return spans


@dataclass(frozen=True)
class ClockResult:
    start: datetime
    stop: datetime | None  # None: still running at ``until``
    target: timedelta
    elapsed: timedelta
    paused: timedelta  # paused time that would otherwise have run
    breach_at: datetime | None  # None: not reached within 400 days (or paused for good)

    @property
    def breached(self) -> bool:
        return self.elapsed > self.target

    @property
    def running(self) -> bool:
        return self.stop is None


def _measure(spans: list[Span]) -> timedelta:
    return sum((e - s for s, e in spans), timedelta())


def _subtract(spans: list[Span], holes: list[Span]) -> list[Span]:
    out: list[Span] = []
    holes = merge(holes)
    for s, e in merge(spans):
        cur = s
        for hs, he in holes:
            if he <= cur or hs >= e:
                continue
            if hs > cur:
                out.append((cur, hs))
            cur = max(cur, he)
        if cur < e:
            out.append((cur, e))
    return out


def _always(start: datetime, end: datetime) -> list[Span]:
    return [(start, end)] if end > start else []


def run_clock(
    incident: Incident,
    stop_kind: Literal["respond", "resolve"],
    target: timedelta,
    until: datetime,
    *,
    schedule: Schedule | None = None,
    retroactive_start: bool = True,
) -> ClockResult:
    """The clock of ``incident`` for one target, as of ``until``."""
    work = schedule or _always
    start = incident.opened_at if retroactive_start else incident.priority_since
    stop_event = incident.first(stop_kind)
    stop = stop_event.at if stop_event is not None and stop_event.at <= until else None
    end = max(start, stop if stop is not None else until)
    pauses = clip(incident.pauses(end), start, end)
    working = work(start, end)
    running = _subtract(working, pauses)
    elapsed = _measure(running)
    paused = _measure(working) - elapsed
    return ClockResult(
        start=start,
        stop=stop,
        target=target,
        elapsed=elapsed,
        paused=paused,
        breach_at=_breach_at(incident, start, end, target, work, stop is not None),
    )


def _breach_at(
    incident: Incident,
    start: datetime,
    end: datetime,
    target: timedelta,
    work: Schedule,
    stopped: bool,
) -> datetime | None:
    """When the running time reaches ``target`` (walking past ``end`` if needed)."""
    horizon = max(end, start + target)
    while horizon - start <= _HORIZON_MAX:
        # pauses after a stop do not matter; while running, an open pause lasts to the horizon
        pause_end = end if stopped else horizon
        pauses = clip(incident.pauses(pause_end), start, pause_end)
        left = target
        for s, e in _subtract(work(start, horizon), pauses):
            if e - s >= left:
                return s + left
            left -= e - s
        horizon += _HORIZON_STEP
    return None
