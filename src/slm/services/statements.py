"""Compute an agreement's period statement from specs and measured data.

Reads each metric query once for the whole span the statement needs (the period and, for
the exit clause's running count, the earlier periods of the term), shapes the buckets into
the SLO objective's events with the engine's ``events_for``, and hands per-period minute
masks to ``slm.domain.statement``. The statement records its inputs: the hash of every spec
document it used and of every series and incident file it read.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from slm.domain.agreement import (
    Agreement,
    Clause,
    DowntimeMeasure,
    HandlingTarget,
    IncidentMeasure,
    SloMeasure,
)
from slm.domain.business_calendar import BusinessCalendar
from slm.domain.durations import format_duration
from slm.domain.errors import NotFoundError, SlmError
from slm.domain.exclusions import Exclusion
from slm.domain.incident_clock import ClockResult, Incident, run_clock
from slm.domain.indicators import events_for
from slm.domain.intervals import MINUTE, mask
from slm.domain.model import SLO, BudgetingMethod, CalendarWindow, MetricQuery, MissingData
from slm.domain.series import BoolArray, Buckets, EventSeries
from slm.domain.statement import (
    DowntimeRule,
    Entry,
    Figures,
    IncidentOutcome,
    Period,
    Statement,
    build_statement,
    downtime_figures,
    event_figures,
    exclusion_mask,
    incident_figures,
    is_breached,
    statement_dict,
)
from slm.domain.windows import calendar_period
from slm.services.ports import SourceFactory
from slm.spec.incident_file import IncidentFile, read_incidents
from slm.spec.slm_v1 import API_VERSION
from slm.spec.workspace import Workspace

AGREEMENT = (API_VERSION, "Agreement")
CALENDAR = (API_VERSION, "Calendar")
EXCLUSION = (API_VERSION, "Exclusion")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")


class PeriodError(SlmError):
    """A period label that does not fit the agreement."""

    exit_code = 2


# --- looking things up ------------------------------------------------------------------


def agreements(ws: Workspace) -> dict[str, Agreement]:
    return {k: v for k, v in ws.objects.get(AGREEMENT, {}).items() if isinstance(v, Agreement)}


def agreement(ws: Workspace, name: str) -> Agreement:
    found = agreements(ws)
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise NotFoundError(f"no Agreement {name!r} in the workspace (known: {known})")
    return found[name]


def calendar_of(ws: Workspace, ag: Agreement) -> BusinessCalendar | None:
    if ag.calendar is None:
        return None
    cal = ws.objects.get(CALENDAR, {}).get(ag.calendar)
    return cal if isinstance(cal, BusinessCalendar) else None


def exclusions_for(ws: Workspace, ag: Agreement) -> list[Exclusion]:
    found = ws.objects.get(EXCLUSION, {}).values()
    return sorted(
        (e for e in found if isinstance(e, Exclusion) and e.applies_to(ag.name, ag.services)),
        key=lambda e: e.name,
    )


# --- periods ----------------------------------------------------------------------------


def _window(ag: Agreement) -> CalendarWindow:
    zone = ZoneInfo(ag.time_zone)
    return CalendarWindow(ag.period, 1, datetime(2000, 1, 1, tzinfo=zone), ag.time_zone)


def label_of(ag: Agreement, start: datetime) -> str:
    local = start.astimezone(ZoneInfo(ag.time_zone))
    if ag.period == "month":
        return f"{local.year:04d}-{local.month:02d}"
    return f"{local.year:04d}-Q{(local.month - 1) // 3 + 1}"


def _period_at(ag: Agreement, instant: datetime) -> Period:
    start, end = calendar_period(_window(ag), instant)
    return Period(label_of(ag, start), start, end, ag.time_zone)


def parse_period(ag: Agreement, label: str) -> Period:
    """``2026-10`` (a month) or ``2026-Q4`` (a quarter) in the agreement's zone."""
    text = label.strip()
    m, q = _MONTH.match(text), _QUARTER.match(text)
    if ag.period == "month" and m and 1 <= int(m.group(2)) <= 12:
        year, month = int(m.group(1)), int(m.group(2))
    elif ag.period == "quarter" and q:
        year, month = int(q.group(1)), (int(q.group(2)) - 1) * 3 + 1
    else:
        example = "2026-10" if ag.period == "month" else "2026-Q4"
        raise PeriodError(
            f"--period {label!r}: Agreement {ag.name!r} is measured per {ag.period}; "
            f"give a period like {example}"
        )
    noon = datetime(year, month, 1, 12, tzinfo=ZoneInfo(ag.time_zone)).astimezone(UTC)
    return _period_at(ag, noon)


