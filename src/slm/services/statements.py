"""Compute an agreement's period statement from specs and measured data.

Reads each metric query once for the whole span the statement needs (the period and, for
the exit clause's running count, the earlier periods of the term), shapes the buckets into
the SLO objective's events with the engine's ``events_for``, and hands per-period minute
masks to ``slm.domain.statement``. The statement records its inputs: the hash of every spec
document it used and of every series and incident file it read.

Breach attribution (``slm.domain.attribution``): a breached minute-counted clause whose
``attribution.component`` names a ``Component`` has its counted bad minutes explained by
the components of that component's dependency graph, each measured per minute from its
bound SLO objectives with the same reader.

Incidents from the store: when a store is given (or the source factory has one) and it
holds incidents, their approved exclusions join the spec's exclusions (one union mask, so
nothing is subtracted twice), an incident clause without a file is measured from the stored
incidents, and the stored records' hash is an input (``incidents store``). The store is the
record of every incident, so a store clause with no incident in its period is met (100 %);
a store clause without any store is an error.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
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
    NoData,
    OutageMeasure,
    SloMeasure,
)
from slm.domain.attribution import BreachShare, attribute, bad_minutes
from slm.domain.business_calendar import BusinessCalendar
from slm.domain.composite import Component, closure
from slm.domain.durations import format_duration
from slm.domain.errors import DataError, NotFoundError, SlmError, StoreError
from slm.domain.exclusions import Exclusion
from slm.domain.incident import Incident as StoredIncident
from slm.domain.incident_clock import ClockResult, Incident, IncidentEvent, run_clock
from slm.domain.indicators import events_for
from slm.domain.intervals import MINUTE, mask
from slm.domain.model import (
    SLO,
    BudgetingMethod,
    CalendarWindow,
    MetricQuery,
    MissingData,
    Objective,
)
from slm.domain.series import BoolArray, Buckets, EventSeries
from slm.domain.statement import (
    DowntimeRule,
    Entry,
    Figures,
    Impact,
    IncidentOutcome,
    Period,
    RatioSliceRule,
    Statement,
    build_statement,
    downtime_figures,
    event_figures,
    exclusion_mask,
    incident_figures,
    is_breached,
    outage_figures,
    ratio_slice_figures,
    statement_dict,
)
from slm.domain.windows import calendar_period
from slm.services.errors import OutsideTermError, PeriodError
from slm.services.evaluate import rollup_notes, ungrouped_use
from slm.services.ports import SourceFactory
from slm.services.reading import ReaderDecorator, SourceReader
from slm.spec.components import components as workspace_components
from slm.spec.incident_file import IncidentFile, read_incidents
from slm.spec.slm_v1 import API_VERSION
from slm.spec.workspace import Workspace
from slm.store.db import Store

AGREEMENT = (API_VERSION, "Agreement")
CALENDAR = (API_VERSION, "Calendar")
EXCLUSION = (API_VERSION, "Exclusion")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")


# --- looking things up ------------------------------------------------------------------


def agreements(ws: Workspace) -> dict[str, Agreement]:
    return {k: v for k, v in ws.objects.get(AGREEMENT, {}).items() if isinstance(v, Agreement)}


def agreement(ws: Workspace, name: str) -> Agreement:
    found = agreements(ws)
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise NotFoundError(f"no Agreement {name!r} in the workspace (known: {known})")
    return found[name]


def _reads_store(m: Any) -> bool:
    return isinstance(m, OutageMeasure) or (isinstance(m, IncidentMeasure) and not m.path)


def reads_store_incidents(ws: Workspace) -> bool:
    """Whether a clause of any agreement reads the incidents recorded in the store (an
    incident clause without a file, or an outage clause)."""
    return any(_reads_store(c.measure) for ag in agreements(ws).values() for c in ag.clauses)


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


def term_span(ag: Agreement) -> tuple[datetime, datetime | None]:
    """The term as UTC instants: from the start date's local midnight to the local
    midnight after the (inclusive) end date; ``None``: open ended."""
    zone = ZoneInfo(ag.time_zone)
    t = ag.term
    start = datetime(t.start.year, t.start.month, t.start.day, tzinfo=zone).astimezone(UTC)
    if t.end is None:
        return start, None
    after = t.end + timedelta(days=1)
    return start, datetime(after.year, after.month, after.day, tzinfo=zone).astimezone(UTC)


def _term_text(ag: Agreement) -> str:
    end = ag.term.end.isoformat() if ag.term.end is not None else "open ended"
    return f"{ag.term.start.isoformat()} .. {end}"


def check_in_term(ag: Agreement, period: Period) -> None:
    """Refuse a period that shares no minute with the agreement's term."""
    start, end = term_span(ag)
    if period.end <= start or (end is not None and period.start >= end):
        side = "before the term starts" if period.end <= start else "after the term ended"
        raise OutsideTermError(
            f"--period {period.label}: Agreement {ag.name!r} has no statement for this period: "
            f"it lies {side} (term {_term_text(ag)}, {ag.time_zone})"
        )


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
    return obj, indicator, indicator.queries()