def previous(ag: Agreement, period: Period, count: int) -> list[Period]:
    """Up to ``count`` periods before ``period`` (oldest first), none before the term."""
    term_start = datetime(
        ag.term.start.year, ag.term.start.month, ag.term.start.day, tzinfo=ZoneInfo(ag.time_zone)
    )
    out: list[Period] = []
    cur = period
    for _ in range(count):
        cur = _period_at(ag, cur.start - MINUTE)
        if cur.end <= term_start:
            break
        out.append(cur)
    return out[::-1]


def complete_periods(ag: Agreement, at: datetime, count: int) -> list[Period]:
    """The last ``count`` periods that ended at or before ``at``, oldest first."""
    current = _period_at(ag, at)
    last = current if current.end <= at else _period_at(ag, current.start - MINUTE)
    out = [last]
    while len(out) < count:
        out.append(_period_at(ag, out[-1].start - MINUTE))
    return out[::-1]


# --- reading data -----------------------------------------------------------------------


def _roles(slo: SLO, objective: str) -> tuple[Any, Any, dict[str, MetricQuery]]:
    obj = next(o for o in slo.objectives if o.name == objective)
    indicator = slo.indicator_for(obj)
    if indicator.threshold is not None:
        return obj, indicator, {"metric": indicator.threshold.metric}
    ratio = indicator.ratio
    assert ratio is not None
    roles = {"good": ratio.good, "bad": ratio.bad, "total": ratio.total, "raw": ratio.raw}
    return obj, indicator, {r: q for r, q in roles.items() if q is not None}


@dataclass
class Inputs:
    """What a statement was computed from (hashed into its ``inputs``)."""

    specs: dict[str, str] = field(default_factory=dict)  # "Kind/name" -> sha256
    data: dict[str, str] = field(default_factory=dict)  # query/file -> sha256

    def as_dict(self) -> dict[str, Any]:
        body = {"specs": dict(sorted(self.specs.items())), "data": dict(sorted(self.data.items()))}
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        return {"sha256": digest, **body}


class _Data:
    """Reads every query and incident file once for a span; records hashes of what it read."""

    def __init__(self, ws: Workspace, factory: SourceFactory, start: datetime, end: datetime):
        self.ws, self.factory, self.start, self.end = ws, factory, start, end
        self._buckets: dict[str, Buckets] = {}
        self._files: dict[str, IncidentFile] = {}
        self.inputs = Inputs()

    def events(self, slo_name: str, objective: str) -> EventSeries:
        slo = self.ws.slos[slo_name]
        obj, indicator, roles = _roles(slo, objective)
        buckets = {role: self._read(q) for role, q in roles.items()}
        try:
            return events_for(indicator, obj, buckets)
        except ValueError as e:
            raise SlmError(f"SLO {slo_name!r}: cannot use its data: {e}") from e

    def _read(self, q: MetricQuery) -> Buckets:
        key = json.dumps([q.source, q.source_type, dict(q.spec)], sort_keys=True, default=str)
        if key not in self._buckets:
            ds = self.ws.datasources.get(q.source) if q.source else None
            b = self.factory.for_query(q, ds).read(q, self.start, self.end, MINUTE)
            self._buckets[key] = b
            h = hashlib.sha256(np.ascontiguousarray(b.values).tobytes())
            h.update(np.ascontiguousarray(b.present).tobytes())
            span = f"{self.start.isoformat()}/{self.end.isoformat()}"
            self.inputs.data[f"{key} {span}"] = h.hexdigest()
        return self._buckets[key]

    def incidents(self, m: IncidentMeasure) -> IncidentFile:
        path = Path(m.base_dir) / m.path
        key = str(path)
        if key not in self._files:
            self._files[key] = read_incidents(path)
            self.inputs.data[f"incidents {m.path}"] = self._files[key].sha256
        return self._files[key]