@dataclass
class Inputs:
    """What a statement was computed from (hashed into its ``inputs``)."""

    specs: dict[str, str] = field(default_factory=dict)  # "Kind/name" -> sha256
    data: dict[str, str] = field(default_factory=dict)  # query/file -> sha256

    def as_dict(self) -> dict[str, Any]:
        body = {"specs": dict(sorted(self.specs.items())), "data": dict(sorted(self.data.items()))}
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        return {"sha256": digest, **body}


class InputHashing(ReaderDecorator):
    """A reader that records the sha256 of each query's buckets as a statement input."""

    def __init__(self, inner: SourceReader, inputs: Inputs):
        super().__init__(inner)
        self.core, self.inputs = inner, inputs
        self._hashed: set[tuple[str, datetime, datetime]] = set()

    def read(self, q: MetricQuery, start: datetime, end: datetime) -> Buckets:
        b = self.inner.read(q, start, end)
        if (q.key, start, end) not in self._hashed:
            self._hashed.add((q.key, start, end))
            span = f"{start.isoformat()}/{end.isoformat()}"
            label = json.dumps([q.source, q.source_type, dict(q.spec)], sort_keys=True, default=str)
            h = hashlib.sha256(np.ascontiguousarray(b.values).tobytes())
            h.update(np.ascontiguousarray(b.present).tobytes())
            self.inputs.data[f"{label} {span}"] = h.hexdigest()
        return b

    def held(self) -> list[Buckets]:
        return self.core.held()


class _Data:
    """Reads every query and incident file once for a span; records hashes of what it read."""

    def __init__(
        self,
        ws: Workspace,
        factory: SourceFactory,
        start: datetime,
        end: datetime,
        stored: StoreIncidents | None = None,
        *,
        has_store: bool = False,
    ):
        self.ws, self.factory, self.start, self.end = ws, factory, start, end
        self._files: dict[str, IncidentFile] = {}
        self.stored = stored
        self.has_store = has_store or stored is not None
        self.inputs = Inputs()
        self.reader = InputHashing(SourceReader(ws, factory, MINUTE), self.inputs)
        if stored is not None:
            self.inputs.data["incidents store"] = stored.sha256

    def events(self, slo_name: str, objective: str) -> EventSeries:
        slo = self.ws.slos[slo_name]
        if slo.grouping:
            raise DataError(ungrouped_use(slo, "an agreement's statement"))
        obj, indicator, roles = _roles(slo, objective)
        buckets = {role: self.reader.read(q, self.start, self.end) for role, q in roles.items()}
        try:
            return events_for(indicator, obj, buckets)
        except ValueError as e:
            raise SlmError(f"SLO {slo_name!r}: cannot use its data: {e}") from e

    def read_buckets(self) -> list[Buckets]:
        """Everything read so far (to say when retention roll-ups stood in)."""
        return self.reader.held()

    def incidents(self, m: IncidentMeasure) -> IncidentFile:
        if not m.path:
            stored = self.stored
            if stored is None:  # an empty store was read: that is an input too
                self.inputs.data["incidents store"] = EMPTY_STORE_SHA256
                return IncidentFile("store", EMPTY_STORE_SHA256, ())
            return IncidentFile("store", stored.sha256, stored.clocks)
        path = Path(m.base_dir) / m.path
        key = str(path)
        if key not in self._files:
            self._files[key] = read_incidents(path)
            self.inputs.data[f"incidents {m.path}"] = self._files[key].sha256
        return self._files[key]


# --- incidents from the store -------------------------------------------------------------

_PRIORITY_CHANGE = re.compile(r"^(P[1-4]) -> (P[1-4])\b")
_NOT_A_RESPONSE = frozenset({"opened", "alert", "priority", "resolved"})


@dataclass(frozen=True)
class StoreIncidents:
    """What a statement reads from the store's incidents: the approved exclusions, the
    incidents as handling clocks, and the sha256 of both (an input of the statement)."""

    exclusions: tuple[Exclusion, ...]
    clocks: tuple[Incident, ...]
    sha256: str
    incidents: tuple[StoredIncident, ...] = ()  # as recorded (impacts for outage clauses)


def clock_incident(i: StoredIncident) -> Incident:
    """A stored incident as a handling clock: opened at ``opened_at`` with the priority it
    had then (undone from its ``priority`` events, ``P2 -> P1 ...``), each priority change,
    responded at the first manual event that is not an opening, alert, priority change or
    resolution, resolved at ``resolved_at``."""
    source = f"store incident {i.id}"
    changes = [
        (e.at, m.group(1), m.group(2))
        for e in i.timeline
        if e.kind == "priority" and (m := _PRIORITY_CHANGE.match(e.text))
    ]
    first = changes[0][1] if changes else i.priority
    events = [IncidentEvent("open", i.opened_at, first, source=source)]
    events += [IncidentEvent("priority", at, new, source=source) for at, _, new in changes]
    response = next(
        (e for e in i.timeline if e.source == "manual" and e.kind not in _NOT_A_RESPONSE), None
    )
    if response is not None:
        events.append(IncidentEvent("respond", response.at, note=response.text, source=source))
    if i.resolved_at is not None:
        events.append(IncidentEvent("resolve", i.resolved_at, source=source))
    events.sort(key=lambda e: e.at)
    return Incident(i.id, i.service, tuple(events), source)