def _slice(ev: EventSeries, period: Period) -> EventSeries:
    i, j = ev.index_of(period.start), ev.index_of(period.end)
    return EventSeries(period.start, ev.step, ev.good[i:j], ev.total[i:j], ev.present[i:j])


# --- per clause figures ------------------------------------------------------------------


@dataclass
class _Context:
    ws: Workspace
    ag: Agreement
    data: _Data
    calendar: BusinessCalendar | None
    exclusions: list[Exclusion]


def _eligible(c: _Context, clause: Clause, period: Period) -> BoolArray:
    n = period.minutes
    if not clause.business_hours_only or c.calendar is None:
        return np.ones(n, dtype=np.bool_)
    return mask(c.calendar.business_spans(period.start, period.end), period.start, n)


def _source(ws: Workspace, slo_name: str, objective: str) -> str:
    slo = ws.slos[slo_name]
    where = f" ({slo.origin.path}:{slo.origin.line})" if slo.origin else ""
    return f"SLO/{slo_name} objective {objective!r}{where}"


def clause_figures(c: _Context, clause: Clause, period: Period) -> Figures:
    m = clause.measure
    if isinstance(m, IncidentMeasure):
        return _incident_figures(c, clause, m, period)
    eligible = _eligible(c, clause, period)
    excluded = exclusion_mask(c.exclusions, period, eligible)
    events = _slice(c.data.events(m.slo, m.objective), period)
    source = _source(c.ws, m.slo, m.objective)
    if isinstance(m, DowntimeMeasure):
        rule = DowntimeRule(int(m.interval // MINUTE), Fraction(m.max_error_rate) / 100, m.no_data)
        return downtime_figures(events, rule, eligible, excluded, source)
    assert isinstance(m, SloMeasure)
    slo = c.ws.slos[m.slo]
    obj = next(o for o in slo.objectives if o.name == m.objective)
    if slo.budgeting_method is BudgetingMethod.TIMESLICES:
        assert obj.time_slice_window is not None and obj.time_slice_target is not None
        no_data = {MissingData.GOOD: "up", MissingData.BAD: "down"}.get(
            slo.indicator_for(obj).missing_data, "ignore"
        )
        target = Fraction(str(obj.time_slice_target))
        rule = DowntimeRule(int(obj.time_slice_window // MINUTE), 1 - target, no_data)  # type: ignore[arg-type]
        return downtime_figures(events, rule, eligible, excluded, source)
    return event_figures(events, eligible, excluded, source)


def _incident_figures(c: _Context, clause: Clause, m: IncidentMeasure, period: Period) -> Figures:
    file = c.data.incidents(m)
    source = f"incidents {m.path}"
    until = max([period.end, *(e.at for i in file.incidents for e in i.events)])
    schedule = None
    if clause.business_hours_only and c.calendar is not None:
        schedule = c.calendar.business_spans
    outcomes = []
    for inc in file.incidents:
        if inc.service not in c.ag.services:
            continue
        start = inc.opened_at if m.retroactive_start else inc.priority_since
        if not period.start <= start < period.end:
            continue
        target = m.target_for(inc.priority)
        if target is None:
            entry = Entry(
                "note",
                f"{inc.id} ({inc.priority}): no target for this priority, not counted",
                inc.source,
                start,
            )
            outcomes.append(IncidentOutcome(inc.id, inc.priority, None, entry))
            continue
        outcomes.append(_outcome(inc, target, until, schedule, m.retroactive_start))
    return incident_figures(outcomes, source)


def _outcome(
    inc: Incident,
    target: HandlingTarget,
    until: datetime,
    schedule: Callable[[datetime, datetime], list[tuple[datetime, datetime]]] | None,
    retroactive: bool,
) -> IncidentOutcome:
    parts: list[str] = []
    met: bool | None = True
    stop: datetime | None = None
    clocks: list[ClockResult] = []
    for kind, limit in (("respond", target.response), ("resolve", target.resolution)):
        if limit is None:
            continue
        r = run_clock(
            inc,
            kind,  # type: ignore[arg-type]
            limit,
            until,
            schedule=schedule,
            retroactive_start=retroactive,
        )
        clocks.append(r)
        label = "response" if kind == "respond" else "resolution"
        state = "breached" if r.breached else ("running" if r.running else "met")
        text = f"{label} {format_duration(r.elapsed)} of {format_duration(limit)} {state}"
        if r.paused:
            text += f" (paused {format_duration(r.paused)})"
        if r.breach_at is not None:
            text += f", due {r.breach_at.isoformat().replace('+00:00', 'Z')}"
        parts.append(text)
        if r.breached:
            met = False
        elif r.running and met is not False:
            met = None
        stop = r.stop or stop
    start = clocks[0].start if clocks else inc.opened_at
    reason = f"{inc.id} ({inc.priority}, {inc.service}): " + "; ".join(parts)
    entry = Entry("incident", reason, inc.source, start, stop)
    return IncidentOutcome(inc.id, inc.priority, met, entry)


# --- statements -------------------------------------------------------------------------


def _spec_inputs(ws: Workspace, ag: Agreement, exclusions: Sequence[Exclusion]) -> dict[str, str]:
    """Hashes of the documents the statement depends on: the agreement, its calendar and
    exclusions, its services, and the SLOs, SLIs and data sources its clauses read."""
    wanted = {("Agreement", ag.name)} | {("Exclusion", e.name) for e in exclusions}
    wanted |= {("Service", s) for s in ag.services}
    if ag.calendar:
        wanted.add(("Calendar", ag.calendar))
    for c in ag.clauses:
        m = c.measure
        if isinstance(m, SloMeasure | DowntimeMeasure) and m.slo in ws.slos:
            slo = ws.slos[m.slo]
            _, indicator, roles = _roles(slo, m.objective)
            wanted |= {("SLO", m.slo), ("SLI", indicator.name)}
            wanted |= {("DataSource", q.source) for q in roles.values() if q.source}
    return {
        f"{doc.kind}/{doc.name}": doc.sha256
        for doc in ws.documents
        if (doc.kind, doc.name) in wanted
    }


def _context(
    ws: Workspace, ag: Agreement, factory: SourceFactory, periods: Sequence[Period]
) -> _Context:
    data = _Data(ws, factory, periods[0].start, periods[-1].end)
    return _Context(ws, ag, data, calendar_of(ws, ag), exclusions_for(ws, ag))


def figures_by_period(
    ws: Workspace, ag: Agreement, periods: Sequence[Period], factory: SourceFactory
) -> list[list[Figures]]:
    """``[clause][period]`` figures, reading each query once for all ``periods``."""
    c = _context(ws, ag, factory, periods)
    return [[clause_figures(c, clause, p) for p in periods] for clause in ag.clauses]


def compute_statement(
    ws: Workspace, name: str, period_label: str, factory: SourceFactory
) -> Statement:
    """The statement of Agreement ``name`` for ``period_label`` (``2026-10``, ``2026-Q4``)."""
    ag = agreement(ws, name)
    period = parse_period(ag, period_label)
    lookback = 0
    if ag.exit is not None:
        lookback = max(ag.exit.consecutive or 1, ag.exit.within_periods) - 1
    earlier = previous(ag, period, lookback)
    c = _context(ws, ag, factory, [*earlier, period])
    figures = [clause_figures(c, clause, period) for clause in ag.clauses]
    history = [
        [is_breached(clause, clause_figures(c, clause, p)) for p in earlier]
        for clause in ag.clauses
    ]
    c.data.inputs.specs = _spec_inputs(ws, ag, c.exclusions)
    window = ag.credits.claim_window
    deadline = None
    if window is not None:
        deadline = (period.end.astimezone(ZoneInfo(ag.time_zone)) + window - MINUTE).date()
    return build_statement(ag, period, figures, history, deadline, c.data.inputs.as_dict())


def statement_json(st: Statement) -> str:
    """The canonical bytes of a statement (stored, hashed, and compared on recompute)."""
    return json.dumps(statement_dict(st), indent=2, ensure_ascii=False) + "\n"