def _store_sha256(body: dict[str, list[Any]]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


EMPTY_STORE_SHA256 = _store_sha256({"incidents": [], "approved_exclusions": []})


def store_incidents(store: Store) -> StoreIncidents | None:
    """The store's incidents and approved exclusions; ``None`` when it holds none."""
    from slm.services.incidents import IncidentService
    from slm.services.itsm import incident_json
    from slm.store.incidents import exclusion_json

    svc = IncidentService(store)
    incidents = svc.find()
    if not incidents:
        return None
    approved = sorted(svc.approved_exclusions(), key=lambda e: e.name)
    digest = _store_sha256(
        {
            "incidents": [incident_json(i) for i in incidents],
            "approved_exclusions": [exclusion_json(e) for e in approved],
        }
    )
    clocks = tuple(clock_incident(i) for i in incidents if i.kind == "incident")
    return StoreIncidents(tuple(approved), clocks, digest, tuple(incidents))


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
    components: dict[str, Component] = field(default_factory=dict)


def _in_term(ag: Agreement, period: Period) -> BoolArray:
    """The minutes of ``period`` that lie within the agreement's term."""
    start, end = term_span(ag)
    far = max(period.end, start) if end is None else end
    return mask([(start, far)], period.start, period.minutes)


def _eligible(c: _Context, clause: Clause, period: Period) -> BoolArray:
    n = period.minutes
    in_term = _in_term(c.ag, period)
    if not clause.business_hours_only or c.calendar is None:
        return in_term
    return mask(c.calendar.business_spans(period.start, period.end), period.start, n) & in_term


def _term_note(c: _Context, period: Period, fig: Figures) -> Figures:
    """A note on the minutes of a period that fall outside the agreement's term."""
    outside = period.minutes - int(_in_term(c.ag, period).sum())
    if not outside:
        return fig
    note = Entry(
        "note",
        f"{outside} minute(s) of the period lie outside the agreement's term "
        f"({_term_text(c.ag)}) and are not counted",
    )
    return replace(fig, entries=(*fig.entries, note))


def _source(ws: Workspace, slo_name: str, objective: str) -> str:
    slo = ws.slos[slo_name]
    where = f" ({slo.origin.path}:{slo.origin.line})" if slo.origin else ""
    return f"SLO/{slo_name} objective {objective!r}{where}"


def clause_figures(c: _Context, clause: Clause, period: Period) -> Figures:
    return _term_note(c, period, _clause_figures(c, clause, period))


def _clause_figures(c: _Context, clause: Clause, period: Period) -> Figures:
    m = clause.measure
    if isinstance(m, IncidentMeasure):
        return _incident_figures(c, clause, m, period)
    eligible = _eligible(c, clause, period)
    excluded = exclusion_mask(c.exclusions, period, eligible)
    if isinstance(m, OutageMeasure):
        return _outage_figures(c, clause, m, period, eligible, excluded)
    events = _slice(c.data.events(m.slo, m.objective), period)
    source = _source(c.ws, m.slo, m.objective)
    if isinstance(m, DowntimeMeasure):
        rule = DowntimeRule(int(m.interval // MINUTE), Fraction(m.max_error_rate) / 100, m.no_data)
        return downtime_figures(events, rule, eligible, excluded, source)
    assert isinstance(m, SloMeasure)
    slo = c.ws.slos[m.slo]
    obj = next(o for o in slo.objectives if o.name == m.objective)
    events = _missing_points(slo, obj, events)
    if slo.budgeting_method is BudgetingMethod.OCCURRENCES:
        return event_figures(events, eligible, excluded, source)
    assert obj.time_slice_window is not None
    width = int(obj.time_slice_window // MINUTE)
    no_data = _slice_no_data(slo, obj)
    threshold = slice_threshold(slo, obj)
    if slo.budgeting_method is BudgetingMethod.TIMESLICES:
        rule = DowntimeRule(width, 1 - threshold, no_data, by_presence=True)
        return downtime_figures(events, rule, eligible, excluded, source)
    ratio_rule = RatioSliceRule(width, threshold, no_data, by_presence=True)
    return ratio_slice_figures(events, ratio_rule, eligible, excluded, source)


def _missing_points(slo: SLO, obj: Objective, events: EventSeries) -> EventSeries:
    """A threshold metric's minutes without data as the SLI's missing-data policy counts
    them in ``slm evaluate`` (``good``: a good point, ``bad``: a bad one); ``present``
    stays what was measured, so coverage is unchanged. Event counts are never invented."""
    indicator = slo.indicator_for(obj)
    policy = indicator.missing_data
    if indicator.threshold is None or policy is MissingData.IGNORE:
        return events
    gap = (~events.present).astype(events.total.dtype)
    good = events.good + gap if policy is MissingData.GOOD else events.good
    return EventSeries(events.start, events.step, good, events.total + gap, events.present)


def _slice_no_data(slo: SLO, obj: Objective) -> NoData:
    """How a slice without events counts, from the SLI's missing-data policy."""
    policy = slo.indicator_for(obj).missing_data
    return "up" if policy is MissingData.GOOD else "down" if policy is MissingData.BAD else "ignore"


def slice_threshold(slo: SLO, obj: Objective) -> Fraction:
    """The ratio below which a time slice is bad: the objective's ``timeSliceTarget``; a
    RatioTimeslices objective without one uses its ``target``."""
    value = obj.time_slice_target
    if value is None:
        assert slo.budgeting_method is BudgetingMethod.RATIO_TIMESLICES
        value = obj.target
    return Fraction(str(value))


def _no_store(c: _Context, clause: Clause, why: str) -> StoreError:
    return StoreError(
        f"Agreement {c.ag.name!r} clause {clause.name!r} reads incidents from the store "
        f"({why}), but no store is open: give --db URL, SLM_DB_URL or --workspace DIR"
    )


def outage_impacts(
    incidents: Sequence[StoredIncident], services: Sequence[str], priorities: Sequence[str] = ()
) -> list[Impact]:
    """The impact intervals on ``services`` of the recorded incidents (kind ``incident``;
    of ``priorities`` only, when given), in time order."""
    found = [
        Impact(i.id, x.service, x.start, x.end, f"store incident {i.id}")
        for i in incidents
        if i.kind == "incident" and (not priorities or i.priority in priorities)
        for x in i.impacts
        if x.service in services
    ]
    return sorted(found, key=lambda x: (x.start, x.incident, x.service))


def _outage_figures(
    c: _Context,
    clause: Clause,
    m: OutageMeasure,
    period: Period,
    eligible: BoolArray,
    excluded: Any,
) -> Figures:
    if not c.data.has_store:
        raise _no_store(c, clause, "an outages clause")
    stored = c.data.stored
    if stored is None:  # an empty store was read: that is an input too
        c.data.inputs.data["incidents store"] = EMPTY_STORE_SHA256
    impacts = outage_impacts(stored.incidents if stored else (), m.services, m.priorities)
    which = f" of priority {', '.join(m.priorities)}" if m.priorities else ""
    describe = (
        f"a minute is down when an incident{which} recorded in the store impacts "
        f"{', '.join(m.services)}"
    )
    return outage_figures(impacts, period, eligible, excluded, "incidents store", describe)


def _incident_figures(c: _Context, clause: Clause, m: IncidentMeasure, period: Period) -> Figures:
    if not m.path and not c.data.has_store:
        raise _no_store(c, clause, "its incidents block has no file")
    file = c.data.incidents(m)
    source = f"incidents {m.path}" if m.path else "incidents store"
    until = max([period.end, *(e.at for i in file.incidents for e in i.events)])
    schedule = None
    if clause.business_hours_only and c.calendar is not None:
        schedule = c.calendar.business_spans
    term_start, term_end = term_span(c.ag)

    def in_term(t: datetime) -> bool:
        return term_start <= t and (term_end is None or t < term_end)

    outcomes = []
    for inc in file.incidents:
        if inc.service not in c.ag.services:
            continue
        start = inc.opened_at if m.retroactive_start else inc.priority_since
        if not period.start <= start < period.end or not in_term(start):
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
    return incident_figures(outcomes, source, complete=not m.path)


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


def _spec_inputs(
    ws: Workspace,
    ag: Agreement,
    exclusions: Sequence[Exclusion],
    components: Sequence[Component] = (),
) -> dict[str, str]:
    """Hashes of the documents the statement depends on: the agreement, its calendar and
    exclusions, its services, the SLOs, SLIs and data sources its clauses read, and the
    components (with their SLOs) a breach was attributed through."""
    wanted = {("Agreement", ag.name)} | {("Exclusion", e.name) for e in exclusions}
    slos = {(b.slo, b.objective) for comp in components for b in comp.slos}
    wanted |= {("Component", comp.name) for comp in components}
    wanted |= {("Service", s) for s in ag.services}
    if ag.calendar:
        wanted.add(("Calendar", ag.calendar))
    for c in ag.clauses:
        m = c.measure
        if isinstance(m, SloMeasure | DowntimeMeasure):
            slos.add((m.slo, m.objective))
    for slo_name, objective in sorted(slos):
        if slo_name in ws.slos:
            slo = ws.slos[slo_name]
            _, indicator, roles = _roles(slo, objective)
            wanted |= {("SLO", slo_name), ("SLI", indicator.name)}
            wanted |= {("DataSource", q.source) for q in roles.values() if q.source}
    return {
        f"{doc.kind}/{doc.name}": doc.sha256
        for doc in ws.documents
        if (doc.kind, doc.name) in wanted
    }


def _merged_exclusions(
    ag: Agreement, spec: list[Exclusion], stored: StoreIncidents | None
) -> list[Exclusion]:
    """The spec's exclusions and the store's approved ones that apply to ``ag``; a stored
    exclusion with a spec exclusion's name is the same exclusion and is taken once."""
    if stored is None:
        return spec
    names = {e.name for e in spec}
    extra = [
        e
        for e in stored.exclusions
        if e.counts and e.name not in names and e.applies_to(ag.name, ag.services)
    ]
    return sorted([*spec, *extra], key=lambda e: e.name)


def _context(
    ws: Workspace,
    ag: Agreement,
    factory: SourceFactory,
    periods: Sequence[Period],
    store: Store | None = None,
) -> _Context:
    if store is None:
        store = getattr(factory, "store", None)
    stored = store_incidents(store) if store is not None else None
    data = _Data(
        ws, factory, periods[0].start, periods[-1].end, stored, has_store=store is not None
    )
    exclusions = _merged_exclusions(ag, exclusions_for(ws, ag), stored)
    comps = workspace_components(ws.objects)
    return _Context(ws, ag, data, calendar_of(ws, ag), exclusions, comps)


# --- breach attribution ------------------------------------------------------------------


def _own_down(c: _Context, comp: Component, period: Period) -> BoolArray | None:
    """Minutes any bound objective of ``comp`` was bad (``None``: no SLO bound)."""
    if not comp.slos:
        return None
    down = np.zeros(period.minutes, dtype=np.bool_)
    for b in comp.slos:
        events = _slice(c.data.events(b.slo, b.objective), period)
        slo = c.ws.slos[b.slo]
        obj = next(o for o in slo.objectives if o.name == b.objective)
        if slo.budgeting_method is not BudgetingMethod.OCCURRENCES:
            assert obj.time_slice_window is not None
            width = int(obj.time_slice_window // MINUTE)
            down |= bad_minutes(events, 1 - slice_threshold(slo, obj), width)
        else:
            down |= bad_minutes(events, 1 - Fraction(str(obj.target)))
    return down


def breach_attribution(
    c: _Context, clause: Clause, fig: Figures, period: Period
) -> tuple[tuple[BreachShare, ...], list[Entry]]:
    """The shares of a breached clause and notes on components that were not measured."""
    declared = clause.attribution
    root = declared.component
    if fig.bad is None or root not in c.components:
        return attribute(fig.bad, declared, {}, {}), []
    own: dict[str, BoolArray] = {}
    unmeasured: list[str] = []
    for name in closure(root, {n: x.node() for n, x in c.components.items()}):
        try:
            down = _own_down(c, c.components[name], period)
        except SlmError as e:
            down = None
            unmeasured.append(f"{name} ({e})")
        else:
            if down is None:
                unmeasured.append(name)
        if down is not None:
            own[name] = down
    notes = []
    if unmeasured:
        notes.append(
            Entry(
                "note",
                "attribution: not measured (no SLO bound, or no data), never blamed on "
                "their own: " + ", ".join(unmeasured),
            )
        )
    return attribute(fig.bad, declared, c.components, own), notes


def _attribution_components(
    c: _Context, ag: Agreement, attributions: Sequence[tuple[BreachShare, ...] | None]
) -> list[Component]:
    """The components a breach was attributed through (the closures of their roots)."""
    nodes = {n: x.node() for n, x in c.components.items()}
    names: set[str] = set()
    for clause, shares in zip(ag.clauses, attributions, strict=True):
        root = clause.attribution.component
        if shares is not None and root in c.components and clause.measure.kind != "incidents":
            names.update(closure(root, nodes))
    return [c.components[n] for n in sorted(names)]


def _with_notes(fig: Figures, notes: Sequence[Entry]) -> Figures:
    return replace(fig, entries=(*fig.entries, *notes)) if notes else fig


def figures_by_period(
    ws: Workspace, ag: Agreement, periods: Sequence[Period], factory: SourceFactory
) -> list[list[Figures]]:
    """``[clause][period]`` figures, reading each query once for all ``periods``."""
    c = _context(ws, ag, factory, periods)
    return [[clause_figures(c, clause, p) for p in periods] for clause in ag.clauses]


def compute_statement(
    ws: Workspace,
    name: str,
    period_label: str,
    factory: SourceFactory,
    *,
    store: Store | None = None,
) -> Statement:
    """The statement of Agreement ``name`` for ``period_label`` (``2026-10``, ``2026-Q4``).

    ``store`` (default: the factory's store, if any) supplies incidents and their approved
    exclusions (see the module docstring)."""
    ag = agreement(ws, name)
    period = parse_period(ag, period_label)
    check_in_term(ag, period)
    lookback = 0
    if ag.exit is not None:
        lookback = max(ag.exit.consecutive or 1, ag.exit.within_periods) - 1
    earlier = previous(ag, period, lookback)
    c = _context(ws, ag, factory, [*earlier, period], store)
    figures = [clause_figures(c, clause, period) for clause in ag.clauses]
    attributions: list[tuple[BreachShare, ...] | None] = []
    for i, clause in enumerate(ag.clauses):
        if not is_breached(ag, clause, figures[i]):
            attributions.append(None)
            continue
        shares, notes = breach_attribution(c, clause, figures[i], period)
        attributions.append(shares)
        figures[i] = _with_notes(figures[i], notes)
    history = [
        [is_breached(ag, clause, clause_figures(c, clause, p)) for p in earlier]
        for clause in ag.clauses
    ]
    used = _attribution_components(c, ag, attributions)
    c.data.inputs.specs = _spec_inputs(ws, ag, c.exclusions, used)
    window = ag.credits.claim_window
    deadline = None
    if window is not None:
        deadline = (period.end.astimezone(ZoneInfo(ag.time_zone)) + window - MINUTE).date()
    return build_statement(
        ag,
        period,
        figures,
        history,
        deadline,
        c.data.inputs.as_dict(),
        attributions,
        rollup_notes(c.data.read_buckets()),
    )


def statement_json(st: Statement) -> str:
    """The canonical bytes of a statement (stored, hashed, and compared on recompute)."""
    return json.dumps(statement_dict(st), indent=2, ensure_ascii=False) + "\n"
